package realtime

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
	"whitecross/wire"
)

// These tests look inside the fan-out: they hold connections without
// sockets (queued frames stay in the queue) so they can count what a
// message to many recipients costs — encodings, store calls, hand-offs —
// instead of timing it.

// countingStore counts every call of the gateway into the store.
type countingStore struct {
	Store
	calls atomic.Int64
	// gate, when set, holds EventMessage until it is closed.
	gate chan struct{}
}

func (s *countingStore) count() { s.calls.Add(1) }

func (s *countingStore) LastEventSeq(ctx context.Context, tenantID, userID string) (int64, error) {
	s.count()
	return s.Store.LastEventSeq(ctx, tenantID, userID)
}

func (s *countingStore) LastEventSeqs(ctx context.Context, userIDs []string) (map[string]int64, error) {
	s.count()
	return s.Store.LastEventSeqs(ctx, userIDs)
}

func (s *countingStore) ReadEvents(ctx context.Context, tenantID, userID string, after int64, limit int) ([]whitecross.Event, error) {
	s.count()
	return s.Store.ReadEvents(ctx, tenantID, userID, after, limit)
}

func (s *countingStore) EventMessage(ctx context.Context, tenantID, messageID string, forSender bool) (*whitecross.Message, error) {
	s.count()
	if s.gate != nil {
		<-s.gate
	}
	return s.Store.EventMessage(ctx, tenantID, messageID, forSender)
}

func (s *countingStore) EventDelivery(ctx context.Context, tenantID, deliveryID string) (*whitecross.Delivery, error) {
	s.count()
	return s.Store.EventDelivery(ctx, tenantID, deliveryID)
}

func (s *countingStore) Messagers(ctx context.Context, tenantID, userID string, candidates []string) ([]string, error) {
	s.count()
	return s.Store.Messagers(ctx, tenantID, userID, candidates)
}

func (s *countingStore) FilterMessageable(ctx context.Context, ids []string) (map[string]bool, error) {
	s.count()
	return s.Store.FilterMessageable(ctx, ids)
}

func (s *countingStore) ThreadAudience(ctx context.Context, threadID string) ([]string, error) {
	s.count()
	return s.Store.ThreadAudience(ctx, threadID)
}

func (s *countingStore) SetRead(ctx context.Context, id string, read bool) error {
	s.count()
	return s.Store.SetRead(ctx, id, read)
}

func (s *countingStore) SessionActors(ctx context.Context, sessionIDs []string) (map[string]*whitecross.Actor, error) {
	s.count()
	return s.Store.SessionActors(ctx, sessionIDs)
}

// fanoutBundle is a district with n extra staff, each held connected to a
// gateway over a counting store.
type fanoutBundle struct {
	st    *store.Store
	d     *storetest.District
	cs    *countingStore
	g     *Gateway
	conns map[string]*conn // by user id
	ids   []string
	// auditCalls counts the gateway's calls to record live reads.
	auditCalls atomic.Int64
}

func setupFanout(t testing.TB, db *store.DB, n int) *fanoutBundle {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := vault.New(key)
	require.NoError(t, err)
	st := store.New(db, storetest.InsecureHasher(), v)
	b := &fanoutBundle{st: st, d: storetest.SeedDistrict(t, st), conns: map[string]*conn{}}
	b.ids = storetest.BulkStaff(t, db, b.d.Tenant.ID, b.d.Lincoln.ID, n)
	b.cs = &countingStore{Store: st}
	b.g = New(Config{Store: b.cs, DisablePresence: true, AuditReads: func(ctx context.Context, reads []whitecross.LiveRead) error {
		b.auditCalls.Add(1)
		return st.AuditLiveReads(ctx, reads)
	}})
	for _, id := range b.ids {
		c := &conn{g: b.g, id: b.g.nextID.Add(1), actor: &whitecross.Actor{TenantID: b.d.Tenant.ID, UserID: id, Role: whitecross.RoleStaff},
			mode: modeLive, ready: true,
			flushing: true} // no writer: frames stay queued for the test to read
		b.g.hub.add(c)
		b.conns[id] = c
	}
	return b
}

// send sends one message from the district's ADMIN to every held user;
// the store's notifications reach the gateway in chunks of batch events,
// as dispatch batches do.
func (b *fanoutBundle) send(t *testing.T, batch int) *whitecross.Message {
	t.Helper()
	m, err := b.sendErr(batch)
	require.NoError(t, err)
	return m
}

func (b *fanoutBundle) sendErr(batch int) (*whitecross.Message, error) {
	b.st.SetEventNotifier(func(ctx context.Context, evs []whitecross.Event) {
		for chunk := range slices.Chunk(evs, batch) {
			b.g.Notify(ctx, chunk)
		}
	})
	return b.st.SendMessage(b.d.As(b.d.Admin), &whitecross.MessageCreate{Subject: "Closure", Body: "School closes at noon.", RecipientIDs: b.ids})
}

// waitIdle waits until the fan-out has handled everything queued.
func (b *fanoutBundle) waitIdle(t *testing.T) {
	t.Helper()
	require.Eventually(t, b.g.fanout.idle, 15*time.Second, time.Millisecond)
}

// queued returns the frames queued for user id.
func (b *fanoutBundle) queued(id string) [][]byte {
	c := b.conns[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, f := range c.queue {
		out = append(out, f.b)
	}
	return out
}

// TestFanOutEncodesOnceReadsOnce: a message to 500 connected recipients,
// notified in five batches, is read from the store once and encoded once;
// every recipient gets the REST shape with its own seq and id, and the
// per-recipient state of a message just arrived (read, archived, acked)
// empty. Frames reach connections a hub shard at a time, so the hand-offs
// are bounded by the shards, not by the recipients.
func TestFanOutEncodesOnceReadsOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		const recipients, batch = 500, 100
		b := setupFanout(t, db, recipients)
		m := b.send(t, batch)
		b.waitIdle(t)

		require.EqualValues(t, 1, b.cs.calls.Load(), "one store call for the whole fan-out: the message's content")
		require.EqualValues(t, 1, b.g.content.encodes.Load(), "the message is encoded once for every recipient")
		batches := (recipients + 1 + batch - 1) / batch // the sender's own event is notified too
		require.LessOrEqual(t, b.g.fanout.handoffs.Load(), uint64(batches*hubShards), "hand-offs per shard, not per recipient")

		for _, id := range b.ids {
			frames := b.queued(id)
			require.Len(t, frames, 1, "user %s", id)
			var f struct {
				Type string       `json:"type"`
				Seq  int64        `json:"seq"`
				Data wire.Message `json:"data"`
			}
			require.NoError(t, json.Unmarshal(frames[0], &f))
			require.Equal(t, frameMessageCreated, f.Type)
			require.EqualValues(t, 1, f.Seq)
			require.Equal(t, m.ID, f.Data.ID)
			require.Equal(t, []string{id}, f.Data.RecipientIDs, "a recipient sees only its own id")
			require.Nil(t, f.Data.ReadAt)
			require.Nil(t, f.Data.ArchivedAt)
			require.Nil(t, f.Data.AckedAt)
			require.Equal(t, "Closure", f.Data.Subject)
		}
	})
}

// TestFanOutAuditsLiveReadsTogether: the frames of a message to 500
// connected recipients are audited as one message.read per recipient
// (via live), all recorded by one call when the gateway flushes, not one
// write per frame.
func TestFanOutAuditsLiveReadsTogether(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		const recipients = 500
		b := setupFanout(t, db, recipients)
		m := b.send(t, 100)
		b.waitIdle(t)
		ctx := context.Background()
		before, err := b.st.AuditEvents(ctx, b.d.Tenant.ID, 0, 100_000)
		require.NoError(t, err)
		b.g.flushReads(ctx)
		require.EqualValues(t, 1, b.auditCalls.Load())
		events, err := b.st.AuditEvents(ctx, b.d.Tenant.ID, int64(len(before)), 100_000)
		require.NoError(t, err)
		readers := map[string]bool{}
		for _, e := range events {
			require.Equal(t, whitecross.AuditMessageRead, e.Action)
			require.Equal(t, "live", e.Detail["via"])
			require.Equal(t, m.ID, e.Detail["message_ids"])
			readers[e.ActorID] = true
		}
		require.Len(t, readers, recipients, "one event per recipient")
		require.Len(t, events, recipients)
		b.g.flushReads(ctx)
		require.EqualValues(t, 1, b.auditCalls.Load(), "nothing new: no call")
	})
}

// TestFanOutHandOffsDoNotGrowWithRecipients: twice the recipients, the
// same bound on hand-offs (one per hub shard per notification).
func TestFanOutHandOffsDoNotGrowWithRecipients(t *testing.T) {
	t.Parallel()
	b := setupFanout(t, storetest.Open(t, store.SQLite), 1000)
	b.send(t, 2000) // one notification, as one dispatch batch
	b.waitIdle(t)
	require.LessOrEqual(t, b.g.fanout.handoffs.Load(), uint64(hubShards))
	require.EqualValues(t, 1, b.g.content.encodes.Load())
}

// TestNotifyDoesNotWaitForTheFanOut: the commit that notifies goes on
// while the fan-out still waits for the message's content; the frames
// follow once it is read.
func TestNotifyDoesNotWaitForTheFanOut(t *testing.T) {
	t.Parallel()
	b := setupFanout(t, storetest.Open(t, store.SQLite), 20)
	b.cs.gate = make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		_, err := b.sendErr(1000)
		sent <- err
	}()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the send waited for the fan-out")
	}
	require.False(t, b.g.fanout.idle(), "the fan-out is still waiting for the content")
	close(b.cs.gate)
	b.waitIdle(t)
	for _, id := range b.ids {
		require.Len(t, b.queued(id), 1)
	}
}

// BenchmarkFanOut10k measures the gateway's own work for one message to
// 10,000 connected recipients, notified as ten dispatch batches: finding
// the connections, building the frames and queueing them (the sockets'
// writes are left out: the connections have no writer).
func BenchmarkFanOut10k(b *testing.B) {
	const recipients, batch = 10_000, 1000
	fb := setupFanout(b, storetest.Open(b, store.SQLite), recipients)
	var evs []whitecross.Event
	fb.st.SetEventNotifier(func(_ context.Context, e []whitecross.Event) { evs = append(evs, e...) })
	_, err := fb.st.SendMessage(fb.d.As(fb.d.Admin), &whitecross.MessageCreate{Subject: "Closure", Body: "School closes at noon.", RecipientIDs: fb.ids})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, c := range fb.conns {
			c.queue, c.lastSeq = c.queue[:0], 0
		}
		for chunk := range slices.Chunk(evs, batch) {
			fb.g.deliverEvents(chunk)
		}
		fb.g.reads.take() // the audit's write is BenchmarkLiveReadAudit10k's
	}
}

// BenchmarkLiveReadAudit10k measures recording the live reads of one
// message to 10,000 connected recipients: one flush, one message.read per
// recipient, written by the read group commit (a few transactions, not
// 10,000). Reported per flush; linking into the chain is left to the
// linker (here: at once, inside the measured time, as without one).
func BenchmarkLiveReadAudit10k(b *testing.B) {
	const recipients = 10_000
	fb := setupFanout(b, storetest.Open(b, store.SQLite), recipients)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, id := range fb.ids {
			fb.g.reads.note(fb.conns[id].actor, id)
		}
		b.StartTimer()
		fb.g.flushReads(ctx)
	}
}
