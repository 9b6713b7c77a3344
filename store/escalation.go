package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"whitecross"
)

// Escalation (API.md, "Acknowledgement and escalation"): a message that asks
// for acknowledgement and escalates is sent again, round after round, to the
// recipients who have not acknowledged it. Each round is one job of the
// queue, scheduled for its time (sent_at + round × after_minutes) in the
// transaction that makes the message SENT or that finishes the round
// before, never a loop that polls. A round works over the recipients in
// bounded, set-based steps (INSERT … SELECT in batches of
// DispatchBatchSize recipients, ids made by the database), so its cost per
// step is the same for 10 recipients or 100,000, and never a query per
// person.
//
// Round 1 of an escalation with other_guardians first makes the other
// custodial guardians of the students of every guardian who has not
// acknowledged recipients (added_round 1): they get the message in the app
// (an IN_APP delivery, DELIVERED, of the round) and message.created, and
// are then contacted with everyone else. Only the message's own recipients
// bring others in (never a guardian escalation added), only custodial
// guardians are added, and only those the sender may message (reach.go).

// EscalationJob asks the queue to run one escalation round of a message.
// It carries ids only, never content.
type EscalationJob struct {
	TenantID  string
	MessageID string
	// Round is 1 for the first escalation, up to Escalation.Rounds().
	Round int
	// RunAt is when the round is due.
	RunAt time.Time
	// Urgent selects the urgent lane, as for DispatchJob; the round's
	// deliveries go to the urgent deliver lane too.
	Urgent bool
	// Progress is how far a run of the round got. EscalateMessage updates
	// it and the worker keeps it between calls; a retried job starts from
	// zero again, which is only slower: every step skips what was done.
	Progress EscalationProgress
}

// EscalationProgress is where a round stands between two steps.
type EscalationProgress struct {
	// GuardiansDone: the other guardians (round 1 with other_guardians)
	// have all been added.
	GuardiansDone bool
	// GuardiansAfter and After are the last recipient ids handled by the
	// guardian step and the contact step ("" before the first).
	GuardiansAfter, After string
}

// EscalationQueue schedules escalation rounds inside a store transaction.
// The store's DispatchQueue implements it when it can (package delivery's
// Queue does); with a queue that does not, or none, messages never escalate.
type EscalationQueue interface {
	EnqueueEscalation(ctx context.Context, tx *Tx, job EscalationJob) error
}

// scheduleEscalation enqueues the first escalation round of a message that
// has just become SENT at sentAt, when it asks for acknowledgement and
// escalates.
func (s *Store) scheduleEscalation(ctx context.Context, tx *Tx, tenantID, messageID string, sentAt time.Time, urgent bool) error {
	eq, ok := s.queue.(EscalationQueue)
	if !ok {
		return nil
	}
	var requested bool
	var raw *string
	if err := tx.QueryRow(ctx, `SELECT ack_requested, escalation FROM messages WHERE id = $1`, messageID).Scan(&requested, &raw); err != nil {
		return fmt.Errorf("escalation: read settings: %w", err)
	}
	esc, err := decodeEscalation(raw)
	if err != nil || !requested || esc == nil {
		return err
	}
	job := EscalationJob{TenantID: tenantID, MessageID: messageID, Round: 1, RunAt: esc.DueAt(sentAt, 1), Urgent: urgent}
	if err := eq.EnqueueEscalation(ctx, tx, job); err != nil {
		return fmt.Errorf("enqueue escalation: %w", err)
	}
	return nil
}

// EscalateMessage runs the next step of escalation round job.Round, in one
// transaction, and reports whether the round is finished (otherwise call
// again with the same job, whose Progress it advanced). A step adds up to
// DispatchBatchSize other guardians (round 1 with other_guardians, until
// none is left), then contacts up to DispatchBatchSize recipients who have
// not acknowledged, on the escalation's channels: one PENDING delivery each
// of AttemptKind ESCALATION and this round, with its first timeline event
// and deliver job (urgent lane for an urgent message). Each step is
// audited (message.escalated, by the system, with its counts). The step
// that finishes the round schedules the next one, unless it was the last
// (Escalation.Rounds) or everyone has acknowledged.
//
// It does nothing and reports done for a job whose message is gone, not
// SENT, does not escalate or has no such round. A job that runs more than
// a second before its round is due returns ErrNotDue. Safe to call again
// after a crash at any point (recipients and deliveries are unique, so a
// step done twice adds nothing); concurrent calls for one message
// serialize on its row. It needs no caller in ctx.
func (s *Store) EscalateMessage(ctx context.Context, job *EscalationJob) (done bool, err error) {
	ctx = inTenant(ctx, job.TenantID)
	tenantID, ok1 := parseID(job.TenantID)
	messageID, ok2 := parseID(job.MessageID)
	if !ok1 || !ok2 {
		return true, nil
	}
	ev := &txEvents{}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		r, err := s.startRound(ctx, tx, tenantID, messageID, job)
		if err != nil || r == nil {
			done = err == nil
			return err
		}
		r.ev = ev
		if done, err = s.escalateStep(ctx, r); err != nil {
			return err
		}
		return s.flushEvents(ctx, tx, ev)
	})
	if err != nil {
		return false, err
	}
	s.notifyEvents(ctx, ev)
	return done, nil
}

// escalationRound is one step of a round inside its transaction.
type escalationRound struct {
	tx                            *Tx
	tenantID, messageID, senderID string
	job                           *EscalationJob
	esc                           *whitecross.Escalation
	sentAt, now                   time.Time
	urgent                        bool
	ev                            *txEvents
	added, contacted              int
}

// startRound locks the message and returns the round to run, nil when
// there is none (see EscalateMessage); ErrNotDue when it is early.
func (s *Store) startRound(ctx context.Context, tx *Tx, tenantID, messageID string, job *EscalationJob) (*escalationRound, error) {
	var (
		status, senderID, category, priority string
		sentAt                               *time.Time
		requested                            bool
		raw                                  *string
	)
	// The no-op UPDATE locks the row (PostgreSQL), as dispatch does.
	err := tx.QueryRow(ctx, `UPDATE messages SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2
		RETURNING status, sent_at, ack_requested, escalation, sender_id, category, priority`, tenantID, messageID).
		Scan(&status, &sentAt, &requested, &raw, &senderID, &category, &priority)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("escalation: lock message: %w", err)
	}
	esc, err := decodeEscalation(raw)
	if err != nil {
		return nil, err
	}
	if whitecross.MessageStatus(status) != whitecross.MessageSent || sentAt == nil || !requested || esc == nil ||
		job.Round < 1 || job.Round > esc.Rounds() {
		return nil, nil
	}
	now := s.db.now()
	if due := esc.DueAt(*sentAt, job.Round); due.After(now.Add(dispatchEarlyTolerance)) {
		return nil, fmt.Errorf("%w (escalation round %d due at %s)", ErrNotDue, job.Round, due.UTC().Format(time.RFC3339))
	}
	urgent := (&whitecross.Message{Category: whitecross.Category(category), Priority: whitecross.Priority(priority)}).Urgent()
	return &escalationRound{tx: tx, tenantID: tenantID, messageID: messageID, senderID: canonicalID(senderID), job: job,
		esc: esc, sentAt: sentAt.UTC(), now: now, urgent: urgent}, nil
}

// escalateStep is one step of EscalateMessage in r's transaction.
func (s *Store) escalateStep(ctx context.Context, r *escalationRound) (bool, error) {
	p := &r.job.Progress
	if r.job.Round == 1 && r.esc.OtherGuardians && !p.GuardiansDone {
		more, err := s.addOtherGuardians(ctx, r)
		if err != nil {
			return false, err
		}
		if more {
			return false, s.auditEscalation(ctx, r)
		}
		p.GuardiansDone = true
	}
	more, err := s.contactAgain(ctx, r)
	if err != nil {
		return false, err
	}
	if err := s.auditEscalation(ctx, r); err != nil {
		return false, err
	}
	if more {
		return false, nil
	}
	return true, s.scheduleNextRound(ctx, r)
}

// batchBounds returns how many rows (at most DispatchBatchSize) the keyset
// query of user ids inner yields after after, and the last of them: the
// range of the next step, whatever the step then skips as already done.
// inner selects one column, user_id, ordered, with $1 the message id and
// $2 the id after which to start.
func batchBounds(ctx context.Context, tx *Tx, inner, messageID, after string) (int, string, error) {
	after = firstAfter(after)
	var n int
	var last *string
	err := tx.QueryRow(ctx, `SELECT COUNT(*), MAX(CAST(b.user_id AS TEXT)) FROM (`+inner+`
		LIMIT $3) b`, messageID, after, DispatchBatchSize).Scan(&n, &last)
	if err != nil {
		return 0, "", err
	}
	if last == nil {
		return 0, after, nil
	}
	return n, canonicalID(*last), nil
}

// pendingRecipients selects the recipients of message $1 after $2 who
// have the message and have not acknowledged it, in id order (the primary
// key's).
const pendingRecipients = `SELECT mr.user_id FROM message_recipients mr JOIN users u ON u.id = mr.user_id
	WHERE mr.message_id = $1 AND mr.user_id > $2 AND mr.delivered_at IS NOT NULL AND mr.acked_at IS NULL
	AND u.deactivated_at IS NULL ORDER BY mr.user_id`

// contactAgain creates the round's deliveries for the next batch of
// recipients who have not acknowledged, one per escalation channel, with
// their timeline events and deliver jobs. more: a batch was full.
func (s *Store) contactAgain(ctx context.Context, r *escalationRound) (more bool, err error) {
	p := &r.job.Progress
	n, last, err := batchBounds(ctx, r.tx, pendingRecipients, r.messageID, p.After)
	if err != nil {
		return false, fmt.Errorf("escalation: next recipients: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	args := queryArgs{r.messageID, firstAfter(p.After), last, r.tenantID, r.now, idTimePrefix(r.now), r.job.Round}
	// Channels are validated enum constants, safe to inline.
	var chans string
	for i, c := range r.esc.Channels {
		if i > 0 {
			chans += ` UNION ALL `
		}
		chans += `SELECT '` + string(c) + `' AS channel`
	}
	// WHERE 1 = 1 keeps SQLite from reading ON CONFLICT as the join's ON.
	rows, err := r.tx.Query(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, recipient_id, channel, status,
			queued_at, updated_at, attempt_kind, round)
		SELECT `+r.tx.newIDSQL("$6")+`, $4, $1, t.user_id, c.channel, 'PENDING', $5, $5, 'ESCALATION', $7
		FROM (SELECT mr.user_id FROM message_recipients mr JOIN users u ON u.id = mr.user_id
			WHERE mr.message_id = $1 AND mr.user_id > $2 AND mr.user_id <= $3 AND mr.delivered_at IS NOT NULL
			AND mr.acked_at IS NULL AND u.deactivated_at IS NULL) t
		CROSS JOIN (`+chans+`) c WHERE 1 = 1
		ON CONFLICT (message_id, recipient_id, channel, round) DO NOTHING RETURNING id`, args...)
	if err != nil {
		return false, fmt.Errorf("escalation: insert deliveries: %w", err)
	}
	ids, err := collect(rows, scanLowerID)
	if err != nil {
		return false, fmt.Errorf("escalation: insert deliveries: %w", err)
	}
	if err := s.startDeliveries(ctx, r, ids, whitecross.DeliveryPending); err != nil {
		return false, err
	}
	p.After = last
	r.contacted += n
	return n == DispatchBatchSize, nil
}

// startDeliveries records the first timeline event of each new delivery
// of the round and, for PENDING ones, queues its deliver job.
func (s *Store) startDeliveries(ctx context.Context, r *escalationRound, ids []string, status whitecross.DeliveryStatus) error {
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), r.tx.rowsPerInsert())
		statuses := make([]string, n)
		for i := range statuses {
			statuses[i] = string(status)
		}
		if err := insertDeliveryEvents(ctx, r.tx, r.tenantID, rest[:n], statuses, r.now); err != nil {
			return err
		}
		if err := s.enqueuePending(ctx, r.tx, r.tenantID, rest[:n], statuses, r.urgent); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// scheduleNextRound enqueues the round after r's, unless r's was the last
// or nobody is left to acknowledge.
func (s *Store) scheduleNextRound(ctx context.Context, r *escalationRound) error {
	eq, ok := s.queue.(EscalationQueue)
	if !ok || r.job.Round >= r.esc.Rounds() {
		return nil
	}
	var one int
	err := r.tx.QueryRow(ctx, `SELECT 1 FROM message_recipients WHERE message_id = $1
		AND delivered_at IS NOT NULL AND acked_at IS NULL LIMIT 1`, r.messageID).Scan(&one)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil // everyone has acknowledged: escalation stops
	} else if err != nil {
		return fmt.Errorf("escalation: anyone pending: %w", err)
	}
	next := EscalationJob{TenantID: r.tenantID, MessageID: r.messageID, Round: r.job.Round + 1,
		RunAt: r.esc.DueAt(r.sentAt, r.job.Round+1), Urgent: r.urgent}
	if err := eq.EnqueueEscalation(ctx, r.tx, next); err != nil {
		return fmt.Errorf("enqueue escalation: %w", err)
	}
	return nil
}

// auditEscalation records what the step did (nothing when it did nothing).
func (s *Store) auditEscalation(ctx context.Context, r *escalationRound) error {
	if r.added == 0 && r.contacted == 0 {
		return nil
	}
	detail := map[string]string{
		"round":           strconv.Itoa(r.job.Round),
		"contacted":       strconv.Itoa(r.contacted),
		"guardians_added": strconv.Itoa(r.added),
	}
	err := s.auditTx(whitecross.SystemContext(ctx, r.tenantID), r.tx, whitecross.AuditMessageEscalated, "message", r.messageID, detail)
	r.added, r.contacted = 0, 0
	return err
}

// canonicalID lower-cases an id read from the database.
func canonicalID(id string) string {
	if c, ok := parseID(id); ok {
		return c
	}
	return id
}
