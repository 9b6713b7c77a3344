package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

// RecordDeliveryOutcome implements whitecross.DeliveryWorkStore. In one
// transaction it updates the tenant's delivery if it is still PENDING —
// attempts + 1, the status with its time (sent_at for SENT; sent_at and
// delivered_at for DELIVERED; failed_at for FAILED), the provider and its
// id, the error (cleared on success) — and appends a timeline event. A
// temporary failure (Status "") keeps the delivery PENDING with the event
// "attempt N failed: <error>; retrying". A FAILED outcome with Fallback
// also creates the delivery on the next channel of the tenant's fallback
// policy (see fallbackTx), with its deliver job.
//
// It returns nil, nil when the delivery is no longer PENDING (a job run
// twice never records twice), ENOTFOUND when the tenant has no such
// delivery, EINVALID for a status an attempt cannot end in. It is
// RecordDeliveryOutcomes of one record: its change is always announced to
// the sender.
func (s *Store) RecordDeliveryOutcome(ctx context.Context, tenantID, deliveryID string, o whitecross.DeliveryOutcome) (*whitecross.DeliveryChange, error) {
	ctx = inTenant(ctx, tenantID)
	res, err := s.RecordDeliveryOutcomes(ctx, []OutcomeRecord{{TenantID: tenantID, DeliveryID: deliveryID, Outcome: o}})
	if err != nil {
		return nil, err
	}
	return res[0].Change, res[0].Err
}

// outcomeStep is a delivery a provider status has just changed, with whether to fall back to the next channel and why.
type outcomeStep struct {
	tenantID string
	d        *whitecross.Delivery
	fallback bool
	reason   string
}

// outcomeTx is the tail of ApplyProviderStatus (RecordDeliveryOutcomes has
// its own, set-based): in one transaction record changes the delivery (nil
// step when there was nothing to record), then the DeliveryChange is built
// (with fallback, the next channel's delivery) and the sender's
// delivery.updated is appended; the event is published after commit only.
func (s *Store) outcomeTx(ctx context.Context, record func(tx *Tx, now time.Time) (*outcomeStep, error)) (*whitecross.DeliveryChange, error) {
	var (
		change *whitecross.DeliveryChange
		ev     *txEvents // the sender's delivery.updated (realtime)
	)
	err := s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		step, err := record(tx, now)
		if err != nil || step == nil {
			return err
		}
		change, err = s.changeTx(ctx, tx, step.tenantID, step.d, step.fallback, step.reason, now)
		if err != nil {
			return err
		}
		ev, err = s.appendDeliveryEvents(ctx, tx, change)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return change, nil
}

// outcomeDetail is the timeline text of an outcome.
func outcomeDetail(o whitecross.DeliveryOutcome, attempts int) string {
	switch o.Status {
	case whitecross.DeliverySent:
		return "sent via " + providerLabel(o.Provider, o.ProviderID)
	case whitecross.DeliveryDelivered:
		return "delivered by " + providerLabel(o.Provider, o.ProviderID)
	case whitecross.DeliveryFailed:
		return o.Error
	default:
		return fmt.Sprintf("attempt %d failed: %s; retrying", attempts, o.Error)
	}
}

func providerLabel(provider, id string) string {
	provider = cmp.Or(provider, "provider")
	if id == "" {
		return provider
	}
	return provider + " (" + id + ")"
}

// statusRank orders delivery statuses: a provider callback only ever moves
// a delivery to a higher rank. FAILED and BOUNCED are final.
func statusRank(s whitecross.DeliveryStatus) int {
	switch s {
	case whitecross.DeliveryPending:
		return 0
	case whitecross.DeliverySent:
		return 1
	case whitecross.DeliveryDelivered:
		return 2
	case whitecross.DeliveryFailed, whitecross.DeliveryBounced:
		return 3
	}
	return -1
}

// ApplyProviderStatus implements whitecross.DeliveryWorkStore. It finds the
// delivery by (provider, provider id) in any tenant — callbacks are
// authenticated by the provider's signature and name only the provider's
// id — and moves it to st.Status only if that ranks higher than where it
// is (PENDING < SENT < DELIVERED < FAILED, BOUNCED; the update is
// conditional, so concurrent callbacks cannot move it backwards either). It
// sets the status's time to st.At (now when zero; sent_at too when still
// empty), the error for FAILED and BOUNCED, appends a timeline event, and on
// FAILED or BOUNCED falls back to the next channel as RecordDeliveryOutcome
// does. nil, nil when no delivery matches or it is already as far (a late,
// repeated or out-of-order callback); EINVALID for any other status.
func (s *Store) ApplyProviderStatus(ctx context.Context, st whitecross.ProviderStatus) (*whitecross.DeliveryChange, error) {
	ctx = AllTenants(ctx) // a provider's callback names its delivery by the provider's id only
	rank := statusRank(st.Status)
	if rank < 1 {
		return nil, whitecross.Errorf(whitecross.EINVALID, "A provider cannot report status %q.", st.Status)
	}
	if st.Provider == "" || st.ProviderID == "" {
		return nil, nil
	}
	var below []string
	for _, s := range whitecross.DeliveryStatuses {
		if statusRank(s) < rank {
			below = append(below, "'"+string(s)+"'") // enum constants, safe to inline
		}
	}
	return s.outcomeTx(ctx, func(tx *Tx, now time.Time) (*outcomeStep, error) {
		at := now
		if !st.At.IsZero() {
			at = st.At.UTC().Truncate(time.Microsecond)
		}
		var set string
		switch st.Status {
		case whitecross.DeliverySent:
			set = `sent_at = $5`
		case whitecross.DeliveryDelivered:
			set = `sent_at = COALESCE(sent_at, $5), delivered_at = $5`
		case whitecross.DeliveryFailed:
			set = `failed_at = $5, error = $6`
		case whitecross.DeliveryBounced:
			set = `bounced_at = $5, error = $6`
		}
		args := []any{st.Provider, st.ProviderID, string(st.Status), now, at}
		if rank == 3 {
			args = append(args, clipDetail(st.Error))
		}
		var tenantID string
		d, err := scanDeliveryWork(tx.QueryRow(ctx, `UPDATE deliveries SET status = $3, updated_at = $4, `+set+`
			WHERE id = (SELECT id FROM deliveries WHERE provider = $1 AND provider_id = $2 ORDER BY id LIMIT 1)
			AND status IN (`+strings.Join(below, ", ")+`)
			RETURNING `+deliveryWorkColumns("")+`, tenant_id`, args...), &tenantID)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("apply provider status: %w", err)
		}
		tenantID = strings.ToLower(tenantID)
		detail := st.Provider + " reported " + strings.ToLower(string(st.Status))
		if st.Error != "" {
			detail += ": " + st.Error
		}
		if err := insertDeliveryEvent(ctx, tx, tenantID, d.ID, d.Status, at, detail); err != nil {
			return nil, err
		}
		return &outcomeStep{tenantID, d, rank == 3, cmp.Or(st.Error, strings.ToLower(string(st.Status)))}, nil
	})
}

// changeTx builds the DeliveryChange of d, committed with tx, and with
// fallback creates the next channel's delivery for reason. It runs for every
// provider status, so it reads only the sender; the fallback reads the
// rest.
func (s *Store) changeTx(ctx context.Context, tx *Tx, tenantID string, d *whitecross.Delivery, fallback bool, reason string, now time.Time) (*whitecross.DeliveryChange, error) {
	var senderID string
	err := tx.QueryRow(ctx, `SELECT sender_id FROM messages WHERE tenant_id = $1 AND id = $2`, tenantID, d.MessageID).Scan(&senderID)
	if err != nil {
		return nil, fmt.Errorf("load message of delivery %s: %w", d.ID, err)
	}
	change := &whitecross.DeliveryChange{TenantID: tenantID, MessageID: d.MessageID, SenderID: strings.ToLower(senderID), Delivery: d}
	if fallback {
		if change.Fallback, err = s.fallbackTx(ctx, tx, tenantID, d, reason, now); err != nil {
			return nil, err
		}
	}
	return change, nil
}

// fallbackTx creates, in tx, the delivery on the channel that follows the
// failed one in the tenant's fallback chain for the message's priority and
// category (FallbackChain), skipping channels the tenant does not allow and
// channels the recipient already has a delivery on for this message in the
// same round (NextFallback: an escalation round falls back within itself,
// and its fallback is an ESCALATION delivery of that round too), with its
// first timeline event ("fallback from SMS: <reason>") and its deliver job. It returns nil when the chain has nothing
// left. A failed delivery falls back once: the failure that triggers this
// is a conditional update that only one caller wins, and a delivery per
// message, recipient, channel and round is unique.
func (s *Store) fallbackTx(ctx context.Context, tx *Tx, tenantID string, failed *whitecross.Delivery, reason string, now time.Time) (*whitecross.Delivery, error) {
	var priority, category, rawSettings string
	err := tx.QueryRow(ctx, `SELECT m.priority, m.category, t.settings
		FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE m.tenant_id = $1 AND m.id = $2`,
		tenantID, failed.MessageID).Scan(&priority, &category, &rawSettings)
	if err != nil {
		return nil, fmt.Errorf("fallback: load message of delivery %s: %w", failed.ID, err)
	}
	var settings whitecross.TenantSettings
	if err := json.Unmarshal([]byte(rawSettings), &settings); err != nil {
		return nil, fmt.Errorf("decode tenant settings: %w", err)
	}
	msg := whitecross.Message{Priority: whitecross.Priority(priority), Category: whitecross.Category(category)}
	rows, err := tx.Query(ctx, `SELECT channel FROM deliveries WHERE message_id = $1 AND recipient_id = $2 AND round = $3`,
		failed.MessageID, failed.RecipientID, failed.Round)
	if err != nil {
		return nil, fmt.Errorf("fallback: channels tried: %w", err)
	}
	var tried []whitecross.Channel
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("fallback: channels tried: %w", err)
		}
		tried = append(tried, whitecross.Channel(c))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fallback: channels tried: %w", err)
	}
	next, ok := settings.NextFallback(settings.FallbackChain(msg.Priority, msg.Category), failed.Channel, tried)
	if !ok {
		return nil, nil
	}
	d := &whitecross.Delivery{ID: newID(), MessageID: failed.MessageID, RecipientID: failed.RecipientID,
		Channel: next, Status: whitecross.DeliveryPending, QueuedAt: now,
		AttemptKind: cmp.Or(failed.AttemptKind, whitecross.AttemptInitial), Round: failed.Round}
	n, err := tx.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, recipient_id, channel, status, queued_at, updated_at, attempt_kind, round)
		VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $6, $7, $8) ON CONFLICT (message_id, recipient_id, channel, round) DO NOTHING`,
		d.ID, tenantID, d.MessageID, d.RecipientID, string(next), now, string(d.AttemptKind), d.Round)
	if err != nil {
		return nil, fmt.Errorf("fallback: insert delivery: %w", err)
	}
	if n == 0 {
		return nil, nil // a concurrent fallback created it first
	}
	if err := insertDeliveryEvent(ctx, tx, tenantID, d.ID, whitecross.DeliveryPending, now,
		fmt.Sprintf("fallback from %s: %s", failed.Channel, reason)); err != nil {
		return nil, err
	}
	if err := s.enqueuePending(ctx, tx, tenantID, []string{d.ID}, []string{string(whitecross.DeliveryPending)}, msg.Urgent()); err != nil {
		return nil, err
	}
	return d, nil
}
