package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.DeadLetterService = (*Store)(nil)

// MaxRetryDeliveries is how many deliveries one RetryDeliveries call may
// put back in the queue.
const MaxRetryDeliveries = 1000

// requireAdmin returns the caller when it is a district ADMIN (or the
// system). EFORBIDDEN for anyone else; EUNAUTHORIZED without a caller.
func requireAdmin(ctx context.Context, what string) (*whitecross.Actor, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !a.System && a.Role != whitecross.RoleAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only a district administrator can %s.", what)
	}
	return a, nil
}

// ListDeadLetters implements whitecross.DeadLetterService: the caller's
// district's FAILED and BOUNCED deliveries (or those of f.Status), newest
// change first (keyset on updated_at, id: index deliveries_dead), each with
// its recipient's name, provider, error, attempts and timeline (oldest
// event first; the timelines of a page come in one query). EINVALID naming
// query.status, query.channel, query.limit or query.cursor; EFORBIDDEN for
// anyone but an ADMIN.
func (s *Store) ListDeadLetters(ctx context.Context, f whitecross.DeadLetterFilter) (*whitecross.DeadLetterPage, error) {
	a, err := requireAdmin(ctx, "see failed deliveries")
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	args := []any{a.TenantID}
	where := []string{`d.tenant_id = $1`}
	switch f.Status {
	case "":
		where = append(where, `d.status IN ('FAILED', 'BOUNCED')`)
	case whitecross.DeliveryFailed, whitecross.DeliveryBounced:
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf(`d.status = $%d`, len(args)))
	default:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.status", string(f.Status), "Status must be failed or bounced.")
	}
	if f.Channel != "" {
		if f.Channel == whitecross.ChannelInApp || !slices.Contains(whitecross.Channels, f.Channel) {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.channel", string(f.Channel), "Channel must be email, sms, push or voice.")
		}
		args = append(args, string(f.Channel))
		where = append(where, fmt.Sprintf(`d.channel = $%d`, len(args)))
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeIDCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf(`(d.updated_at < $%d OR (d.updated_at = $%d AND d.id < $%d))`, len(args)-1, len(args)-1, len(args)))
	}
	args = append(args, limit+1)
	q := s.db.Reader()
	rows, err := q.Query(ctx, `SELECT d.id, d.message_id, d.recipient_id, u.name, d.channel, d.status, d.attempts, d.error,
		d.provider, d.queued_at, d.sent_at, d.delivered_at, d.failed_at, d.bounced_at, d.updated_at, d.attempt_kind, d.round
		FROM deliveries d JOIN users u ON u.id = d.recipient_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY d.updated_at DESC, d.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	items, err := collect(rows, scanDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	page := &whitecross.DeadLetterPage{Items: []*whitecross.DeadLetter{}}
	items, page.NextCursor = keysetPage(items, limit, func(last *whitecross.DeadLetter) string {
		return encodeTimeIDCursor(last.UpdatedAt, last.ID)
	})
	page.Items = append(page.Items, items...)
	if err := s.loadTimelines(ctx, q, a.TenantID, page.Items); err != nil {
		return nil, err
	}
	return page, nil
}

// scanDeadLetter scans one row of ListDeadLetters, its timeline still empty.
func scanDeadLetter(r Row) (*whitecross.DeadLetter, error) {
	var dl whitecross.DeadLetter
	var channel, status, kind string
	if err := r.Scan(&dl.ID, &dl.MessageID, &dl.RecipientID, &dl.RecipientName, &channel, &status, &dl.Attempts, &dl.Error,
		&dl.Provider, &dl.QueuedAt, &dl.SentAt, &dl.DeliveredAt, &dl.FailedAt, &dl.BouncedAt, &dl.UpdatedAt, &kind, &dl.Round); err != nil {
		return nil, err
	}
	dl.AttemptKind = whitecross.AttemptKind(kind)
	dl.ID, dl.MessageID, dl.RecipientID = strings.ToLower(dl.ID), strings.ToLower(dl.MessageID), strings.ToLower(dl.RecipientID)
	dl.Channel, dl.Status = whitecross.Channel(channel), whitecross.DeliveryStatus(status)
	dl.QueuedAt, dl.UpdatedAt = dl.QueuedAt.UTC(), dl.UpdatedAt.UTC()
	dl.SentAt, dl.DeliveredAt, dl.FailedAt, dl.BouncedAt = utcPtr(dl.SentAt), utcPtr(dl.DeliveredAt), utcPtr(dl.FailedAt), utcPtr(dl.BouncedAt)
	dl.Timeline = []whitecross.DeliveryEvent{}
	return &dl, nil
}

// loadTimelines fills the timeline of every dead letter with one query.
func (s *Store) loadTimelines(ctx context.Context, q Querier, tenantID string, items []*whitecross.DeadLetter) error {
	if len(items) == 0 {
		return nil
	}
	byID := make(map[string]*whitecross.DeadLetter, len(items))
	args := []any{tenantID}
	for _, dl := range items {
		byID[dl.ID] = dl
		args = append(args, dl.ID)
	}
	rows, err := q.Query(ctx, `SELECT delivery_id, status, at, detail FROM delivery_events
		WHERE tenant_id = $1 AND delivery_id IN (`+placeholders(2, len(items))+`) ORDER BY delivery_id, at, id`, args...)
	if err != nil {
		return fmt.Errorf("list delivery timelines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		var e whitecross.DeliveryEvent
		if err := rows.Scan(&id, &status, &e.At, &e.Detail); err != nil {
			return fmt.Errorf("list delivery timelines: %w", err)
		}
		e.Status, e.At = whitecross.DeliveryStatus(status), e.At.UTC()
		if dl := byID[strings.ToLower(id)]; dl != nil {
			dl.Timeline = append(dl.Timeline, e)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list delivery timelines: %w", err)
	}
	return nil
}

// RetryDeliveries implements whitecross.DeadLetterService. In one
// transaction, each of ids that is a FAILED or BOUNCED delivery of the
// caller's district goes back to PENDING: its error, provider, provider id
// and failed_at/bounced_at are cleared (the timeline keeps every earlier
// failure with its time and reason, so the status columns describe the
// current round only, and a late callback about the earlier send no
// longer finds the delivery), attempts keep counting the total, a timeline
// event "retry requested by <admin id>" is added, a deliver job is queued
// (urgent lane for an EMERGENCY or URGENT message) and one
// delivery.retried audit event lists them. It returns how many were
// requeued; ids of other districts, unknown ids and deliveries that are
// not FAILED or BOUNCED are skipped. A retried email whose address is
// suppressed (it bounced) fails again until the suppression is removed.
//
// EINVALID body.delivery_ids for none or more than MaxRetryDeliveries;
// EFORBIDDEN for anyone but an ADMIN. Without a queue (store tests) the
// deliveries stay PENDING.
func (s *Store) RetryDeliveries(ctx context.Context, ids []string) (int, error) {
	a, err := requireAdmin(ctx, "retry deliveries")
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 || len(ids) > MaxRetryDeliveries {
		return 0, whitecross.FieldErrorf(whitecross.EINVALID, "body.delivery_ids", len(ids),
			"Give 1 to %d delivery ids.", MaxRetryDeliveries)
	}
	canon := parseIDs(ids)
	var requeued []string
	err = s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		var jobs []DeliverJob
		for _, batch := range batches(canon) {
			args := append([]any{a.TenantID, now}, anySlice(batch)...)
			rows, err := tx.Query(ctx, `UPDATE deliveries SET status = 'PENDING', error = NULL, provider = '', provider_id = NULL,
				failed_at = NULL, bounced_at = NULL, updated_at = $2
				WHERE tenant_id = $1 AND status IN ('FAILED', 'BOUNCED') AND id IN (`+placeholders(3, len(batch))+`)
				RETURNING id, message_id`, args...)
			if err != nil {
				return fmt.Errorf("requeue deliveries: %w", err)
			}
			changed, messages, err := scanIDPairs(rows)
			if err != nil {
				return fmt.Errorf("requeue deliveries: %w", err)
			}
			urgent, err := urgentMessages(ctx, tx, a.TenantID, messages)
			if err != nil {
				return err
			}
			for i, id := range changed {
				jobs = append(jobs, DeliverJob{TenantID: a.TenantID, DeliveryID: id, Urgent: urgent[messages[i]]})
			}
			requeued = append(requeued, changed...)
		}
		if len(requeued) == 0 {
			return nil
		}
		if err := insertRetryEvents(ctx, tx, a, requeued, now); err != nil {
			return err
		}
		if s.queue != nil {
			if err := s.queue.EnqueueDeliveries(ctx, tx, jobs); err != nil {
				return fmt.Errorf("requeue deliveries: enqueue: %w", err)
			}
		}
		detail := map[string]string{"requested": strconv.Itoa(len(ids)), "requeued": strconv.Itoa(len(requeued)),
			"delivery_ids": strings.Join(requeued, ",")}
		target := ""
		if len(requeued) == 1 {
			target = requeued[0]
		}
		return s.auditTx(ctx, tx, whitecross.AuditDeliveriesRetried, "delivery", target, detail)
	})
	if err != nil {
		return 0, err
	}
	return len(requeued), nil
}

// scanIDPairs reads rows of two ids, lower-cased, and closes rows.
func scanIDPairs(rows Rows) (first, second []string, err error) {
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, nil, err
		}
		first, second = append(first, strings.ToLower(a)), append(second, strings.ToLower(b))
	}
	return first, second, rows.Err()
}

// urgentMessages reports, for each of messageIDs, whether it goes in the
// urgent lane (EMERGENCY category or URGENT priority).
func urgentMessages(ctx context.Context, tx *Tx, tenantID string, messageIDs []string) (map[string]bool, error) {
	ids, _ := dedupe(messageIDs)
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, category, priority FROM messages WHERE tenant_id = $1 AND id IN (`+placeholders(2, len(ids))+`)`,
		append([]any{tenantID}, anySlice(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("requeue deliveries: read priorities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, category, priority string
		if err := rows.Scan(&id, &category, &priority); err != nil {
			return nil, fmt.Errorf("requeue deliveries: read priorities: %w", err)
		}
		m := whitecross.Message{Category: whitecross.Category(category), Priority: whitecross.Priority(priority)}
		out[strings.ToLower(id)] = m.Urgent()
	}
	return out, rows.Err()
}

// insertRetryEvents adds the "retry requested" timeline event of each
// requeued delivery.
func insertRetryEvents(ctx context.Context, tx *Tx, a *whitecross.Actor, ids []string, now time.Time) error {
	detail := "retry requested by " + callerID(a)
	if a.System {
		detail = "retry requested by the system"
	}
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), tx.rowsPerInsert())
		var b strings.Builder
		b.WriteString(`INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES `)
		args := []any{a.TenantID, now, detail}
		for i, id := range rest[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, newID(), id)
			fmt.Fprintf(&b, "($%d, $1, $%d, 'PENDING', $2, $3)", len(args)-1, len(args))
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("requeue deliveries: timeline: %w", err)
		}
		rest = rest[n:]
	}
	return nil
}

// encodeTimeIDCursor makes the opaque cursor of a page ordered by a time
// and an id, both descending (dead letters, email suppressions): the next
// page starts after (at, id).
func encodeTimeIDCursor(at time.Time, id string) string {
	return encodePairCursor(at.UTC().Format(time.RFC3339Nano), id)
}

// decodeTimeIDCursor reads a cursor of encodeTimeIDCursor.
// EINVALID (query.cursor) for anything else.
func decodeTimeIDCursor(c string) (time.Time, string, error) {
	key, id, ok := decodePairCursor(c, 256)
	at, err := time.Parse(time.RFC3339Nano, key)
	if !ok || err != nil {
		return time.Time{}, "", whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", nil, "Cursor is not valid; start again without it.")
	}
	return at.UTC(), id, nil
}
