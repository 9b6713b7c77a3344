package store

import (
	"context"
	"fmt"
	"strconv"

	"whitecross"
)

// This file holds the approval of large broadcasts (tenant setting
// approval_threshold). Who may approve: an ADMIN, or a SCHOOL_ADMIN every
// one of whose sender's locations lies within the approver's scope (so the
// whole audience, which is within the sender's reach, is within theirs),
// and never the sender: approval is a second person's decision.

// needsApproval reports whether a broadcast by a to sp must wait for
// approval: the district has a threshold, a is not an ADMIN and the
// audience holds more people than the threshold now. Only then is the
// audience counted at send time.
func (s *Store) needsApproval(ctx context.Context, a *whitecross.Actor, sp *audienceSpec) (bool, error) {
	if sp == nil || (reach{a}).all() {
		return false, nil
	}
	st, err := readTenantSettings(ctx, s.db.Reader(), a.TenantID)
	if err != nil || st.ApprovalThreshold == 0 {
		return false, err
	}
	p, err := s.countAudience(ctx, s.db.Reader(), a, sp)
	if err != nil {
		return false, err
	}
	return p.Count > st.ApprovalThreshold, nil
}

// approverCondition is a condition on the messages row m: the caller may
// approve it. It adds the approver's scope to args.
func (s *Store) approverCondition(ctx context.Context, a *whitecross.Actor, args *queryArgs) (string, error) {
	if !(reach{a}).all() && a.Role != whitecross.RoleSchoolAdmin {
		return `1 = 0`, nil
	}
	var scope []string
	if a.Role == whitecross.RoleSchoolAdmin {
		sc, err := s.scopeOf(ctx, s.db.Reader(), a)
		if err != nil {
			return "", err
		}
		if len(sc.ids) == 0 {
			return `1 = 0`, nil
		}
		for id := range sc.ids {
			scope = append(scope, id)
		}
	}
	cond := `m.status = 'PENDING_APPROVAL' AND m.sender_id <> ` + args.add(callerID(a))
	if scope == nil {
		return cond, nil
	}
	return cond + ` AND EXISTS (SELECT 1 FROM user_locations al WHERE al.user_id = m.sender_id)
		AND NOT EXISTS (SELECT 1 FROM user_locations al WHERE al.user_id = m.sender_id AND al.location_id NOT IN (` +
		args.list(scope) + `))`, nil
}

// mayApprove reports whether the caller may approve message id now.
func (s *Store) mayApprove(ctx context.Context, q Querier, a *whitecross.Actor, id string) (bool, error) {
	args := queryArgs{a.TenantID, id}
	cond, err := s.approverCondition(ctx, a, &args)
	if err != nil {
		return false, err
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM messages m WHERE m.tenant_id = $1 AND m.id = $2 AND `+cond, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("may approve: %w", err)
	}
	return n == 1, nil
}

// Approve implements whitecross.MessageService: the broadcast goes on as
// if just sent (SENDING with a dispatch job, or SCHEDULED until its time;
// without a queue it is dispatched at once). Audited as message.approved.
func (s *Store) Approve(ctx context.Context, id string) (*whitecross.Message, error) {
	return s.decide(ctx, id, true)
}

// Reject implements whitecross.MessageService: the broadcast is CANCELED
// and goes nowhere. Audited as message.rejected.
func (s *Store) Reject(ctx context.Context, id string) (*whitecross.Message, error) {
	return s.decide(ctx, id, false)
}

// decide approves or rejects message id. ENOTFOUND for a message the
// caller cannot see, EFORBIDDEN for one they may see but not approve (its
// sender, a recipient), ECONFLICT when it is not PENDING_APPROVAL.
func (s *Store) decide(ctx context.Context, id string, approve bool) (*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ev := &txEvents{}
	var out *whitecross.Message
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if err := s.warmContentKeys(ctx, tx, a.TenantID); err != nil {
			return err
		}
		m, err := s.loadMessage(ctx, tx, a, id, listContent)
		if err != nil {
			return err
		}
		if m.Status != whitecross.MessagePendingApproval {
			return whitecross.Errorf(whitecross.ECONFLICT, "Only a message waiting for approval can be approved or rejected; this one is %s.", m.Status)
		}
		if ok, err := s.mayApprove(ctx, tx, a, m.ID); err != nil {
			return err
		} else if !ok {
			return whitecross.Errorf(whitecross.EFORBIDDEN,
				"A broadcast is approved by a district administrator, or a school administrator over all its sender's locations, never by its sender.")
		}
		if m.Status, err = s.applyDecision(ctx, tx, m, approve, ev); err != nil {
			return err
		}
		// The message as the approver saw it, in its new status: a
		// SCHOOL_ADMIN who approved it does not see it once it is sent
		// (unless they are among its recipients).
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return out, nil
}

// applyDecision moves m out of PENDING_APPROVAL, audits the decision and
// returns the new status.
func (s *Store) applyDecision(ctx context.Context, tx *Tx, m *whitecross.Message, approve bool, ev *txEvents) (whitecross.MessageStatus, error) {
	now := s.db.now()
	status, action := whitecross.MessageCanceled, whitecross.AuditMessageRejected
	if approve {
		status, action = whitecross.MessageSending, whitecross.AuditMessageApproved
		if m.ScheduledAt != nil && m.ScheduledAt.After(now) {
			status = whitecross.MessageScheduled
		}
	}
	n, err := tx.Exec(ctx, `UPDATE messages SET status = $3, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND status = 'PENDING_APPROVAL'`, m.TenantID, m.ID, string(status), now)
	if err != nil {
		return "", fmt.Errorf("decide approval: %w", err)
	}
	if n != 1 {
		return "", whitecross.Errorf(whitecross.ECONFLICT, "This message was decided by someone else a moment ago.")
	}
	if err := s.auditTx(ctx, tx, action, "message", m.ID, map[string]string{"sender_id": m.Sender.ID,
		"status": string(status), "recipient_count": strconv.Itoa(m.RecipientCount)}); err != nil {
		return "", err
	}
	if !approve {
		return status, nil
	}
	job := DispatchJob{TenantID: m.TenantID, MessageID: m.ID, RunAt: now, Urgent: m.Urgent()}
	if status == whitecross.MessageScheduled {
		job.RunAt, job.ScheduledAt = *m.ScheduledAt, m.ScheduledAt
	}
	if s.queue != nil {
		if err := s.queue.EnqueueDispatch(ctx, tx, job); err != nil {
			return "", fmt.Errorf("enqueue dispatch: %w", err)
		}
		return status, nil
	}
	if status == whitecross.MessageScheduled {
		return status, nil // without a queue, only the queue dispatches scheduled messages
	}
	for done := false; !done; {
		if done, err = s.dispatchBatch(ctx, tx, job, ev); err != nil {
			return "", err
		}
	}
	return whitecross.MessageSent, s.flushEvents(ctx, tx, ev)
}
