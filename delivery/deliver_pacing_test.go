package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/internal/testutil"
	"whitecross/provider/capture"
	"whitecross/provider/twilio"
	"whitecross/store"
	"whitecross/store/storetest"
)

// phones gives each user of ids a distinct phone number, from phoneOf(from).
func phones(t *testing.T, db *store.DB, ids []string, from int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for i, id := range ids {
			if _, err := tx.Exec(ctx, `UPDATE users SET phone = $1 WHERE id = $2`, phoneOf(from+i), id); err != nil {
				return err
			}
		}
		return nil
	}))
}

// TestProviderThrottleSlowsDownAndRetriesWithoutFailing is part 7's "a
// provider's 429 slows the lane down and is retried, never counted as a
// failure": Twilio answers 20429 to more sends in a row than open the
// breaker; the deliveries stay PENDING with no attempt spent, the breaker
// stays closed, the SMS rate is halved, and every SMS then goes out once.
func TestProviderThrottleSlowsDownAndRetriesWithoutFailing(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		const n, rate = delivery.DefaultBreakerFailures + 1, 10.0
		tw := newTwilioFake(t)
		tw.throttle.Store(n)
		client, err := twilio.New(twilio.Config{BaseURL: tw.URL, AccountSID: fakeTwilioSID, AuthToken: fakeTwilioToken, From: "+15005550006"})
		require.NoError(t, err)
		b := newStoppedDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: map[whitecross.Channel]delivery.Provider{whitecross.ChannelSMS: {Name: "twilio", Sender: client}},
			Rates:     map[whitecross.Channel]float64{whitecross.ChannelSMS: rate},
		}})
		ids := b.staff(t, n)
		phones(t, db, ids, 200)
		in := message("Bus 12 is late", ids)
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		smsRate := map[string]string{"channel": "SMS"}
		require.Equal(t, rate, b.metric(t, "whitecross_provider_send_rate", smsRate))
		b.start(t)

		// The first throttle: the test clock stands still, so the rate is
		// exactly halved and nothing has been sent yet.
		throttled := map[string]string{"provider": "twilio", "channel": "SMS"}
		testutil.WaitUntil(t, waitTimeout, "a throttled send", func() bool {
			return b.metric(t, "whitecross_provider_throttled_total", throttled) >= 1
		})
		require.Equal(t, rate/2, b.metric(t, "whitecross_provider_send_rate", smsRate), "the rate was halved")
		require.Equal(t, n, count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND channel = 'SMS'
			AND status = 'PENDING' AND attempts = 0 AND error IS NULL`, m.ID), "throttled deliveries are untouched")

		b.driveUntil(t, "every SMS sent", time.Second, func() bool {
			return count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND status = 'SENT'`, m.ID) == n
		})
		b.waitCount(t, "completed deliver jobs", n, func(e *river.Event) bool {
			return e.Kind == river.EventKindJobCompleted && e.Job.Kind == delivery.DeliverKind
		})
		requests, accepted := tw.counts()
		require.Equal(t, 2*n, requests, "each delivery: one throttled request, one accepted")
		require.Len(t, accepted, n)
		for _, e := range b.seen {
			if e.Kind == river.EventKindJobCompleted && e.Job.Kind == delivery.DeliverKind {
				require.Equal(t, 1, e.Job.Attempt, "a throttle spends no attempt of the job")
			}
		}
		for _, id := range ids {
			d := b.mustDelivery(t, m.ID, &whitecross.User{ID: id}, whitecross.ChannelSMS)
			require.Equal(t, 1, d.Attempts, "the throttled try was no attempt")
			tl := b.timeline(t, d.ID)
			require.Len(t, tl, 2, "PENDING, then SENT: no failed attempt in between: %v", tl)
			require.True(t, strings.HasPrefix(tl[1], "SENT sent via twilio (SM"), tl[1])
		}
		require.Equal(t, float64(n), b.metric(t, "whitecross_provider_throttled_total", throttled))
		require.Equal(t, float64(n), b.metric(t, "whitecross_provider_send_duration_seconds", map[string]string{"provider": "twilio", "outcome": "throttled"}))
		require.Zero(t, b.metric(t, "whitecross_delivery_retries_total", smsRate), "not counted as a retry")
		require.Zero(t, b.metric(t, "whitecross_breaker_state", map[string]string{"provider": "twilio"}), "the breaker stayed closed")
		logs := b.logs.String()
		require.NotContains(t, logs, "provider circuit breaker open")
		require.Contains(t, logs, `"msg":"provider throttled: sending slower","delivery_id"`)
		require.Contains(t, logs, `"rate":5}`, "the first throttle halved the rate")
	})
}

// TestEmergencySMSDoesNotWaitBehindAPacedNewsletter: with SMS paced at one
// a second, a newsletter's backlog snoozes into slots half a minute ahead;
// an URGENT SMS sent meanwhile takes the next token, ahead of it.
func TestEmergencySMSDoesNotWaitBehindAPacedNewsletter(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		outbox := capture.New(0, nil)
		b := newStoppedDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: map[whitecross.Channel]delivery.Provider{whitecross.ChannelSMS: {Name: "capture", Sender: outbox}},
			Rates:     map[whitecross.Channel]float64{whitecross.ChannelSMS: 1},
		}})
		const bulk = 30
		ids := b.staff(t, bulk+1)
		phones(t, db, ids, 300)
		in := message("Newsletter", ids[:bulk])
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		b.send(t, in)
		b.start(t)
		sms := func() []capture.Message { return outbox.List(capture.Filter{Channel: whitecross.ChannelSMS}) }
		// The bucket's one token goes at once; the clock stands still, so
		// the rest wait or snooze into slots up to half a minute ahead.
		testutil.WaitUntil(t, waitTimeout, "the first newsletter SMS", func() bool { return len(sms()) == 1 })

		in = message("Lockdown: stay inside", ids[bulk:])
		in.Channels, in.Priority = []whitecross.Channel{whitecross.ChannelSMS}, whitecross.PriorityUrgent
		urgent := b.send(t, in)
		d := b.mustDelivery(t, urgent.ID, &whitecross.User{ID: ids[bulk]}, whitecross.ChannelSMS)
		var before int
		b.driveUntil(t, "the urgent SMS", 250*time.Millisecond, func() bool {
			for i, s := range oldestFirst(sms()) {
				if s.Outbound.DeliveryID == d.ID {
					before = i
					return true
				}
			}
			return false
		})
		t.Logf("%d newsletter SMS went before the urgent one", before)
		require.LessOrEqual(t, before, 2, "the urgent SMS took one of the next tokens, not a place behind %d", bulk)
		e := b.waitDelivered(t, d.ID)
		require.Equal(t, delivery.QueueDeliverUrgent, e.Job.Queue)
		require.Equal(t, "DELIVERED", b.mustDelivery(t, urgent.ID, &whitecross.User{ID: ids[bulk]}, whitecross.ChannelSMS).Status)
	})
}

// oldestFirst reverses the outbox's newest-first list.
func oldestFirst(newestFirst []capture.Message) []capture.Message {
	out := make([]capture.Message, len(newestFirst))
	for i, m := range newestFirst {
		out[len(out)-1-i] = m
	}
	return out
}
