package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// newEventStore returns a store on db with a seeded district.
func newEventStore(t *testing.T, db *store.DB) (*store.Store, *storetest.District) {
	t.Helper()
	st := newTestStore(t, db)
	return st, storetest.SeedDistrict(t, st)
}

// TestEventRetentionPerUser appends more events than a user's log keeps and
// checks that the newest store.EventsKeptPerUser stay, pruned in strides.
func TestEventRetentionPerUser(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		ctx := context.Background()
		m, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "s", Body: "b", RecipientIDs: []string{d.LincolnStaff.ID}})
		require.NoError(t, err)
		appendN := func(n int) {
			t.Helper()
			evs := make([]whitecross.Event, n)
			for i := range evs {
				evs[i] = whitecross.Event{TenantID: d.Tenant.ID, UserID: d.LincolnStaff.ID, Type: whitecross.EventReceiptRead,
					MessageID: m.ID, ActorID: d.LincolnParent.ID, At: db.Now().UTC().Truncate(time.Microsecond)}
			}
			_, err := st.AppendEventsForTest(ctx, evs)
			require.NoError(t, err)
		}
		window := func() (first, last int64, n int) {
			t.Helper()
			var all []whitecross.Event
			for after := int64(0); ; {
				page, err := st.ReadEvents(ctx, d.Tenant.ID, d.LincolnStaff.ID, after, store.MaxEventsPage)
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				all = append(all, page...)
				after = page[len(page)-1].Seq
			}
			for i := 1; i < len(all); i++ {
				require.Equal(t, all[i-1].Seq+1, all[i].Seq, "retained events are contiguous")
			}
			return all[0].Seq, all[len(all)-1].Seq, len(all)
		}
		// Seq 1 is the message; 149 more make 150, then 150 at a time.
		appendN(149)
		for range 6 {
			appendN(150)
		}
		first, last, n := window()
		require.Equal(t, []int64{51, 1050}, []int64{first, last}, "crossing 1,000 pruned everything before the newest 1,000")
		require.Equal(t, store.EventsKeptPerUser, n)
		appendN(1)
		first, _, n = window()
		require.Equal(t, int64(51), first, "no prune until the next stride")
		require.Equal(t, store.EventsKeptPerUser+1, n)
		appendN(60)
		first, last, n = window()
		require.Equal(t, []int64{112, 1111}, []int64{first, last})
		require.Equal(t, store.EventsKeptPerUser, n)
		// A reader after a pruned seq sees the gap: its first event is not after+1.
		page, err := st.ReadEvents(ctx, d.Tenant.ID, d.LincolnStaff.ID, 10, 5)
		require.NoError(t, err)
		require.Equal(t, int64(112), page[0].Seq)
		require.Len(t, page, 5)
	})
}

// TestDeliveryEvents checks that a recorded delivery outcome, the fallback
// it created and a provider's later status reach the message's sender as
// delivery.updated, each notified with the delivery as committed.
func TestDeliveryEvents(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		ctx := context.Background()
		var notified []whitecross.Event
		st.SetEventNotifier(func(_ context.Context, evs []whitecross.Event) { notified = append(notified, evs...) })
		// URGENT falls back from SMS to VOICE.
		m, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "s", Body: "b", Priority: whitecross.PriorityUrgent,
			RecipientIDs: []string{d.LincolnStaff.ID}, Channels: []whitecross.Channel{whitecross.ChannelSMS}})
		require.NoError(t, err)
		rep, err := st.Deliveries(d.As(d.LincolnNurse), m.ID)
		require.NoError(t, err)
		require.Len(t, rep.Items, 2)
		var sms *whitecross.Delivery
		for _, it := range rep.Items {
			if it.Channel == whitecross.ChannelSMS {
				sms = it
			}
		}
		require.NotNil(t, sms)
		notified = nil

		change, err := st.RecordDeliveryOutcome(ctx, d.Tenant.ID, sms.ID,
			whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: "unreachable", Fallback: true})
		require.NoError(t, err)
		require.NotNil(t, change.Fallback)
		evs := notified
		require.Len(t, evs, 2)
		for i, want := range []*whitecross.Delivery{change.Delivery, change.Fallback} {
			require.Equal(t, whitecross.EventDeliveryUpdated, evs[i].Type)
			require.Equal(t, d.LincolnNurse.ID, evs[i].UserID)
			require.Equal(t, m.ID, evs[i].MessageID)
			require.Equal(t, want.ID, evs[i].DeliveryID)
			require.Equal(t, int64(2+i), evs[i].Seq)
			requireCommitted(t, st, evs[i])
		}
		require.Equal(t, whitecross.DeliveryFailed, evs[0].Delivery.Status)
		require.Equal(t, whitecross.ChannelVoice, evs[1].Delivery.Channel)

		// A provider callback moves the fallback on.
		notified = nil
		_, err = st.RecordDeliveryOutcome(ctx, d.Tenant.ID, change.Fallback.ID,
			whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "twilio", ProviderID: "CA1"})
		require.NoError(t, err)
		_, err = st.ApplyProviderStatus(ctx, whitecross.ProviderStatus{Provider: "twilio", ProviderID: "CA1", Status: whitecross.DeliveryDelivered})
		require.NoError(t, err)
		require.Len(t, notified, 2)
		for i, status := range []whitecross.DeliveryStatus{whitecross.DeliverySent, whitecross.DeliveryDelivered} {
			require.Equal(t, change.Fallback.ID, notified[i].DeliveryID)
			require.Equal(t, int64(4+i), notified[i].Seq)
			require.Equal(t, status, notified[i].Delivery.Status)
		}
		requireCommitted(t, st, notified[1])
		evs = append(evs, notified...)

		// The log holds the same events, without the delivery.
		log, err := st.ReadEvents(ctx, d.Tenant.ID, d.LincolnNurse.ID, 1, 10)
		require.NoError(t, err)
		require.Equal(t, withoutDelivery(evs), log)
	})
}

// requireCommitted checks that ev carries its delivery as the store now
// reads it.
func requireCommitted(t *testing.T, st *store.Store, ev whitecross.Event) {
	t.Helper()
	require.NotNil(t, ev.Delivery)
	want, err := st.EventDelivery(context.Background(), ev.TenantID, ev.DeliveryID)
	require.NoError(t, err)
	require.Equal(t, want, ev.Delivery)
}

// withoutDelivery returns evs as the log stores them.
func withoutDelivery(evs []whitecross.Event) []whitecross.Event {
	out := make([]whitecross.Event, len(evs))
	for i, ev := range evs {
		ev.Delivery = nil
		out[i] = ev
	}
	return out
}

// TestEventsConcurrentExchange has two people message each other at once
// while a broadcast reaches both: on PostgreSQL each transaction locks the
// users' counters in user-id order, so none deadlocks, and every log stays
// contiguous.
func TestEventsConcurrentExchange(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		const rounds = 15
		var wg sync.WaitGroup
		errs := make(chan error, 3*rounds)
		send := func(from, to []*whitecross.User) {
			defer wg.Done()
			for i := range rounds {
				ids := make([]string, len(to))
				for j, u := range to {
					ids[j] = u.ID
				}
				_, err := st.SendMessage(d.As(from[0]), &whitecross.MessageCreate{Subject: fmt.Sprint(i), Body: "b", RecipientIDs: ids})
				errs <- err
			}
		}
		wg.Add(3)
		go send([]*whitecross.User{d.LincolnNurse}, []*whitecross.User{d.LincolnStaff})
		go send([]*whitecross.User{d.LincolnStaff}, []*whitecross.User{d.LincolnNurse})
		go send([]*whitecross.User{d.DistrictNurse}, []*whitecross.User{d.LincolnStaff, d.LincolnNurse, d.AnnexStaff})
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnStaff} {
			evs, err := st.ReadEvents(context.Background(), d.Tenant.ID, u.ID, 0, store.MaxEventsPage)
			require.NoError(t, err)
			require.Len(t, evs, 3*rounds, "sent, received and the broadcast")
			for i, e := range evs {
				require.Equal(t, int64(i+1), e.Seq)
			}
		}
	})
}
