package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// OutcomeRecord is one delivery's outcome for RecordDeliveryOutcomes.
type OutcomeRecord struct {
	TenantID, DeliveryID string
	Outcome              whitecross.DeliveryOutcome
}

// OutcomeResult is what one OutcomeRecord came to, as RecordDeliveryOutcome
// answers it: Change nil (and Err nil) when the delivery was no longer
// PENDING; Err ENOTFOUND or EINVALID for that record alone. Announced
// reports whether the sender's log got a delivery.updated carrying this
// change; a change of a large message usually does not (see
// CoalesceDeliveryEventsAbove), and whoever counts changes from the events
// (the metrics) must count it themselves.
type OutcomeResult struct {
	Change    *whitecross.DeliveryChange
	Announced bool
	Err       error
}

// CoalesceDeliveryEventsAbove is the recipient count above which a
// message's sender gets delivery progress instead of every delivery: the
// outcomes of such a message (and of every audience broadcast) recorded in
// one RecordDeliveryOutcomes transaction append one delivery.updated to
// the sender's log, carrying the last of them, not one each. A 1:1 or
// small group message is reported delivery by delivery. It matches the web
// app's limit for listing deliveries one by one; above it the app shows
// counts, which each event tells it to refresh.
const CoalesceDeliveryEventsAbove = 100

// RecordDeliveryOutcomes records many outcomes in one transaction, each as
// RecordDeliveryOutcome does (status, attempts, provider id or error, a
// timeline event, a fallback delivery with its job), set-based: one UPDATE
// per tenant, status and provider, one multi-row INSERT of timeline events,
// one read of the messages' senders, one append to the senders' logs
// (delivery.updated, coalesced per large message). The results are in the
// order of recs. A record naming a delivery already named earlier in recs
// finds it no longer PENDING when the earlier one changed it, and records
// nothing when it did not (a temporary failure): its job is retried. An
// error (the transaction failed) concerns every record; none was recorded.
func (s *Store) RecordDeliveryOutcomes(ctx context.Context, recs []OutcomeRecord) ([]OutcomeResult, error) {
	ctx = AllTenants(ctx) // each record names its tenant; a batch mixes them
	out := make([]OutcomeResult, len(recs))
	groups := groupOutcomes(recs, out)
	var ev *txEvents
	err := s.db.InTx(ctx, func(tx *Tx) error {
		for i := range out { // a retried transaction starts afresh
			if out[i].Err == nil {
				out[i] = OutcomeResult{}
			}
		}
		now := s.db.now()
		changed, err := updateOutcomes(ctx, tx, recs, groups, now, out)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		ev, err = s.completeOutcomes(ctx, tx, recs, changed, now, out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record %d delivery outcomes: %w", len(recs), err)
	}
	s.notifyEvents(ctx, ev)
	return out, nil
}

// outcomeGroup is the records one UPDATE serves: one tenant, one status,
// one provider; indexes into recs.
type outcomeGroup struct {
	tenant   string
	status   whitecross.DeliveryStatus
	provider string
	recs     []int
}

// groupOutcomes groups the valid records of recs and sets the Err of the
// others in out. A delivery named twice is served by its first record only.
func groupOutcomes(recs []OutcomeRecord, out []OutcomeResult) []*outcomeGroup {
	var groups []*outcomeGroup
	type groupKey struct {
		tenant, provider string
		status           whitecross.DeliveryStatus
	}
	index := map[groupKey]*outcomeGroup{}
	seen := map[string]bool{}
	for i, r := range recs {
		tenant, ok1 := parseID(r.TenantID)
		id, ok2 := parseID(r.DeliveryID)
		switch {
		case !ok1 || !ok2:
			out[i].Err = errDeliveryNotFound()
			continue
		case !validOutcomeStatus(r.Outcome.Status):
			out[i].Err = whitecross.Errorf(whitecross.EINVALID, "An attempt cannot end in status %q.", r.Outcome.Status)
			continue
		case seen[id]:
			continue
		}
		seen[id] = true
		recs[i].TenantID, recs[i].DeliveryID = tenant, id
		key := groupKey{tenant: tenant, status: r.Outcome.Status, provider: r.Outcome.Provider}
		g := index[key]
		if g == nil {
			g = &outcomeGroup{tenant: tenant, status: key.status, provider: key.provider}
			index[key] = g
			groups = append(groups, g)
		}
		g.recs = append(g.recs, i)
	}
	return groups
}

func validOutcomeStatus(s whitecross.DeliveryStatus) bool {
	switch s {
	case "", whitecross.DeliverySent, whitecross.DeliveryDelivered, whitecross.DeliveryFailed:
		return true
	}
	return false
}

// outcomeRowsPerStatement bounds one grouped UPDATE: each row binds two
// parameters in its CASE and one in its IN list.
const outcomeRowsPerStatement = 200

// updateOutcomes runs each group's UPDATE of the deliveries still PENDING
// and returns the changed deliveries by record index; a record whose
// delivery did not change gets ENOTFOUND in out when it does not exist.
func updateOutcomes(ctx context.Context, tx *Tx, recs []OutcomeRecord, groups []*outcomeGroup, now time.Time, out []OutcomeResult) (map[int]*whitecross.Delivery, error) {
	changed := map[int]*whitecross.Delivery{}
	for _, g := range groups {
		for rest := g.recs; len(rest) > 0; {
			n := min(len(rest), outcomeRowsPerStatement)
			if err := updateOutcomeRows(ctx, tx, recs, g, rest[:n], now, changed); err != nil {
				return nil, err
			}
			if err := markMissing(ctx, tx, recs, g.tenant, rest[:n], changed, out); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
	}
	return changed, nil
}

// updateOutcomeRows is one grouped UPDATE: the per-row value (provider id
// on success, the error otherwise) comes from a CASE on the id.
func updateOutcomeRows(ctx context.Context, tx *Tx, recs []OutcomeRecord, g *outcomeGroup, idx []int, now time.Time, changed map[int]*whitecross.Delivery) error {
	args := []any{g.tenant, now}
	if g.status != "" { // a temporary failure keeps its provider
		args = append(args, g.provider)
	}
	var value, in strings.Builder
	value.WriteString("CASE id")
	byID := make(map[string]int, len(idx))
	for k, i := range idx {
		r := recs[i]
		byID[r.DeliveryID] = i
		v := r.Outcome.ProviderID
		if g.status == whitecross.DeliveryFailed || g.status == "" {
			v = clipDetail(r.Outcome.Error)
		}
		args = append(args, r.DeliveryID, v)
		fmt.Fprintf(&value, " WHEN $%d THEN $%d", len(args)-1, len(args))
		if k > 0 {
			in.WriteString(", ")
		}
		in.WriteString("$" + strconv.Itoa(len(args)-1))
	}
	value.WriteString(" END")
	rows, err := tx.Query(ctx, `UPDATE deliveries SET `+groupOutcomeSet(g.status, value.String())+`
		WHERE tenant_id = $1 AND status = 'PENDING' AND id IN (`+in.String()+`) RETURNING `+deliveryWorkColumns(""), args...)
	if err != nil {
		return fmt.Errorf("record delivery outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDeliveryWork(rows)
		if err != nil {
			return fmt.Errorf("record delivery outcomes: %w", err)
		}
		changed[byID[d.ID]] = d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record delivery outcomes: %w", err)
	}
	return nil
}

// groupOutcomeSet is the SET clause of a group's UPDATE ($2 now, $3 the
// provider unless status is "", value the per-row provider id or error),
// as outcomeSet.
func groupOutcomeSet(status whitecross.DeliveryStatus, value string) string {
	switch status {
	case whitecross.DeliverySent:
		return `attempts = attempts + 1, status = 'SENT', sent_at = $2, updated_at = $2, error = NULL,
			provider = $3, provider_id = ` + value
	case whitecross.DeliveryDelivered:
		return `attempts = attempts + 1, status = 'DELIVERED', sent_at = COALESCE(sent_at, $2), delivered_at = $2,
			updated_at = $2, error = NULL, provider = $3, provider_id = ` + value
	case whitecross.DeliveryFailed:
		return `attempts = attempts + 1, status = 'FAILED', failed_at = $2, updated_at = $2, error = ` + value + `,
			provider = CASE WHEN $3 = '' THEN provider ELSE $3 END`
	default: // a temporary failure: still PENDING
		return `attempts = attempts + 1, updated_at = $2, error = ` + value
	}
}

// markMissing sets ENOTFOUND in out for the records of idx whose delivery
// did not change and does not exist in the tenant (one query, only when
// some did not change: they are rare).
func markMissing(ctx context.Context, tx *Tx, recs []OutcomeRecord, tenant string, idx []int, changed map[int]*whitecross.Delivery, out []OutcomeResult) error {
	var unchanged []string
	for _, i := range idx {
		if changed[i] == nil {
			unchanged = append(unchanged, recs[i].DeliveryID)
		}
	}
	if len(unchanged) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM deliveries WHERE tenant_id = $1 AND id IN (`+placeholders(2, len(unchanged))+`)`,
		append([]any{tenant}, anySlice(unchanged)...)...)
	if err != nil {
		return fmt.Errorf("record delivery outcomes: %w", err)
	}
	exists, err := collect(rows, func(r Row) (string, error) {
		var id string
		err := r.Scan(&id)
		return strings.ToLower(id), err
	})
	if err != nil {
		return fmt.Errorf("record delivery outcomes: %w", err)
	}
	found := make(map[string]bool, len(exists))
	for _, id := range exists {
		found[id] = true
	}
	for _, i := range idx {
		if changed[i] == nil && !found[recs[i].DeliveryID] {
			out[i].Err = errDeliveryNotFound()
		}
	}
	return nil
}

// completeOutcomes finishes the changed deliveries in tx: their timeline
// events, their senders, the fallbacks, and the senders' delivery.updated
// (coalesced per large message); it fills the results in out.
func (s *Store) completeOutcomes(ctx context.Context, tx *Tx, recs []OutcomeRecord, changed map[int]*whitecross.Delivery, now time.Time, out []OutcomeResult) (*txEvents, error) {
	order := make([]int, 0, len(changed))
	for i := range recs {
		if changed[i] != nil {
			order = append(order, i)
		}
	}
	timeline := make([]timelineStep, len(order))
	for k, i := range order {
		d := changed[i]
		timeline[k] = timelineStep{recs[i].TenantID, d.ID, d.Status, outcomeDetail(recs[i].Outcome, d.Attempts)}
	}
	if err := insertTimeline(ctx, tx, timeline, now); err != nil {
		return nil, err
	}
	messages, err := loadOutcomeMessages(ctx, tx, changed)
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		d, o := changed[i], recs[i].Outcome
		m := messages[d.MessageID]
		c := &whitecross.DeliveryChange{TenantID: recs[i].TenantID, MessageID: d.MessageID, SenderID: m.sender, Delivery: d}
		if o.Status == whitecross.DeliveryFailed && o.Fallback {
			if c.Fallback, err = s.fallbackTx(ctx, tx, c.TenantID, d, o.Error, now); err != nil {
				return nil, err
			}
		}
		out[i].Change = c
	}
	return s.appendDeliveryEvents(ctx, tx, announce(order, out, messages)...)
}

// announce picks the changes the senders' logs get, in record order, and
// marks them Announced in out: every change of a small message; of a
// coalesced one, only its last in this batch (without its fallback).
func announce(order []int, out []OutcomeResult, messages map[string]outcomeMessage) []*whitecross.DeliveryChange {
	last := map[string]int{}
	for _, i := range order {
		if id := out[i].Change.MessageID; messages[id].coalesced {
			last[id] = i
		}
	}
	var changes []*whitecross.DeliveryChange
	for _, i := range order {
		c := out[i].Change
		if !messages[c.MessageID].coalesced {
			changes = append(changes, c)
			out[i].Announced = true
		} else if last[c.MessageID] == i {
			progress := *c
			progress.Fallback = nil
			changes = append(changes, &progress)
			out[i].Announced = true
		}
	}
	return changes
}

// outcomeMessage is what recording outcomes needs of a message.
type outcomeMessage struct {
	sender    string
	coalesced bool // see CoalesceDeliveryEventsAbove
}

// loadOutcomeMessages reads the sender and size of each message of the
// changed deliveries, in one query per idBatch messages.
func loadOutcomeMessages(ctx context.Context, tx *Tx, changed map[int]*whitecross.Delivery) (map[string]outcomeMessage, error) {
	seen := map[string]bool{}
	var ids []string
	for _, d := range changed {
		if !seen[d.MessageID] {
			seen[d.MessageID] = true
			ids = append(ids, d.MessageID)
		}
	}
	out := make(map[string]outcomeMessage, len(ids))
	for _, batch := range batches(ids) {
		rows, err := tx.Query(ctx, `SELECT id, sender_id, recipient_count, audience IS NOT NULL FROM messages WHERE id IN (`+
			placeholders(1, len(batch))+`)`, anySlice(batch)...)
		if err != nil {
			return nil, fmt.Errorf("load messages of deliveries: %w", err)
		}
		_, err = collect(rows, func(r Row) (bool, error) {
			var id, sender string
			var count int
			var audience bool
			if err := r.Scan(&id, &sender, &count, &audience); err != nil {
				return false, err
			}
			out[strings.ToLower(id)] = outcomeMessage{sender: strings.ToLower(sender), coalesced: audience || count > CoalesceDeliveryEventsAbove}
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("load messages of deliveries: %w", err)
		}
	}
	return out, nil
}

// timelineStep is one delivery_events row to insert.
type timelineStep struct {
	tenant, delivery string
	status           whitecross.DeliveryStatus
	detail           string
}

// timelineRowsPerStatement bounds one multi-row INSERT of timeline events
// (five parameters a row).
const timelineRowsPerStatement = 200

// insertTimeline appends steps to their deliveries' timelines, all at at,
// in multi-row INSERTs.
func insertTimeline(ctx context.Context, tx *Tx, steps []timelineStep, at time.Time) error {
	for rest := steps; len(rest) > 0; {
		n := min(len(rest), timelineRowsPerStatement)
		var b strings.Builder
		b.WriteString(`INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES `)
		args := []any{at}
		for k, st := range rest[:n] {
			if k > 0 {
				b.WriteString(", ")
			}
			args = append(args, newID(), st.tenant, st.delivery, string(st.status), clipDetail(st.detail))
			p := len(args) - 4
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $1, $%d)", p, p+1, p+2, p+3, p+4)
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert delivery events: %w", err)
		}
		rest = rest[n:]
	}
	return nil
}
