package store

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

// This file and deliveries_outcome.go implement whitecross.DeliveryWorkStore:
// what the delivery workers and the provider callbacks read and write. They
// are system operations (no caller in ctx): the workers pass the tenant of
// their job, and callbacks find a delivery by the provider's id for it.

var _ whitecross.DeliveryWorkStore = (*Store)(nil)

// errDeliveryNotFound is the one answer to "no such delivery" and "not this
// tenant's".
func errDeliveryNotFound() error {
	return whitecross.Errorf(whitecross.ENOTFOUND, "Delivery not found.")
}

// deliveryWorkColumns lists the columns scanDeliveryWork reads, each
// prefixed with p ("d." in a join, "" in RETURNING, where SQLite refuses
// qualified names).
func deliveryWorkColumns(p string) string {
	cols := []string{"id", "message_id", "recipient_id", "channel", "status", "attempts", "error",
		"queued_at", "sent_at", "delivered_at", "failed_at", "bounced_at", "attempt_kind", "round"}
	for i, c := range cols {
		cols[i] = p + c
	}
	return strings.Join(cols, ", ")
}

// scanDeliveryWork scans deliveryWorkColumns followed by extra destinations.
func scanDeliveryWork(r Row, extra ...any) (*whitecross.Delivery, error) {
	var d whitecross.Delivery
	var channel, status, kind string
	dest := append([]any{&d.ID, &d.MessageID, &d.RecipientID, &channel, &status, &d.Attempts, &d.Error,
		&d.QueuedAt, &d.SentAt, &d.DeliveredAt, &d.FailedAt, &d.BouncedAt, &kind, &d.Round}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	d.AttemptKind = whitecross.AttemptKind(kind)
	d.ID, d.MessageID, d.RecipientID = strings.ToLower(d.ID), strings.ToLower(d.MessageID), strings.ToLower(d.RecipientID)
	d.Channel, d.Status = whitecross.Channel(channel), whitecross.DeliveryStatus(status)
	d.QueuedAt = d.QueuedAt.UTC()
	d.SentAt, d.DeliveredAt, d.FailedAt, d.BouncedAt = utcPtr(d.SentAt), utcPtr(d.DeliveredAt), utcPtr(d.FailedAt), utcPtr(d.BouncedAt)
	return &d, nil
}

// LoadDeliveryTask implements whitecross.DeliveryWorkStore: the delivery of
// the tenant with its message, sender, tenant name, timezone and settings, and the
// recipient's addresses, locale (theirs, else the tenant's default, else
// "en"), email suppression, SMS opt-out and, for a PUSH delivery, push
// subscriptions, all read
// fresh. ENOTFOUND "Delivery not found." when no delivery of that tenant
// has the id (a malformed id included).
//
// The content of a sensitive message is not decrypted at all (Subject and
// Body stay empty): the pipeline sends it only as a notice, so its PHI never
// even reaches the workers' memory.
func (s *Store) LoadDeliveryTask(ctx context.Context, tenantID, deliveryID string) (*whitecross.DeliveryTask, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	deliveryID, ok2 := parseID(deliveryID)
	if !ok1 || !ok2 {
		return nil, errDeliveryNotFound()
	}
	q := s.db.Reader()
	t, err := scanTaskRow(q.QueryRow(ctx, taskQuery+` WHERE d.tenant_id = $1 AND d.id = $2`, tenantID, deliveryID))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errDeliveryNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("load delivery %s: %w", deliveryID, err)
	}
	task, d := &t.task, &t.task.Delivery
	rc := &task.Recipient
	if task.Message, err = s.loadTaskMessage(ctx, q, tenantID, d.MessageID, d.RecipientID); err != nil {
		return nil, err
	}
	if d.Channel == whitecross.ChannelPush { // the only channel that reads them
		if rc.Push, err = loadUserPushSubscriptions(ctx, q, tenantID, d.RecipientID, true); err != nil {
			return nil, err
		}
	}
	return task, nil
}

// loadTaskMessage reads the message of a delivery as its recipient gets it
// (RecipientIDs is theirs alone), decrypted unless it is sensitive. A
// message of a delivery always exists (foreign key); its absence is an
// internal error.
func (s *Store) loadTaskMessage(ctx context.Context, q Querier, tenantID, messageID, recipientID string) (*whitecross.Message, error) {
	row, err := scanMessageRow(q.QueryRow(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
		WHERE m.tenant_id = $1 AND m.id = $2`, tenantID, messageID, recipientID))
	if err != nil {
		return nil, fmt.Errorf("load message %s of delivery: %w", messageID, err)
	}
	row.msg.RecipientIDs = []string{recipientID}
	return s.openDeliveryMessage(ctx, row)
}

// openDeliveryMessage is the message a delivery sends: its content opened,
// unless it is sensitive (a sensitive message never leaves by email, SMS or
// voice, so its content is not decrypted for them).
func (s *Store) openDeliveryMessage(ctx context.Context, row *messageRow) (*whitecross.Message, error) {
	m := row.msg
	m.Attachments = []whitecross.Attachment{}
	if m.Sensitive {
		return m, nil
	}
	if err := s.openRows(ctx, []*messageRow{row}, fullContent); err != nil {
		return nil, err
	}
	return m, nil
}

// loadUserPushSubscriptions returns the user's push subscriptions, oldest
// first; only the enabled ones when enabledOnly (what deliveries try).
func loadUserPushSubscriptions(ctx context.Context, q Querier, tenantID, userID string, enabledOnly bool) ([]*whitecross.PushSubscription, error) {
	where := ""
	if enabledOnly {
		where = " AND disabled_at IS NULL"
	}
	rows, err := q.Query(ctx, `SELECT id, user_id, endpoint, p256dh, auth, user_agent, created_at, failures, failing_since, last_error, disabled_at
		FROM push_subscriptions WHERE tenant_id = $1 AND user_id = $2`+where+` ORDER BY created_at, id`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("load push subscriptions: %w", err)
	}
	out, err := collect(rows, scanPushSubscription)
	if err != nil {
		return nil, fmt.Errorf("load push subscriptions: %w", err)
	}
	return append([]*whitecross.PushSubscription{}, out...), nil
}

// scanPushSubscription scans one row of the push subscription columns.
func scanPushSubscription(r Row) (*whitecross.PushSubscription, error) {
	var p whitecross.PushSubscription
	if err := r.Scan(&p.ID, &p.UserID, &p.Endpoint, &p.P256dh, &p.Auth, &p.UserAgent, &p.CreatedAt,
		&p.Failures, &p.FailingSince, &p.LastError, &p.DisabledAt); err != nil {
		return nil, err
	}
	p.ID, p.UserID, p.CreatedAt = strings.ToLower(p.ID), strings.ToLower(p.UserID), p.CreatedAt.UTC()
	p.FailingSince, p.DisabledAt = utcPtr(p.FailingSince), utcPtr(p.DisabledAt)
	return &p, nil
}

// SetPhoneOptOut implements whitecross.DeliveryWorkStore. The opt-out
// belongs to the number in every district (it refused our Twilio sender,
// not a district). Opting out again keeps the first time and updates the
// source; opting in deletes the row (nothing to do when there is none).
// EINVALID when phone is not E.164.
func (s *Store) SetPhoneOptOut(ctx context.Context, phone string, optedOut bool, source string) error {
	ctx = AllTenants(ctx) // an opt-out is of a phone number, in every district
	phone = strings.TrimSpace(phone)
	if !phonePattern.MatchString(phone) {
		return whitecross.Errorf(whitecross.EINVALID, "Phone must be in E.164 format, like +15551234567.")
	}
	source = clipDetail(cmp.Or(strings.TrimSpace(source), "unspecified"))
	err := s.db.InTx(ctx, func(tx *Tx) error {
		if !optedOut {
			_, err := tx.Exec(ctx, `DELETE FROM phone_opt_outs WHERE phone = $1`, phone)
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO phone_opt_outs (phone, opted_out_at, source) VALUES ($1, $2, $3)
			ON CONFLICT (phone) DO UPDATE SET source = excluded.source`, phone, s.db.now(), source)
		return err
	})
	if err != nil {
		return fmt.Errorf("set phone opt-out: %w", err)
	}
	return nil
}

// SuppressEmail implements whitecross.DeliveryWorkStore: the address,
// normalised as users' addresses are, is never emailed again until an
// admin lifts the suppression (LiftEmailSuppression). Suppressing it again
// keeps the first time and records the latest reason. EINVALID when email
// is not an address (validEmail).
func (s *Store) SuppressEmail(ctx context.Context, email, reason string) error {
	ctx = AllTenants(ctx) // a suppression is of an address, in every district
	email = normalizeEmail(email)
	if err := validEmail(email); err != nil {
		return err
	}
	reason = clipDetail(cmp.Or(strings.TrimSpace(reason), "unspecified"))
	err := s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO email_suppressions (email, reason, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (email) DO UPDATE SET reason = excluded.reason`, email, reason, s.db.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("suppress email: %w", err)
	}
	return nil
}

// RemovePushSubscription implements whitecross.DeliveryWorkStore: it
// deletes the tenant's subscription id. A subscription already gone (or of
// another tenant, or a malformed id) is not an error: the push service said
// it is gone either way.
func (s *Store) RemovePushSubscription(ctx context.Context, tenantID, id string) error {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	id, ok2 := parseID(id)
	if !ok1 || !ok2 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove push subscription: %w", err)
	}
	return nil
}

// When a push subscription that keeps failing is disabled: after
// PushFailuresToDisable failed sends in a row, the first of them at least
// PushFailingFor ago. Both must hold: a subscription that receives little
// is not kept for ever, and a push service outage shorter than a day (its
// sends fail in bursts, then the breaker holds them) disables nothing.
const (
	PushFailuresToDisable = 5
	PushFailingFor        = 24 * time.Hour
)

// RecordPushResult implements whitecross.DeliveryWorkStore. failure "" ends
// the subscription's failure streak; otherwise it counts one more failure
// and disables the subscription when the streak is long enough.
func (s *Store) RecordPushResult(ctx context.Context, tenantID, id, failure string) error {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	id, ok2 := parseID(id)
	if !ok1 || !ok2 {
		return nil
	}
	now := s.db.now()
	err := s.db.InTx(ctx, func(tx *Tx) error {
		if failure == "" {
			_, err := tx.Exec(ctx, `UPDATE push_subscriptions SET failures = 0, failing_since = NULL, last_error = '', last_used_at = $3
				WHERE tenant_id = $1 AND id = $2`, tenantID, id, now)
			return err
		}
		var failures int
		var since time.Time
		err := tx.QueryRow(ctx, `UPDATE push_subscriptions SET failures = failures + 1,
				failing_since = COALESCE(failing_since, $3), last_error = $4
			WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL
			RETURNING failures, failing_since`, tenantID, id, now, clipDetail(failure)).Scan(&failures, &since)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return nil // gone, moved or already disabled
		}
		if err != nil || failures < PushFailuresToDisable || now.Sub(since) < PushFailingFor {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE push_subscriptions SET disabled_at = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("record push result: %w", err)
	}
	return nil
}

// maxDetailChars bounds an error or a timeline detail, which come from
// providers: the row stays small whatever they answer.
const maxDetailChars = 500

// clipDetail shortens s to maxDetailChars runes.
func clipDetail(s string) string {
	r := []rune(s)
	if len(r) <= maxDetailChars {
		return s
	}
	return string(r[:maxDetailChars-1]) + "…"
}

// insertDeliveryEvent appends one step to a delivery's timeline.
func insertDeliveryEvent(ctx context.Context, tx *Tx, tenantID, deliveryID string, status whitecross.DeliveryStatus, at time.Time, detail string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		newID(), tenantID, deliveryID, string(status), at, clipDetail(detail)); err != nil {
		return fmt.Errorf("insert delivery event: %w", err)
	}
	return nil
}

// WithdrawDelivery implements whitecross.DeliveryWorkStore: the delivery,
// if it is still PENDING, is deleted with its timeline in one transaction,
// as if it had never been queued (its deliver job then finds nothing). A
// delivery that was sent stays: it is the record of what left the school.
func (s *Store) WithdrawDelivery(ctx context.Context, tenantID, deliveryID string) error {
	tenantID, ok1 := parseID(tenantID)
	deliveryID, ok2 := parseID(deliveryID)
	if !ok1 || !ok2 {
		return errDeliveryNotFound()
	}
	ctx = inTenant(ctx, tenantID)
	err := s.db.InTx(ctx, func(tx *Tx) error {
		pending := `SELECT id FROM deliveries WHERE tenant_id = $1 AND id = $2 AND status = 'PENDING'`
		if _, err := tx.Exec(ctx, `DELETE FROM delivery_events WHERE delivery_id IN (`+pending+`)`, tenantID, deliveryID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE tenant_id = $1 AND id = $2 AND status = 'PENDING'`, tenantID, deliveryID)
		return err
	})
	if err != nil {
		return fmt.Errorf("withdraw delivery %s: %w", deliveryID, err)
	}
	return nil
}
