package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"whitecross"
)

// A purge transaction deletes at most DefaultPurgeBatch messages, and
// fewer when together they had more than DefaultPurgeRecipients
// recipients (each recipient also has deliveries and their events): a
// batch is then a few thousand rows per table, so SQLite's single writer
// is never held long (performance.md, "Retention purge"). Between two
// batches the connection goes to whatever write waits for it (database/sql
// hands a released connection to a waiting request before the purge asks
// again). A message is never split, so one broadcast to 10,000 people is
// one transaction of its own.
const (
	DefaultPurgeBatch      = 500
	DefaultPurgeRecipients = 1000
)

// PurgeOptions selects what one purge run does.
type PurgeOptions struct {
	// TenantSlug limits the run to one district; "" runs every district.
	TenantSlug string
	// DryRun counts what would be deleted and deletes nothing (nor audits).
	DryRun bool
	// Batch is the most messages each transaction deletes (default
	// DefaultPurgeBatch).
	Batch int
	// Recipients is the most recipients of the messages of one transaction
	// (default DefaultPurgeRecipients; a message with more is alone).
	Recipients int
	// Budget stops the run between two batches once it has run this long,
	// with Run.More set (0: no limit); the first batch always runs, so each
	// run makes progress. A job uses it to stay within its timeout and
	// continues in a new attempt.
	Budget time.Duration
}

// PurgeCounts are the rows a purge deleted (or, dry, would delete).
type PurgeCounts struct {
	Messages        int64
	Recipients      int64 // message_recipients: inboxes, reads, acknowledgements
	Deliveries      int64
	DeliveryEvents  int64
	IdempotencyKeys int64
	Events          int64 // user_events: realtime log entries naming the messages
	Students        int64 // message_students: whom the messages were about
}

// Detail is the counts as the audit event's detail.
func (c PurgeCounts) Detail() map[string]string {
	f := func(n int64) string { return strconv.FormatInt(n, 10) }
	return map[string]string{"messages": f(c.Messages), "recipients": f(c.Recipients), "deliveries": f(c.Deliveries),
		"delivery_events": f(c.DeliveryEvents), "idempotency_keys": f(c.IdempotencyKeys), "events": f(c.Events),
		"students": f(c.Students)}
}

// PurgeRun is what a purge did in one district.
type PurgeRun struct {
	TenantID, TenantSlug string
	RetentionDays        int
	// Before is the cut-off: messages created and sent before it expired.
	Before time.Time
	PurgeCounts
	// Held is how many expired messages a legal hold kept (with More,
	// also those left for the next run).
	Held int64
	// More is set when the run stopped at its budget with work left.
	More bool
}

// PurgeExpired deletes, in every district whose retention_days is set
// (or the one opts names), the messages older than that many days with
// every row keyed to them, except messages under an active legal hold, in
// batches of short transactions. Each district's run is one
// retention.purged audit event with the counts (not on a dry run). The
// audit chain itself is never purged: it is the record of what was done.
// It needs no caller in ctx. ENOTFOUND for an unknown TenantSlug.
func (s *Store) PurgeExpired(ctx context.Context, opts PurgeOptions) ([]*PurgeRun, error) {
	tenants, err := s.purgeTenants(ctx, opts.TenantSlug)
	if err != nil {
		return nil, err
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultPurgeBatch
	}
	if opts.Recipients <= 0 {
		opts.Recipients = DefaultPurgeRecipients
	}
	start := time.Now()
	var out []*PurgeRun
	for _, t := range tenants {
		if t.Settings.RetentionDays <= 0 {
			continue
		}
		run := &PurgeRun{TenantID: t.ID, TenantSlug: t.Slug, RetentionDays: t.Settings.RetentionDays,
			Before: s.db.now().Add(-time.Duration(t.Settings.RetentionDays) * 24 * time.Hour)}
		out = append(out, run)
		if len(out) > 1 && spent(start, opts.Budget) {
			run.More = true
			continue
		}
		if err := s.purgeTenant(ctx, run, opts, start); err != nil {
			return out, err
		}
	}
	return out, nil
}

// purgeTenants is the district named by slug, or every district.
func (s *Store) purgeTenants(ctx context.Context, slug string) ([]*whitecross.Tenant, error) {
	if slug == "" {
		return s.ListTenants(ctx)
	}
	t, err := s.FindTenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	return []*whitecross.Tenant{t}, nil
}

// purgeTenant runs the batches of one district, then counts what holds
// kept and records the run's audit event (also when a batch failed, with
// what was deleted before).
func (s *Store) purgeTenant(ctx context.Context, run *PurgeRun, opts PurgeOptions, start time.Time) error {
	ctx = inTenant(ctx, run.TenantID)
	err := s.purgeBatches(ctx, run, opts, start)
	if err == nil {
		err = s.countHeld(ctx, run, opts.DryRun)
	}
	if opts.DryRun {
		return err
	}
	outcome := whitecross.OutcomeSuccess
	if err != nil {
		outcome = whitecross.OutcomeFailure
	}
	detail := run.Detail()
	detail["retention_days"], detail["before"] = strconv.Itoa(run.RetentionDays), run.Before.Format(time.RFC3339)
	detail["held"] = strconv.FormatInt(run.Held, 10)
	if auditErr := s.AppendAudit(context.WithoutCancel(ctx), &whitecross.AuditEvent{TenantID: run.TenantID,
		Action: whitecross.AuditRetentionPurged, TargetType: "tenant", TargetID: run.TenantID, Outcome: outcome, Detail: detail}); auditErr != nil && err == nil {
		err = auditErr
	}
	if err != nil {
		return fmt.Errorf("purge %s: %w", run.TenantSlug, err)
	}
	return nil
}

// purgeBatches deletes the district's expired messages a batch at a time,
// oldest first, each batch in its own transaction. The position after the
// last message seen carries over, so messages under a hold are passed
// over once, not once per batch.
func (s *Store) purgeBatches(ctx context.Context, run *PurgeRun, opts PurgeOptions, start time.Time) error {
	after := purgeCursor{id: "00000000-0000-0000-0000-000000000000"}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more := false
		err := s.db.InTx(ctx, func(tx *Tx) error {
			ids, next, full, err := s.expiredBatch(ctx, tx, run, after, opts)
			if err != nil || len(ids) == 0 {
				return err
			}
			more, after = full, next
			return s.purgeMessages(ctx, tx, ids, &run.PurgeCounts, opts.DryRun)
		})
		if err != nil || !more {
			return err
		}
		if spent(start, opts.Budget) {
			run.More = true
			return nil
		}
	}
}

// spent reports whether a run that began at start has used its budget (on
// the wall clock: it bounds a job's attempt, whose timeout is wall time).
func spent(start time.Time, budget time.Duration) bool {
	return budget > 0 && time.Since(start) >= budget
}

// purgeCursor is the (created_at, id) of the last message a batch took.
type purgeCursor struct {
	at         time.Time
	id         string
	recipients int // of that message
}

// expiredBatch selects the next batch of expired messages of the district
// after the cursor, oldest first, within opts' limits; full says more may
// follow. Expired: created and sent before run.Before, finished
// (SENT or CANCELED: a scheduled message is not yet history), and under no
// active hold on its sender, one of its recipients or a student it is
// about. The hold checks are driven by the few active holds and probe
// message_recipients and message_students by their primary keys, so a
// message of thousands of recipients costs one probe per hold, not a scan
// of its recipients.
func (s *Store) expiredBatch(ctx context.Context, tx *Tx, run *PurgeRun, after purgeCursor, opts PurgeOptions) ([]string, purgeCursor, bool, error) {
	rows, err := tx.Query(ctx, `SELECT m.id, m.created_at, m.recipient_count FROM messages m
		WHERE m.tenant_id = $1 AND m.created_at < $2 AND (m.created_at, m.id) > ($3, $4)
		  AND COALESCE(m.sent_at, m.created_at) < $2 AND m.status IN ('SENT', 'CANCELED')
		  AND NOT EXISTS (SELECT 1 FROM legal_holds h
		      WHERE h.tenant_id = $1 AND h.released_at IS NULL AND h.user_id = m.sender_id)
		  AND NOT EXISTS (SELECT 1 FROM legal_holds h JOIN message_recipients r ON r.message_id = m.id AND r.user_id = h.user_id
		      WHERE h.tenant_id = $1 AND h.released_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM legal_holds h JOIN message_students ms
		      ON ms.tenant_id = h.tenant_id AND ms.message_id = m.id AND ms.student_id = h.student_id
		      WHERE h.tenant_id = $1 AND h.released_at IS NULL)
		ORDER BY m.created_at, m.id LIMIT $5`, run.TenantID, run.Before, after.at, after.id, opts.Batch)
	if err != nil {
		return nil, after, false, fmt.Errorf("select expired messages: %w", err)
	}
	batch, err := collect(rows, func(r Row) (purgeCursor, error) {
		var c purgeCursor
		err := r.Scan(&c.id, &c.at, &c.recipients)
		return c, err
	})
	if err != nil || len(batch) == 0 {
		return nil, after, false, err
	}
	full := len(batch) == opts.Batch
	ids, total := make([]string, 0, len(batch)), 0
	for i, c := range batch {
		if total += c.recipients; i > 0 && total > opts.Recipients {
			batch, full = batch[:i], true
			break
		}
		ids = append(ids, c.id)
	}
	return ids, batch[len(batch)-1], full, nil
}

// countHeld counts the district's expired messages the run kept: those
// under a hold (and, when it stopped at its budget, those left for later).
func (s *Store) countHeld(ctx context.Context, run *PurgeRun, dryRun bool) error {
	err := s.db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM messages
		WHERE tenant_id = $1 AND created_at < $2 AND COALESCE(sent_at, created_at) < $2 AND status IN ('SENT', 'CANCELED')`,
		run.TenantID, run.Before).Scan(&run.Held)
	if err != nil {
		return fmt.Errorf("count held messages: %w", err)
	}
	if dryRun {
		run.Held -= run.Messages // still there, but would have gone
	}
	return nil
}
