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

// This file is the durable per-user event log behind the realtime gateway
// (package realtime, docs/realtime.md). Each event a user must not miss
// (message.created, delivery.updated, receipt.read) takes that user's next
// sequence number inside the transaction of the change that causes it, so
// the log and the data never disagree, even after a crash; a client that
// reconnects replays exactly the events after the last seq it saw.
//
// Rows hold ids and times only, never message content: the gateway loads
// (and decrypts) what it sends when it sends it.
//
// Sequence numbers come from one counter row per user (user_event_seqs).
// The row lock taken by the increment orders a user's events across
// concurrent transactions on PostgreSQL (SQLite has a single writer):
// event N of a user commits before N+1 becomes visible. To keep that lock
// order deadlock-free, a transaction appends all its events at once
// (flushEvents), in user-id order.

// Retention of the event log. A user's log keeps at least the newest
// EventsKeptPerUser events (pruned in the append path each time the user's
// seq passes a multiple of eventPruneStride, so it holds 1,000 to 1,100),
// and PruneEvents removes events older than EventsKeptFor. A client that
// resumes after an older seq is told to resync.
const (
	EventsKeptPerUser = 1000
	EventsKeptFor     = 7 * 24 * time.Hour
	eventPruneStride  = 100
	// MaxEventsPage is the most events ReadEvents returns at once.
	MaxEventsPage = 1000
	// prunePerStatement is how many old events PruneEvents deletes per
	// statement, so one run never holds a long transaction.
	prunePerStatement = 5000
)

// SetEventNotifier sets the function told of appended events; nil turns
// notification off (the log is still written, and clients catch up when
// they resume). It may be set or replaced while the store is in use (serve
// sets it once the gateway exists, after the job queue started): a change
// committing meanwhile tells the notifier set before or after, never half
// of one.
func (s *Store) SetEventNotifier(n whitecross.EventNotifier) {
	if n == nil {
		s.notifier.Store(nil)
		return
	}
	s.notifier.Store(&n)
}

// txEvents collects the events of one transaction. Changes add to it as they
// happen; flushEvents appends them all at the end of the transaction and
// notifyEvents hands them to the notifier after commit.
type txEvents struct {
	pending  []whitecross.Event
	appended []whitecross.Event
}

func (e *txEvents) add(ev whitecross.Event) { e.pending = append(e.pending, ev) }

// addMessageCreated adds message.created for each of users.
func (e *txEvents) addMessageCreated(tenantID, messageID string, users []string, at time.Time) {
	e.pending = slices.Grow(e.pending, len(users))
	for _, u := range users {
		e.add(whitecross.Event{TenantID: tenantID, UserID: u, Type: whitecross.EventMessageCreated, MessageID: messageID, At: at})
	}
}

// appendDeliveryEvents appends delivery.updated for the sender of each
// change (and of its fallback delivery, when one was created) inside tx.
// Call it once per transaction, after the delivery rows changed, and hand
// its result to notifyEvents after the commit.
func (s *Store) appendDeliveryEvents(ctx context.Context, tx *Tx, changes ...*whitecross.DeliveryChange) (*txEvents, error) {
	ev := &txEvents{}
	now := s.db.now()
	for _, c := range changes {
		if c == nil {
			continue
		}
		for _, d := range []*whitecross.Delivery{c.Delivery, c.Fallback} {
			if d == nil {
				continue
			}
			// A copy: the caller keeps the change, the notifier may hand
			// the event to other goroutines.
			committed := *d
			ev.add(whitecross.Event{TenantID: strings.ToLower(c.TenantID), UserID: strings.ToLower(c.SenderID), Type: whitecross.EventDeliveryUpdated,
				MessageID: strings.ToLower(c.MessageID), DeliveryID: strings.ToLower(d.ID), At: now, Delivery: &committed})
		}
	}
	if err := s.flushEvents(ctx, tx, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// notifyEvents tells the notifier of the events e appended; call it after
// the transaction committed. A nil e is fine.
func (s *Store) notifyEvents(ctx context.Context, e *txEvents) {
	n := s.notifier.Load()
	if n == nil || e == nil || len(e.appended) == 0 {
		return
	}
	(*n)(context.WithoutCancel(ctx), e.appended)
}

// flushEvents gives every pending event its user's next seq and inserts
// them, all in user-id order, then prunes logs that grew past their
// retention. Call it at most once per transaction (see the file comment).
func (s *Store) flushEvents(ctx context.Context, tx *Tx, e *txEvents) error {
	if e == nil || len(e.pending) == 0 {
		return nil
	}
	evs := e.pending
	e.pending = nil
	slices.SortStableFunc(evs, func(a, b whitecross.Event) int { return strings.Compare(a.UserID, b.UserID) })
	counts := make([]userCount, 0, len(evs))
	for _, ev := range evs {
		if n := len(counts); n > 0 && counts[n-1].user == ev.UserID {
			counts[n-1].n++
			continue
		}
		counts = append(counts, userCount{tenant: ev.TenantID, user: ev.UserID, n: 1})
	}
	last, err := allocateSeqs(ctx, tx, counts)
	if err != nil {
		return err
	}
	next := make(map[string]int64, len(counts))
	for _, c := range counts {
		next[c.user] = last[c.user] - c.n + 1
	}
	for i := range evs {
		evs[i].Seq = next[evs[i].UserID]
		next[evs[i].UserID]++
	}
	if err := insertEvents(ctx, tx, evs); err != nil {
		return err
	}
	if err := pruneLogs(ctx, tx, counts, last); err != nil {
		return err
	}
	e.appended = append(e.appended, evs...)
	return nil
}

// userCount is how many events one user gets in a flush.
type userCount struct {
	tenant, user string
	n            int64
}

// allocateSeqs advances each user's counter by its count, in user-id order,
// and returns every user's new last seq: one statement whatever the number
// of users, their rows bound as arrays (rowsTable).
func allocateSeqs(ctx context.Context, tx *Tx, counts []userCount) (map[string]int64, error) {
	var args queryArgs
	rows, err := tx.rowsTable(&args, []rowsCol{{"u", "UUID"}, {"t", "UUID"}, {"n", "BIGINT"}}, len(counts), func(r, c int) any {
		switch c {
		case 0:
			return counts[r].user
		case 1:
			return counts[r].tenant
		}
		return counts[r].n
	})
	if err != nil {
		return nil, fmt.Errorf("allocate event seqs: %w", err)
	}
	// "WHERE true" tells SQLite's parser that ON CONFLICT is the upsert's,
	// not a join constraint of the SELECT.
	res, err := tx.Query(ctx, `INSERT INTO user_event_seqs (user_id, tenant_id, last_seq) SELECT v.u, v.t, v.n FROM `+rows+`
		WHERE true ON CONFLICT (user_id) DO UPDATE SET last_seq = user_event_seqs.last_seq + excluded.last_seq
		RETURNING user_id, last_seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("allocate event seqs: %w", err)
	}
	defer res.Close()
	last := make(map[string]int64, len(counts))
	for res.Next() {
		var user string
		var seq int64
		if err := res.Scan(&user, &seq); err != nil {
			return nil, fmt.Errorf("allocate event seqs: %w", err)
		}
		last[strings.ToLower(user)] = seq
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("allocate event seqs: %w", err)
	}
	return last, nil
}

// eventShape is what events of one change share: a dispatch batch of 1,000
// recipients is one shape, inserted in one statement.
type eventShape struct {
	tenant, message, delivery, actor string
	typ                              whitecross.EventType
	at                               time.Time
}

// insertEvents inserts evs (seqs assigned), one statement per shape with
// the rows' users and seqs bound as arrays, keeping user-id order.
func insertEvents(ctx context.Context, tx *Tx, evs []whitecross.Event) error {
	var shapes []eventShape
	byShape := map[eventShape][]whitecross.Event{}
	for _, ev := range evs {
		k := eventShape{tenant: ev.TenantID, message: ev.MessageID, delivery: ev.DeliveryID, actor: ev.ActorID, typ: ev.Type, at: ev.At}
		if _, ok := byShape[k]; !ok {
			shapes = append(shapes, k)
		}
		byShape[k] = append(byShape[k], ev)
	}
	for _, k := range shapes {
		rest := byShape[k]
		args := queryArgs{k.tenant, string(k.typ), k.message, nullID(k.delivery), nullID(k.actor), k.at}
		rows, err := tx.rowsTable(&args, []rowsCol{{"u", "UUID"}, {"s", "BIGINT"}}, len(rest), func(r, c int) any {
			if c == 0 {
				return rest[r].UserID
			}
			return rest[r].Seq
		})
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_events (user_id, seq, tenant_id, type, message_id, delivery_id, actor_id, at)
			SELECT v.u, v.s, $1, $2, $3, $4, $5, $6 FROM `+rows, args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}
	return nil
}

// nullID is nil for "", so optional id columns hold NULL.
func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// pruneLogs deletes, for each user whose seq just passed a multiple of
// eventPruneStride, the events older than the newest EventsKeptPerUser.
func pruneLogs(ctx context.Context, tx *Tx, counts []userCount, last map[string]int64) error {
	var conds []string
	var args []any
	flush := func() error {
		if len(conds) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `DELETE FROM user_events WHERE `+strings.Join(conds, " OR "), args...)
		conds, args = conds[:0], args[:0]
		if err != nil {
			return fmt.Errorf("prune events: %w", err)
		}
		return nil
	}
	for _, c := range counts {
		l := last[c.user]
		if l <= EventsKeptPerUser || (l-c.n)/eventPruneStride == l/eventPruneStride {
			continue
		}
		args = append(args, c.user)
		conds = append(conds, "(user_id = $"+strconv.Itoa(len(args))+" AND seq <= "+strconv.FormatInt(l-EventsKeptPerUser, 10)+")")
		if len(conds) == 100 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ReadEvents returns up to limit (at most MaxEventsPage) events of the user
// with seq greater than after, in seq order. A first event whose seq is not
// after+1 means the ones between were pruned: the client must resync. It is
// a system operation for the realtime gateway: no caller in ctx. Malformed
// ids read as an empty log.
func (s *Store) ReadEvents(ctx context.Context, tenantID, userID string, after int64, limit int) ([]whitecross.Event, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	userID, ok2 := parseID(userID)
	if !ok1 || !ok2 {
		return nil, nil
	}
	limit = min(max(limit, 1), MaxEventsPage)
	rows, err := s.db.Reader().Query(ctx, `SELECT seq, type, message_id, delivery_id, actor_id, at FROM user_events
		WHERE user_id = $1 AND seq > $2 AND tenant_id = $3 ORDER BY seq LIMIT $4`, userID, after, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []whitecross.Event
	for rows.Next() {
		ev := whitecross.Event{TenantID: tenantID, UserID: userID}
		var typ string
		var delivery, actor *string
		if err := rows.Scan(&ev.Seq, &typ, &ev.MessageID, &delivery, &actor, &ev.At); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		ev.Type, ev.MessageID, ev.At = whitecross.EventType(typ), strings.ToLower(ev.MessageID), ev.At.UTC()
		if delivery != nil {
			ev.DeliveryID = strings.ToLower(*delivery)
		}
		if actor != nil {
			ev.ActorID = strings.ToLower(*actor)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// LastEventSeq returns the user's latest seq, 0 when the user has had no
// event (or the ids are malformed). A system operation, like ReadEvents.
func (s *Store) LastEventSeq(ctx context.Context, tenantID, userID string) (int64, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	userID, ok2 := parseID(userID)
	if !ok1 || !ok2 {
		return 0, nil
	}
	var seq int64
	err := s.db.Reader().QueryRow(ctx, `SELECT last_seq FROM user_event_seqs WHERE user_id = $1 AND tenant_id = $2`,
		userID, tenantID).Scan(&seq)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("last event seq: %w", err)
	}
	return seq, nil
}

// LastEventSeqs returns the latest seq of each of userIDs that has had an
// event (keyed by canonical id), for a gateway catching up after it lost its
// broker connection. A system operation, like ReadEvents.
func (s *Store) LastEventSeqs(ctx context.Context, userIDs []string) (map[string]int64, error) {
	ctx = AllTenants(ctx) // the users of a gateway may be of several districts
	canon := parseIDs(userIDs)
	out := make(map[string]int64, len(canon))
	for _, batch := range batches(canon) {
		rows, err := s.db.Reader().Query(ctx, `SELECT user_id, last_seq FROM user_event_seqs WHERE user_id IN (`+
			placeholders(1, len(batch))+`)`, anySlice(batch)...)
		if err != nil {
			return nil, fmt.Errorf("last event seqs: %w", err)
		}
		for rows.Next() {
			var id string
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("last event seqs: %w", err)
			}
			out[strings.ToLower(id)] = seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("last event seqs: %w", err)
		}
	}
	return out, nil
}

// PruneEvents deletes events older than EventsKeptFor, a bounded batch per
// statement, and returns how many it deleted. Schedule it periodically
// (hourly is plenty); it needs no caller in ctx.
func (s *Store) PruneEvents(ctx context.Context) (int64, error) {
	ctx = AllTenants(ctx) // prunes every district's events
	before := s.db.now().Add(-EventsKeptFor)
	var total int64
	for {
		var n int64
		err := s.db.InTx(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.Exec(ctx, `DELETE FROM user_events WHERE (user_id, seq) IN
				(SELECT user_id, seq FROM user_events WHERE at < $1 LIMIT $2)`, before, prunePerStatement)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < prunePerStatement {
			return total, nil
		}
	}
}
