package store

import (
	"context"
	"fmt"
	"time"

	"whitecross"
)

// Reschedule implements whitecross.MessageService: it moves a SCHEDULED
// message to at and, when the store has a queue, enqueues a dispatch job
// for the new time in the same transaction (the old job finds a different
// scheduled_at and does nothing). Sender only: ENOTFOUND for a message the
// caller cannot see, EFORBIDDEN for a recipient or admin; EINVALID
// body.scheduled_at for a time not in the future or more than a year
// ahead; ECONFLICT once the message is no longer SCHEDULED. Audited as
// message.rescheduled with the old and new times.
func (s *Store) Reschedule(ctx context.Context, id string, at time.Time) (*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *whitecross.Message
	err = s.db.InTx(ctx, func(tx *Tx) error {
		m, err := s.ownScheduled(ctx, tx, a, id, "reschedule", "rescheduled")
		if err != nil {
			return err
		}
		now := s.db.now()
		at = at.UTC().Truncate(time.Microsecond)
		if !at.After(now) {
			return whitecross.FieldErrorf(whitecross.EINVALID, "body.scheduled_at", at.Format(time.RFC3339), "The new time must be in the future.")
		}
		if at.After(scheduleLimit(now)) {
			return whitecross.FieldErrorf(whitecross.EINVALID, "body.scheduled_at", at.Format(time.RFC3339),
				"A message can be scheduled at most %s ahead.", maxScheduleAhead)
		}
		if err := s.leaveScheduled(ctx, tx, m, "rescheduled", `scheduled_at = $4`, at); err != nil {
			return err
		}
		if s.queue != nil {
			if err := s.queue.EnqueueDispatch(ctx, tx, DispatchJob{TenantID: m.TenantID, MessageID: m.ID,
				RunAt: at, ScheduledAt: &at, Urgent: m.Urgent()}); err != nil {
				return fmt.Errorf("enqueue dispatch: %w", err)
			}
		}
		old := ""
		if m.ScheduledAt != nil {
			old = m.ScheduledAt.Format(time.RFC3339Nano)
		}
		if err := s.auditTx(ctx, tx, whitecross.AuditMessageRescheduled, "message", m.ID,
			map[string]string{"from": old, "to": at.Format(time.RFC3339Nano)}); err != nil {
			return err
		}
		out, err = s.loadMessage(ctx, tx, a, m.ID, fullContent)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Cancel implements whitecross.MessageService: a SCHEDULED message becomes
// CANCELED and is never dispatched. Sender only: ENOTFOUND for a message
// the caller cannot see, EFORBIDDEN for a recipient or admin; ECONFLICT once
// the message is no longer SCHEDULED (a dispatch that started first wins).
// Audited as message.canceled.
func (s *Store) Cancel(ctx context.Context, id string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		m, err := s.ownScheduled(ctx, tx, a, id, "cancel", "canceled")
		if err != nil {
			return err
		}
		if err := s.leaveScheduled(ctx, tx, m, "canceled", `status = 'CANCELED'`, nil); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, whitecross.AuditMessageCanceled, "message", m.ID, map[string]string{})
	})
}

// ownScheduled loads message id for its sender a and checks it is
// SCHEDULED. verb and done name the action in error messages. The status is
// checked again by leaveScheduled, in the statement that changes it.
func (s *Store) ownScheduled(ctx context.Context, tx *Tx, a *whitecross.Actor, id, verb, done string) (*whitecross.Message, error) {
	if err := s.warmContentKeys(ctx, tx, a.TenantID); err != nil {
		return nil, err
	}
	m, err := s.loadMessage(ctx, tx, a, id, listContent)
	if err != nil {
		return nil, err
	}
	if m.Sender.ID != callerID(a) {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only the sender can %s this message.", verb)
	}
	if m.Status != whitecross.MessageScheduled {
		return nil, whitecross.Errorf(whitecross.ECONFLICT, "Only a scheduled message can be %s; this one is %s.", done, m.Status)
	}
	return m, nil
}

// leaveScheduled applies set to m only while it is SCHEDULED (a conditional
// UPDATE, so a concurrent dispatch that moved it to SENDING wins: PostgreSQL
// re-checks the condition after the dispatch commits). ECONFLICT naming the
// current status otherwise. set may use $4 = arg.
func (s *Store) leaveScheduled(ctx context.Context, tx *Tx, m *whitecross.Message, done, set string, arg any) error {
	args := []any{m.TenantID, m.ID, s.db.now()}
	if arg != nil {
		args = append(args, arg)
	}
	n, err := tx.Exec(ctx, `UPDATE messages SET `+set+`, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 AND status = 'SCHEDULED'`, args...)
	if err != nil {
		return fmt.Errorf("update scheduled message: %w", err)
	}
	if n == 1 {
		return nil
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM messages WHERE tenant_id = $1 AND id = $2`, m.TenantID, m.ID).Scan(&status); err != nil {
		return fmt.Errorf("update scheduled message: %w", err)
	}
	return whitecross.Errorf(whitecross.ECONFLICT, "Only a scheduled message can be %s; this one is %s.", done, status)
}
