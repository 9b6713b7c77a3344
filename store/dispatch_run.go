package store

// The pipeline's SQL lives here and in deliveries_*.go rather than in
// delivery/: the store owns the database, so fan-out (a message into inbox
// rows and deliveries) and channel fallback are store transactions, and
// delivery/ decides when to run them (its jobs call DispatchMessage,
// RecordDeliveryOutcome and ApplyProviderStatus).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

// ErrNotDue is returned (wrapped, with the due time) by DispatchMessage for
// a job that runs more than dispatchEarlyTolerance before its message's
// scheduled_at: the queue should retry it later. It only happens when the
// queue's clock and the store's disagree.
var ErrNotDue = errors.New("dispatch: message is not due yet")

// dispatchEarlyTolerance absorbs small clock differences between the queue
// that runs a job at RunAt and the store's clock.
const dispatchEarlyTolerance = time.Second

// DispatchMessage runs the next step of a message's dispatch, one batch of
// up to DispatchBatchSize recipients in one transaction, and reports whether
// the message is fully dispatched (done: the job is finished; otherwise call
// again).
//
// Each recipient gets delivered_at and an inbox_key (UUIDv7, taken in
// user-id order so arrival order is stable) and one delivery per channel:
// IN_APP DELIVERED at once, every other channel PENDING for the delivery
// workers, each with a first timeline event. Every recipient's in-app part
// comes first, the other channels' deliveries in the following steps
// (dispatchPhases). When nothing is left the message becomes SENT (sent_at
// now).
//
// It does nothing and reports done for a job whose message is gone,
// CANCELED, already SENT, or SCHEDULED at a time other than job.ScheduledAt
// (it was rescheduled: a newer job exists). A SCHEDULED job that matches
// and is due turns the message SENDING; one that runs early returns
// ErrNotDue. It is safe to call again after a crash at any point: a batch
// commits whole or not at all, and deliveries are unique per message,
// recipient, channel and round. Concurrent calls for one message serialize
// on the message row. It needs no caller in ctx. The batch that makes the
// message SENT also schedules its first escalation round, if it has one
// (scheduleEscalation).
func (s *Store) DispatchMessage(ctx context.Context, job DispatchJob) (done bool, err error) {
	ctx = inTenant(ctx, job.TenantID)
	ev := &txEvents{}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if done, err = s.dispatchBatch(ctx, tx, job, ev); err != nil {
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

// dispatchBatch is one step of DispatchMessage inside tx; SendMessage and
// Reply call it in their own transaction to dispatch small messages inline.
// The recipients' message.created events are added to ev, which the caller
// flushes before commit.
func (s *Store) dispatchBatch(ctx context.Context, tx *Tx, job DispatchJob, ev *txEvents) (bool, error) {
	tenantID, ok1 := parseID(job.TenantID)
	messageID, ok2 := parseID(job.MessageID)
	if !ok1 || !ok2 {
		return true, nil
	}
	now := s.db.now()
	// The no-op UPDATE locks the message row (PostgreSQL), so concurrent
	// dispatches of one message, and Cancel or Reschedule, take turns; the
	// RETURNING values are the latest committed ones.
	var (
		status             string
		scheduledAt        *time.Time
		chans              string
		category, priority string
		audiencePending    bool
	)
	err := tx.QueryRow(ctx, `UPDATE messages SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2
		RETURNING status, scheduled_at, channels, category, priority, audience IS NOT NULL AND audience_resolved_at IS NULL`,
		tenantID, messageID).Scan(&status, &scheduledAt, &chans, &category, &priority, &audiencePending)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("dispatch: lock message: %w", err)
	}
	switch whitecross.MessageStatus(status) {
	case whitecross.MessageCanceled, whitecross.MessageSent:
		return true, nil
	case whitecross.MessageScheduled:
		if scheduledAt == nil || job.ScheduledAt == nil ||
			!scheduledAt.Equal(job.ScheduledAt.UTC().Truncate(time.Microsecond)) {
			return true, nil // rescheduled: the job of the new time dispatches it
		}
		if scheduledAt.After(now.Add(dispatchEarlyTolerance)) {
			return false, fmt.Errorf("%w (due at %s)", ErrNotDue, scheduledAt.UTC().Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET status = 'SENDING', updated_at = $3
			WHERE tenant_id = $1 AND id = $2 AND status = 'SCHEDULED'`, tenantID, messageID, now); err != nil {
			return false, fmt.Errorf("dispatch: start sending: %w", err)
		}
	}
	if audiencePending {
		// A broadcast's audience is resolved first, a batch per step, so
		// that it is complete before anyone's inbox is filled.
		resolved, err := s.resolveAudienceBatch(ctx, tx, tenantID, messageID, now)
		if err != nil || !resolved {
			return false, err
		}
	}
	urgent := (&whitecross.Message{Category: whitecross.Category(category), Priority: whitecross.Priority(priority)}).Urgent()
	inApp, external := splitInApp(splitChannels(chans))
	if done, err := s.dispatchPhases(ctx, tx, tenantID, messageID, inApp, external, urgent, now, ev); err != nil || !done {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET status = 'SENT', sent_at = $3, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 AND status = 'SENDING'`, tenantID, messageID, now); err != nil {
		return false, fmt.Errorf("dispatch: mark sent: %w", err)
	}
	if err := s.scheduleEscalation(ctx, tx, tenantID, messageID, now, urgent); err != nil {
		return false, err
	}
	return true, nil
}

// dispatchPhases runs the next step of a message's two phases and reports
// whether both are complete. First every recipient's in-app part, a batch
// per step: the inbox entry, the IN_APP delivery and the message.created
// event, so the realtime frames of a large broadcast never wait behind its
// other channels. Then the other channels' deliveries (PENDING rows, first
// events, deliver jobs), a batch per step, for the recipients that lack
// them. A message whose external phase fits in one batch right after its
// last in-app batch (up to DispatchBatchSize recipients) does both in one
// step, as the inline dispatch of a small send needs. Each step commits
// whole, and each phase looks for what is missing, so a crash at any point
// resumes where it stopped.
func (s *Store) dispatchPhases(ctx context.Context, tx *Tx, tenantID, messageID string, inApp, external []whitecross.Channel, urgent bool, now time.Time, ev *txEvents) (bool, error) {
	users, err := undelivered(ctx, tx, messageID)
	if err != nil {
		return false, err
	}
	if len(users) > DispatchBatchSize {
		return false, s.deliverBatch(ctx, tx, tenantID, messageID, inApp, users[:DispatchBatchSize], urgent, now, ev)
	}
	if err := s.deliverBatch(ctx, tx, tenantID, messageID, inApp, users, urgent, now, ev); err != nil {
		return false, err
	}
	if len(external) == 0 {
		return true, nil
	}
	lacking, err := lackingDeliveries(ctx, tx, messageID, external[0])
	if err != nil {
		return false, err
	}
	if len(users) > 0 && len(lacking) > DispatchBatchSize {
		return false, nil // a large message: its external phase starts at the next step
	}
	last := len(lacking) <= DispatchBatchSize
	if !last {
		lacking = lacking[:DispatchBatchSize]
	}
	return last, s.externalBatch(ctx, tx, tenantID, messageID, external, lacking, urgent, now)
}

// splitInApp separates IN_APP from a message's other channels.
func splitInApp(chans []whitecross.Channel) (inApp, external []whitecross.Channel) {
	for _, c := range chans {
		if c == whitecross.ChannelInApp {
			inApp = append(inApp, c)
		} else {
			external = append(external, c)
		}
	}
	return inApp, external
}

// lackingDeliveries returns up to DispatchBatchSize+1 recipients of the
// message, in user-id order, without a first-round delivery on channel. The
// external phase runs after the in-app one, in user-id order, and inserts
// every external channel of a recipient together, so those lacking them are
// the recipients after the last one with a delivery on channel: an index
// range, where an anti-join (NOT EXISTS) took PostgreSQL seconds per batch.
func lackingDeliveries(ctx context.Context, tx *Tx, messageID string, channel whitecross.Channel) ([]string, error) {
	after := firstUserID
	var last string
	err := tx.QueryRow(ctx, `SELECT recipient_id FROM deliveries WHERE message_id = $1 AND channel = $2 AND round = 0
		ORDER BY recipient_id DESC LIMIT 1`, messageID, string(channel)).Scan(&last)
	switch {
	case err == nil:
		after = strings.ToLower(last)
	case whitecross.ErrorCode(err) != whitecross.ENOTFOUND:
		return nil, fmt.Errorf("dispatch: recipients lacking deliveries: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT user_id FROM message_recipients WHERE message_id = $1 AND user_id > $2
		ORDER BY user_id LIMIT $3`, messageID, after, DispatchBatchSize+1)
	if err != nil {
		return nil, fmt.Errorf("dispatch: recipients lacking deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("dispatch: recipients lacking deliveries: %w", err)
		}
		out = append(out, strings.ToLower(id))
	}
	return out, rows.Err()
}

// undelivered returns up to DispatchBatchSize+1 recipients of the message
// not yet in their inbox, in user-id order (one more than a batch, to tell
// whether this batch is the last).
func undelivered(ctx context.Context, tx *Tx, messageID string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT user_id FROM message_recipients WHERE message_id = $1 AND delivered_at IS NULL
		ORDER BY user_id LIMIT $2`, messageID, DispatchBatchSize+1)
	if err != nil {
		return nil, fmt.Errorf("dispatch: undelivered recipients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("dispatch: undelivered recipients: %w", err)
		}
		out = append(out, strings.ToLower(id))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dispatch: undelivered recipients: %w", err)
	}
	return out, nil
}

// deliverBatch puts users into their inboxes and creates their deliveries
// on chans (dispatchPhases passes IN_APP alone) with their first delivery
// events (externalBatch). Each user gets a message.created realtime event in
// ev. Each table is one statement whatever the number of users, its rows
// bound as arrays (rowsTable).
func (s *Store) deliverBatch(ctx context.Context, tx *Tx, tenantID, messageID string, chans []whitecross.Channel, users []string, urgent bool, now time.Time, ev *txEvents) error {
	if len(users) == 0 {
		return nil
	}
	ev.addMessageCreated(tenantID, messageID, users, now)
	if err := fillInboxes(ctx, tx, tenantID, messageID, users, now); err != nil {
		return err
	}
	return s.externalBatch(ctx, tx, tenantID, messageID, chans, users, urgent, now)
}

// externalBatch creates the deliveries of users on chans, their first
// delivery events and the deliver jobs of those left PENDING.
func (s *Store) externalBatch(ctx context.Context, tx *Tx, tenantID, messageID string, chans []whitecross.Channel, users []string, urgent bool, now time.Time) error {
	if len(users) == 0 || len(chans) == 0 {
		return nil
	}
	ids, statuses, err := insertDeliveries(ctx, tx, tenantID, messageID, chans, users, now)
	if err != nil {
		return err
	}
	if err := insertDeliveryEvents(ctx, tx, tenantID, ids, statuses, now); err != nil {
		return err
	}
	return s.enqueuePending(ctx, tx, tenantID, ids, statuses, urgent)
}

// fillInboxes gives each of users delivered_at and an inbox_key (UUIDv7s
// made here in user-id order, so arrival order is stable). Every row
// exists, so the upsert only updates, and never a row already delivered.
func fillInboxes(ctx context.Context, tx *Tx, tenantID, messageID string, users []string, now time.Time) error {
	keys := make([]string, len(users))
	for i := range keys {
		keys[i] = newID()
	}
	args := queryArgs{tenantID, messageID, now}
	rows, err := tx.rowsTable(&args, []rowsCol{{"u", "UUID"}, {"k", "UUID"}}, len(users), func(r, c int) any {
		if c == 0 {
			return users[r]
		}
		return keys[r]
	})
	if err == nil {
		// An upsert, not UPDATE … FROM: SQLite plans the latter as a scan
		// of the message's recipients joined to the bound rows, the upsert
		// as one primary-key probe per bound row.
		_, err = tx.Exec(ctx, `INSERT INTO message_recipients (tenant_id, message_id, user_id, inbox_key, delivered_at)
			SELECT $1, $2, v.u, v.k, $3 FROM `+rows+`
			WHERE true ON CONFLICT (message_id, user_id) DO UPDATE SET inbox_key = excluded.inbox_key,
			delivered_at = excluded.delivered_at WHERE message_recipients.delivered_at IS NULL`, args...)
	}
	if err != nil {
		return fmt.Errorf("dispatch: fill inboxes: %w", err)
	}
	return nil
}

// insertDeliveries creates one delivery per user and channel (IN_APP
// DELIVERED at once, the others PENDING) and returns the ids and statuses of
// those inserted: deliveries are unique per message, recipient, channel and
// round, and one that already exists is kept as it is.
func insertDeliveries(ctx context.Context, tx *Tx, tenantID, messageID string, chans []whitecross.Channel, users []string, now time.Time) (ids, statuses []string, err error) {
	n := len(users) * len(chans)
	dids := make([]string, n)
	for i := range dids {
		dids[i] = newID()
	}
	args := queryArgs{tenantID, messageID, now}
	rows, err := tx.rowsTable(&args, []rowsCol{{"id", "UUID"}, {"u", "UUID"}, {"c", "TEXT"}}, n, func(r, c int) any {
		switch c {
		case 0:
			return dids[r]
		case 1:
			return users[r/len(chans)]
		}
		return string(chans[r%len(chans)])
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dispatch: insert deliveries: %w", err)
	}
	// Channel and status are validated enum constants, safe to inline.
	inApp := "v.c = '" + string(whitecross.ChannelInApp) + "'"
	res, err := tx.Query(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, recipient_id, channel, status, queued_at, delivered_at, updated_at)
		SELECT v.id, $1, $2, v.u, v.c, CASE WHEN `+inApp+` THEN '`+string(whitecross.DeliveryDelivered)+`' ELSE '`+string(whitecross.DeliveryPending)+`' END,
		$3, CASE WHEN `+inApp+` THEN `+tx.timeParam("$3")+` END, $3 FROM `+rows+`
		WHERE true ON CONFLICT (message_id, recipient_id, channel, round) DO NOTHING RETURNING id, status`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("dispatch: insert deliveries: %w", err)
	}
	defer res.Close()
	ids, statuses = make([]string, 0, n), make([]string, 0, n)
	for res.Next() {
		var id, st string
		if err := res.Scan(&id, &st); err != nil {
			return nil, nil, fmt.Errorf("dispatch: insert deliveries: %w", err)
		}
		ids, statuses = append(ids, strings.ToLower(id)), append(statuses, st)
	}
	if err := res.Err(); err != nil {
		return nil, nil, fmt.Errorf("dispatch: insert deliveries: %w", err)
	}
	return ids, statuses, nil
}

// insertDeliveryEvents records the first timeline event of each delivery
// that was inserted (a delivery that already existed keeps its timeline).
func insertDeliveryEvents(ctx context.Context, tx *Tx, tenantID string, ids, statuses []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	eids := make([]string, len(ids))
	for i := range eids {
		eids[i] = newID()
	}
	args := queryArgs{tenantID, now}
	rows, err := tx.rowsTable(&args, []rowsCol{{"id", "UUID"}, {"d", "UUID"}, {"s", "TEXT"}}, len(ids), func(r, c int) any {
		switch c {
		case 0:
			return eids[r]
		case 1:
			return ids[r]
		}
		return statuses[r]
	})
	if err == nil {
		_, err = tx.Exec(ctx, `INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at)
			SELECT v.id, $1, v.d, v.s, $2 FROM `+rows, args...)
	}
	if err != nil {
		return fmt.Errorf("dispatch: insert delivery events: %w", err)
	}
	return nil
}

// enqueuePending queues a deliver job for each delivery whose status is
// PENDING. Without a queue (tests of the store alone) they stay PENDING.
func (s *Store) enqueuePending(ctx context.Context, tx *Tx, tenantID string, ids, statuses []string, urgent bool) error {
	if s.queue == nil {
		return nil
	}
	var jobs []DeliverJob
	for i, id := range ids {
		if whitecross.DeliveryStatus(statuses[i]) == whitecross.DeliveryPending {
			jobs = append(jobs, DeliverJob{TenantID: tenantID, DeliveryID: strings.ToLower(id), Urgent: urgent})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := s.queue.EnqueueDeliveries(ctx, tx, jobs); err != nil {
		return fmt.Errorf("dispatch: enqueue deliveries: %w", err)
	}
	return nil
}
