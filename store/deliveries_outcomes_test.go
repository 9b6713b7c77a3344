package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestDeliveryEventsOfSmallMessages records the outcomes of a 1:1 message
// and of a small group message in one batch: the sender gets one
// delivery.updated per delivery, as when each is recorded alone.
func TestDeliveryEventsOfSmallMessages(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		events := collectEvents(st)
		one := sendEmail(t, st, d, []string{d.LincolnStaff.ID})
		group := sendEmail(t, st, d, storetest.BulkStaff(t, db, d.Tenant.ID, d.Lincoln.ID, 3))
		ids := append(deliveryIDs(t, db, one.ID), deliveryIDs(t, db, group.ID)...)
		require.Equal(t, 4, len(ids))
		events.reset()

		res, err := st.RecordDeliveryOutcomes(context.Background(), sentOutcomes(d, ids))
		require.NoError(t, err)
		for _, r := range res {
			require.NoError(t, r.Err)
			require.True(t, r.Announced)
		}
		got := events.deliveries(d.LincolnNurse.ID)
		require.Len(t, got, 4, "one delivery.updated per delivery")
		for i, ev := range got {
			require.Equal(t, ids[i], ev.DeliveryID)
			require.Equal(t, whitecross.DeliverySent, ev.Delivery.Status)
		}
	})
}

// TestDeliveryEventsOfLargeMessagesCoalesce records the 150 outcomes of a
// message above store.CoalesceDeliveryEventsAbove in three batches: the
// sender gets one delivery.updated per batch, carrying its last change,
// while every delivery and its timeline are recorded.
func TestDeliveryEventsOfLargeMessagesCoalesce(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		events := collectEvents(st)
		const n = 150
		m := sendEmail(t, st, d, storetest.BulkStaff(t, db, d.Tenant.ID, d.Lincoln.ID, n))
		ids := deliveryIDs(t, db, m.ID)
		require.Equal(t, n, len(ids))
		events.reset()

		for b := range 3 {
			batch := ids[b*50 : (b+1)*50]
			res, err := st.RecordDeliveryOutcomes(context.Background(), sentOutcomes(d, batch))
			require.NoError(t, err)
			announced := 0
			for _, r := range res {
				require.NoError(t, r.Err)
				require.NotNil(t, r.Change)
				if r.Announced {
					announced++
				}
			}
			require.Equal(t, 1, announced)
			require.True(t, res[len(res)-1].Announced, "the batch's last change is the one announced")
		}
		got := events.deliveries(d.LincolnNurse.ID)
		require.Len(t, got, 3, "one delivery.updated per message per batch")
		require.Equal(t, ids[n-1], got[2].DeliveryID)
		require.Equal(t, n, count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND status = 'SENT' AND provider_id LIKE 'pid-%'`, m.ID))
		require.Equal(t, n, count(t, db, `SELECT COUNT(*) FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id
			WHERE d.message_id = $1 AND e.status = 'SENT'`, m.ID))
		log, err := st.ReadEvents(context.Background(), d.Tenant.ID, d.LincolnNurse.ID, 0, store.MaxEventsPage)
		require.NoError(t, err)
		deliveryEvents := 0
		for _, ev := range log {
			if ev.Type == whitecross.EventDeliveryUpdated {
				deliveryEvents++
			}
		}
		require.Equal(t, 3, deliveryEvents, "the log holds what was notified")
	})
}

// TestRecordDeliveryOutcomesPerRecord checks that one batch answers each
// record as RecordDeliveryOutcome would: a FAILED outcome falls back, an
// unknown delivery is ENOTFOUND, a bad status EINVALID, a delivery named
// twice is recorded once, and the rest are recorded.
func TestRecordDeliveryOutcomesPerRecord(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		m, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "s", Body: "b", Priority: whitecross.PriorityUrgent,
			RecipientIDs: []string{d.LincolnStaff.ID}, Channels: []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail}})
		require.NoError(t, err)
		var sms, email string
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id FROM deliveries WHERE message_id = $1 AND channel = 'SMS'`, m.ID).Scan(&sms))
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id FROM deliveries WHERE message_id = $1 AND channel = 'EMAIL'`, m.ID).Scan(&email))
		sms, email = strings.ToLower(sms), strings.ToLower(email)
		recs := []store.OutcomeRecord{
			{TenantID: d.Tenant.ID, DeliveryID: sms, Outcome: whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: "unreachable", Fallback: true}},
			{TenantID: d.Tenant.ID, DeliveryID: email, Outcome: whitecross.DeliveryOutcome{Error: "timeout"}},
			{TenantID: d.Tenant.ID, DeliveryID: email, Outcome: whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "smtp", ProviderID: "x"}},
			{TenantID: d.Tenant.ID, DeliveryID: "0197a3b0-0000-7000-8000-000000000000", Outcome: whitecross.DeliveryOutcome{Status: whitecross.DeliverySent}},
			{TenantID: d.Tenant.ID, DeliveryID: email, Outcome: whitecross.DeliveryOutcome{Status: whitecross.DeliveryBounced}},
		}
		res, err := st.RecordDeliveryOutcomes(context.Background(), recs)
		require.NoError(t, err)
		require.NoError(t, res[0].Err)
		require.Equal(t, whitecross.DeliveryFailed, res[0].Change.Delivery.Status)
		require.NotNil(t, res[0].Change.Fallback, "URGENT falls back from SMS to VOICE")
		require.Equal(t, whitecross.ChannelVoice, res[0].Change.Fallback.Channel)
		require.NoError(t, res[1].Err)
		require.Equal(t, whitecross.DeliveryPending, res[1].Change.Delivery.Status)
		require.Equal(t, 1, res[1].Change.Delivery.Attempts)
		require.Equal(t, store.OutcomeResult{}, res[2], "the second record of a delivery records nothing")
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(res[3].Err))
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(res[4].Err))
		require.Equal(t, 1, count(t, db, `SELECT COUNT(*) FROM delivery_events WHERE delivery_id = $1 AND detail = 'attempt 1 failed: timeout; retrying'`, email))
	})
}

// sendEmail sends an EMAIL message from Lincoln's nurse to recipients.
func sendEmail(t *testing.T, st *store.Store, d *storetest.District, recipients []string) *whitecross.Message {
	t.Helper()
	m, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "s", Body: "b",
		RecipientIDs: recipients, Channels: []whitecross.Channel{whitecross.ChannelEmail}})
	require.NoError(t, err)
	return m
}

// sentOutcomes is a SENT outcome for each of ids.
func sentOutcomes(d *storetest.District, ids []string) []store.OutcomeRecord {
	recs := make([]store.OutcomeRecord, len(ids))
	for i, id := range ids {
		recs[i] = store.OutcomeRecord{TenantID: d.Tenant.ID, DeliveryID: id,
			Outcome: whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "smtp", ProviderID: "pid-" + id}}
	}
	return recs
}

// deliveryIDs lists the EMAIL deliveries of a message in id order.
func deliveryIDs(t *testing.T, db *store.DB, messageID string) []string {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT id FROM deliveries WHERE message_id = $1 AND channel = 'EMAIL' ORDER BY id`, messageID)
	require.NoError(t, err)
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, strings.ToLower(id))
	}
	require.NoError(t, rows.Err())
	return ids
}

func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), query, args...).Scan(&n))
	return n
}

// eventLog is what the store's notifier was told.
type eventLog struct {
	mu  sync.Mutex
	evs []whitecross.Event
}

func collectEvents(st *store.Store) *eventLog {
	l := &eventLog{}
	st.SetEventNotifier(func(_ context.Context, evs []whitecross.Event) {
		l.mu.Lock()
		l.evs = append(l.evs, evs...)
		l.mu.Unlock()
	})
	return l
}

func (l *eventLog) reset() {
	l.mu.Lock()
	l.evs = nil
	l.mu.Unlock()
}

// deliveries is the delivery.updated events of user so far.
func (l *eventLog) deliveries(user string) []whitecross.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []whitecross.Event
	for _, ev := range l.evs {
		if ev.Type == whitecross.EventDeliveryUpdated && ev.UserID == user {
			out = append(out, ev)
		}
	}
	return out
}
