package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseEvents is the conformance suite of the realtime event log: the
// durable events each change appends for its users, their per-user
// sequence numbers, notification after commit, retention by age, and what
// the gateway reads to send events (message content, deliveries, typing and
// presence audiences).
func exerciseEvents(t *testing.T, open Opener) {
	tests := []subtest{
		{"MessageCreatedInline", testEventsMessageCreated},
		{"MessageCreatedQueued", testEventsQueued},
		{"Replies", testEventsReplies},
		{"ReceiptOnFirstRead", testEventsReceipts},
		{"PruneByAge", testEventsPruneByAge},
		{"EventContent", testEventsContent},
		{"ThreadAudience", testEventsThreadAudience},
		{"MessagersMirrorReach", testEventsMessagers},
	}
	runSubtests(t, open, tests)
}

// eventRecorder is a whitecross.EventNotifier that keeps every notified event
// and, for each call, whether the events were already readable (committed).
type eventRecorder struct {
	st        *store.Store
	mu        sync.Mutex
	events    []whitecross.Event
	calls     int
	committed bool
}

func recordEvents(st *store.Store) *eventRecorder {
	r := &eventRecorder{st: st, committed: true}
	st.SetEventNotifier(func(ctx context.Context, evs []whitecross.Event) {
		// The notifier runs after commit: another connection sees the events.
		last := evs[len(evs)-1]
		got, err := st.ReadEvents(ctx, last.TenantID, last.UserID, last.Seq-1, 1)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		r.committed = r.committed && err == nil && len(got) == 1 && got[0].Seq == last.Seq
		r.events = append(r.events, evs...)
	})
	return r
}

// take returns and forgets the events notified so far.
func (r *eventRecorder) take(t *testing.T) []whitecross.Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.True(t, r.committed, "events are notified only after commit")
	out := r.events
	r.events = nil
	return out
}

// eventKey is what tests compare of an event: its seq, type and ids.
type eventKey struct {
	User, Type, Message, Delivery, Actor string
	Seq                                  int64
}

func keysOf(evs []whitecross.Event) []eventKey {
	out := make([]eventKey, len(evs))
	for i, e := range evs {
		out[i] = eventKey{User: e.UserID, Type: string(e.Type), Message: e.MessageID, Delivery: e.DeliveryID, Actor: e.ActorID, Seq: e.Seq}
	}
	return out
}

// logOf returns every retained event of u, in seq order.
func logOf(t *testing.T, b *sendBundle, u *whitecross.User) []whitecross.Event {
	t.Helper()
	evs, err := b.st.ReadEvents(context.Background(), b.d.Tenant.ID, u.ID, 0, store.MaxEventsPage)
	require.NoError(t, err)
	return evs
}

func created(u *whitecross.User, m *whitecross.Message, seq int64) eventKey {
	return eventKey{User: u.ID, Type: string(whitecross.EventMessageCreated), Message: m.ID, Seq: seq}
}

func testEventsMessageCreated(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	rec := recordEvents(b.st)
	d := b.d
	first := b.send(t, d.LincolnNurse, msg("Vision screening", d.LincolnStaff, d.LincolnParent))
	second := b.send(t, d.LincolnNurse, msg("Hearing screening", d.LincolnStaff))

	// Every recipient and the sender (for their other tabs) get each
	// message, numbered 1, 2, ... per user, in the transaction of the send.
	require.Equal(t, []eventKey{created(d.LincolnStaff, first, 1), created(d.LincolnStaff, second, 2)}, keysOf(logOf(t, b, d.LincolnStaff)))
	require.Equal(t, []eventKey{created(d.LincolnParent, first, 1)}, keysOf(logOf(t, b, d.LincolnParent)))
	require.Equal(t, []eventKey{created(d.LincolnNurse, first, 1), created(d.LincolnNurse, second, 2)}, keysOf(logOf(t, b, d.LincolnNurse)))
	for _, e := range logOf(t, b, d.LincolnStaff) {
		require.Equal(t, d.Tenant.ID, e.TenantID)
		require.Equal(t, b.clock.Now().UTC(), e.At)
	}
	last, err := b.st.LastEventSeq(context.Background(), d.Tenant.ID, d.LincolnStaff.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, last)
	last, err = b.st.LastEventSeq(context.Background(), d.Tenant.ID, d.WashingtonNurse.ID)
	require.NoError(t, err)
	require.Zero(t, last, "a user without events is at 0")
	seqs, err := b.st.LastEventSeqs(context.Background(), to(d.LincolnStaff, d.LincolnParent, d.WashingtonNurse))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{d.LincolnStaff.ID: 2, d.LincolnParent.ID: 1}, seqs)

	// The notifier heard the same events, grouped by send, in user order.
	notified := rec.take(t)
	require.Len(t, notified, 5)
	require.ElementsMatch(t, []eventKey{created(d.LincolnStaff, first, 1), created(d.LincolnParent, first, 1), created(d.LincolnNurse, first, 1)},
		keysOf(notified[:3]))
	require.True(t, slices.IsSortedFunc(notified[:3], func(a, b whitecross.Event) int { return strings.Compare(a.UserID, b.UserID) }))

	// A refused send appends and notifies nothing.
	_, err = b.st.SendMessage(d.As(d.LincolnNurse), msg("Not allowed", d.WashingtonNurse))
	require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err))
	require.Empty(t, rec.take(t))
	require.Len(t, logOf(t, b, d.LincolnNurse), 2)

	// Another tenant's id reads nothing.
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	evs, err := b.st.ReadEvents(context.Background(), other.Tenant.ID, d.LincolnStaff.ID, 0, 10)
	require.NoError(t, err)
	require.Empty(t, evs)
}

func testEventsQueued(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	rec := recordEvents(b.st)
	d := b.d
	staff := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, store.DispatchBatchSize+200)
	m := b.send(t, d.DistrictNurse, &whitecross.MessageCreate{Subject: "Flu clinic", Body: "Friday.", RecipientIDs: staff})

	// Accepting the send tells the sender's tabs; recipients get theirs as
	// each dispatch batch commits.
	require.Equal(t, []eventKey{created(d.DistrictNurse, m, 1)}, keysOf(rec.take(t)))
	jobs := b.queue.take()
	require.Len(t, jobs, 1)
	done, err := b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	require.False(t, done)
	firstBatch := rec.take(t)
	require.Len(t, firstBatch, store.DispatchBatchSize)
	done, err = b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	secondBatch := rec.take(t)
	require.Len(t, secondBatch, 200)

	got := map[string]int64{}
	for _, e := range append(firstBatch, secondBatch...) {
		require.Equal(t, whitecross.EventMessageCreated, e.Type)
		require.Equal(t, m.ID, e.MessageID)
		got[e.UserID] = e.Seq
	}
	want := map[string]int64{}
	for _, id := range staff {
		want[id] = 1
	}
	require.Equal(t, want, got, "every recipient exactly once, as their first event")
	seqs, err := b.st.LastEventSeqs(context.Background(), staff)
	require.NoError(t, err)
	require.Equal(t, want, seqs)

	// A dispatch that has nothing left to do appends nothing.
	done, err = b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	require.Empty(t, rec.take(t))
}

func testEventsReplies(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	rec := recordEvents(b.st)
	d := b.d
	orig := b.send(t, d.LincolnNurse, msg("Medication form", d.LincolnParent))
	rec.take(t)
	reply, err := b.st.Reply(d.As(d.LincolnParent), orig.ID, &whitecross.ReplyCreate{Body: "Signed, thanks."})
	require.NoError(t, err)
	// Replying reads the original: its sender gets the receipt first.
	read := eventKey{User: d.LincolnNurse.ID, Type: string(whitecross.EventReceiptRead), Message: orig.ID, Actor: d.LincolnParent.ID, Seq: 2}
	require.ElementsMatch(t, []eventKey{read, created(d.LincolnNurse, reply, 3), created(d.LincolnParent, reply, 2)}, keysOf(rec.take(t)))

	// A replayed Idempotency-Key creates nothing new and notifies nothing.
	in := &whitecross.ReplyCreate{Body: "Once.", IdempotencyKey: "k1", RequestHash: []byte("h1")}
	again, err := b.st.Reply(d.As(d.LincolnParent), orig.ID, in)
	require.NoError(t, err)
	require.Len(t, rec.take(t), 2)
	replayed, err := b.st.Reply(d.As(d.LincolnParent), orig.ID, in)
	require.NoError(t, err)
	require.Equal(t, again.ID, replayed.ID)
	require.Empty(t, rec.take(t))
	require.Len(t, logOf(t, b, d.LincolnNurse), 4)
}

func testEventsReceipts(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	rec := recordEvents(b.st)
	d := b.d
	m := b.send(t, d.LincolnNurse, msg("Allergy plan", d.LincolnStaff, d.LincolnParent))
	rec.take(t)
	receipt := func(reader *whitecross.User, seq int64) eventKey {
		return eventKey{User: d.LincolnNurse.ID, Type: string(whitecross.EventReceiptRead), Message: m.ID, Actor: reader.ID, Seq: seq}
	}

	require.NoError(t, b.st.SetRead(d.As(d.LincolnStaff), m.ID, true))
	require.Equal(t, []eventKey{receipt(d.LincolnStaff, 2)}, keysOf(rec.take(t)))
	// Reading again, archiving and the sender's refused read tell nobody.
	require.NoError(t, b.st.SetRead(d.As(d.LincolnStaff), m.ID, true))
	require.NoError(t, b.st.SetArchived(d.As(d.LincolnStaff), m.ID, true))
	require.Equal(t, whitecross.ECONFLICT, whitecross.ErrorCode(b.st.SetRead(d.As(d.LincolnNurse), m.ID, true)))
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(b.st.SetRead(d.As(d.WashingtonNurse), m.ID, true)))
	require.Empty(t, rec.take(t))
	// A receipt never goes back: unread then read again tells nobody.
	readAt := b.clock.Now().UTC()
	require.NoError(t, b.st.SetRead(d.As(d.LincolnStaff), m.ID, false))
	require.Empty(t, rec.take(t))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SetRead(d.As(d.LincolnStaff), m.ID, true))
	require.Empty(t, rec.take(t))
	require.NoError(t, b.st.SetRead(d.As(d.LincolnParent), m.ID, true))
	require.Equal(t, []eventKey{receipt(d.LincolnParent, 3)}, keysOf(rec.take(t)))
	log := logOf(t, b, d.LincolnNurse)
	require.Equal(t, readAt, log[1].At, "the staff member's receipt keeps its first time")
	require.Equal(t, b.clock.Now().UTC(), log[len(log)-1].At)
	got, err := b.st.FindMessageByID(d.As(d.LincolnStaff), m.ID)
	require.NoError(t, err)
	require.Equal(t, b.clock.Now().UTC(), got.ReadAt.UTC(), "read_at, the reader's own box state, is the latest read")
	require.Len(t, logOf(t, b, d.LincolnStaff), 1, "the reader's own log is unchanged")
}

func testEventsPruneByAge(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	b.send(t, d.LincolnNurse, msg("Old news", d.LincolnStaff))
	b.clock.Advance(store.EventsKeptFor - time.Hour)
	recent := b.send(t, d.LincolnNurse, msg("Recent news", d.LincolnStaff))
	b.clock.Advance(2 * time.Hour)

	n, err := b.st.PruneEvents(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the first message's events of the staff member and the nurse")
	require.Equal(t, []eventKey{created(d.LincolnStaff, recent, 2)}, keysOf(logOf(t, b, d.LincolnStaff)))
	last, err := b.st.LastEventSeq(context.Background(), d.Tenant.ID, d.LincolnStaff.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, last, "pruning never rewinds the counter")
	next := b.send(t, d.LincolnNurse, msg("Next", d.LincolnStaff))
	require.Equal(t, []eventKey{created(d.LincolnStaff, recent, 2), created(d.LincolnStaff, next, 3)}, keysOf(logOf(t, b, d.LincolnStaff)))
	n, err = b.st.PruneEvents(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
}

func testEventsContent(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ctx := context.Background()
	m := b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Head lice notice", Body: "Please check tonight.",
		RecipientIDs: to(d.LincolnStaff, d.LincolnParent), Channels: []whitecross.Channel{whitecross.ChannelEmail}})
	require.NoError(t, b.st.SetRead(d.As(d.LincolnStaff), m.ID, true))

	shared, err := b.st.EventMessage(ctx, d.Tenant.ID, m.ID, false)
	require.NoError(t, err)
	require.Equal(t, "Head lice notice", shared.Subject)
	require.Equal(t, "Please check tonight.", shared.Body)
	require.Empty(t, shared.RecipientIDs, "each recipient's own id is filled in by the gateway")
	require.Nil(t, shared.ReadCount)
	require.Nil(t, shared.ReadAt)
	require.Equal(t, 2, shared.RecipientCount)
	require.Equal(t, d.LincolnNurse.ID, shared.Sender.ID)

	own, err := b.st.EventMessage(ctx, d.Tenant.ID, m.ID, true)
	require.NoError(t, err)
	require.Equal(t, sortedUserIDs(d.LincolnStaff, d.LincolnParent), own.RecipientIDs)
	require.NotNil(t, own.ReadCount)
	require.Equal(t, 1, *own.ReadCount)
	require.Equal(t, "Head lice notice", own.Subject)

	other := SeedDistrictSlug(t, b.st, "shelbyville")
	_, err = b.st.EventMessage(ctx, other.Tenant.ID, m.ID, false)
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "another tenant's message is not found")
	_, err = b.st.EventMessage(ctx, d.Tenant.ID, "not-a-uuid", true)
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))

	rep, err := b.st.Deliveries(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	for _, want := range rep.Items {
		got, err := b.st.EventDelivery(ctx, d.Tenant.ID, want.ID)
		require.NoError(t, err)
		want.MessageID = m.ID
		require.Equal(t, want, got)
		_, err = b.st.EventDelivery(ctx, other.Tenant.ID, want.ID)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
	}
}

func testEventsThreadAudience(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	audience := func(u *whitecross.User, thread string) ([]string, error) {
		ids, err := b.st.ThreadAudience(d.As(u), thread)
		slices.Sort(ids)
		return ids, err
	}
	oneToOne := b.send(t, d.LincolnNurse, msg("Your child's inhaler", d.LincolnParent))
	got, err := audience(d.LincolnParent, oneToOne.ThreadID)
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnNurse.ID}, got)
	got, err = audience(d.LincolnNurse, oneToOne.ThreadID)
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnParent.ID}, got)

	// A broadcast: each recipient types to the sender; the sender's typing
	// reaches only those who replied (the one-to-one replies of the thread).
	broadcast := b.send(t, d.LincolnNurse, msg("Picture day", d.LincolnParent, d.AnnexParent, d.LincolnStaff))
	got, err = audience(d.AnnexParent, broadcast.ThreadID)
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnNurse.ID}, got)
	got, err = audience(d.LincolnNurse, broadcast.ThreadID)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = b.st.Reply(d.As(d.AnnexParent), broadcast.ID, &whitecross.ReplyCreate{Body: "Which day?"})
	require.NoError(t, err)
	got, err = audience(d.LincolnNurse, broadcast.ThreadID)
	require.NoError(t, err)
	require.Equal(t, []string{d.AnnexParent.ID}, got)
	got, err = audience(d.LincolnParent, broadcast.ThreadID)
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnNurse.ID}, got, "never another recipient")

	// Outsiders, unknown threads and callers without a caller.
	for _, thread := range []string{broadcast.ThreadID, "6f9a0b8e-2c1d-4e5f-8a9b-0c1d2e3f4a5b", "nope"} {
		_, err = audience(d.WashingtonNurse, thread)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), thread)
	}
	_, err = b.st.ThreadAudience(context.Background(), broadcast.ThreadID)
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
}

// testEventsMessagers checks the reverse rule that presence uses against the
// forward rule itself: Messagers(x) holds exactly the users who may message x.
func testEventsMessagers(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	// An ADMIN placed at the district is reached by every staff member.
	placed, err := b.st.CreateUser(d.System(), &whitecross.UserCreate{Email: "placed-admin@springfield.example", Name: "Pia Placed-Admin",
		Role: whitecross.RoleAdmin, Password: SeedPassword, LocationIDs: []string{d.District.ID}})
	require.NoError(t, err)
	users := append(d.Users(), placed)
	all := make([]string, len(users))
	for i, u := range users {
		all[i] = u.ID
	}
	for _, target := range users {
		var want []string
		for _, from := range users {
			if from.ID == target.ID || from.ID == d.FormerStaff.ID {
				continue
			}
			ok, err := b.st.FilterMessageable(d.As(from), []string{target.ID})
			require.NoError(t, err)
			if ok[target.ID] {
				want = append(want, from.ID)
			}
		}
		got, err := b.st.Messagers(context.Background(), d.Tenant.ID, target.ID, all)
		require.NoError(t, err)
		require.ElementsMatch(t, want, got, "who may message %s", d.Labels[target.ID])
	}
	got, err := b.st.Messagers(context.Background(), d.Tenant.ID, d.LincolnNurse.ID, []string{"junk", d.LincolnStaff.ID})
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnStaff.ID}, got)
	_, err = b.st.Messagers(context.Background(), d.Tenant.ID, "6f9a0b8e-2c1d-4e5f-8a9b-0c1d2e3f4a5b", all)
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
}
