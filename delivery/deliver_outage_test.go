package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/twilio"
	"whitecross/store"
	"whitecross/store/storetest"
)

const (
	fakeTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	fakeTwilioToken = "outage-test-token"
)

// twilioFake answers Twilio's Messages API the way Twilio does: 503 with
// Twilio's error JSON while it is down, 429 with error 20429 and
// Retry-After: 1 to the next throttle requests, 201 with a Message resource
// otherwise. It counts every request and each delivery it accepted.
type twilioFake struct {
	*httptest.Server
	down     atomic.Bool
	throttle atomic.Int32

	mu       sync.Mutex
	requests int
	accepted map[string]int    // by I-Twilio-Idempotency-Token
	bodies   map[string]string // the last accepted Body, by To
}

func newTwilioFake(t *testing.T) *twilioFake {
	t.Helper()
	f := &twilioFake{accepted: map[string]int{}, bodies: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != fakeTwilioSID || pass != fakeTwilioToken || r.ParseForm() != nil ||
			r.URL.Path != "/2010-04-01/Accounts/"+fakeTwilioSID+"/Messages.json" {
			http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests++
		if f.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"code":20503,"message":"Service Unavailable","more_info":"https://www.twilio.com/docs/errors/20503","status":503}`)
			return
		}
		if f.throttle.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)
			return
		}
		token := r.Header.Get(twilio.IdempotencyHeader)
		f.accepted[token]++
		f.bodies[r.PostForm.Get("To")] = r.PostForm.Get("Body")
		sid := fmt.Sprintf("SM%032x", f.requests)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"account_sid":%q,"sid":%q,"status":"queued","to":%q,"api_version":"2010-04-01"}`, fakeTwilioSID, sid, r.PostForm.Get("To"))
	}))
	t.Cleanup(f.Close)
	return f
}

// body is the last text accepted for to ("" when none).
func (f *twilioFake) body(to string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[to]
}

func (f *twilioFake) counts() (requests int, accepted map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.accepted {
		out[k] = v
	}
	return f.requests, out
}

// TestProviderOutageOpensTheBreakerAndTheBacklogDrains is the issue's
// "Outage": Twilio answers 503, the breaker opens and jobs snooze without
// spending attempts, nothing is discarded, and once Twilio answers again
// every delivery goes out exactly once.
func TestProviderOutageOpensTheBreakerAndTheBacklogDrains(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tw := newTwilioFake(t)
		tw.down.Store(true)
		client, err := twilio.New(twilio.Config{BaseURL: tw.URL, AccountSID: fakeTwilioSID, AuthToken: fakeTwilioToken, From: "+15005550006"})
		require.NoError(t, err)
		b := newStoppedDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers:      map[whitecross.Channel]delivery.Provider{whitecross.ChannelSMS: {Name: "twilio", Sender: client}},
			BreakerOpenFor: 300 * time.Millisecond, // gobreaker keeps real time
		}})
		snoozed, stop := b.queue.Subscribe(river.EventKindJobSnoozed)
		defer stop()
		const n = 8
		ids := b.staff(t, n)
		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			for i, id := range ids {
				if _, err := tx.Exec(ctx, `UPDATE users SET phone = $1 WHERE id = $2`, phoneOf(100+i), id); err != nil {
					return err
				}
			}
			return nil
		}))
		in := message("Snow day", ids)
		in.Body, in.Channels = "School is closed today.", []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		b.start(t)

		// The outage: after a few 503s the breaker opens and jobs snooze;
		// it lets a probe through now and then, which fails and opens it
		// again. Wait for two failed probes and many snoozes.
		snoozes := 0
		b.driveUntil(t, "a sustained outage", 2*time.Second, func() bool {
			for {
				select {
				case <-snoozed:
					snoozes++
				default:
					requests, _ := tw.counts()
					return snoozes >= n && requests >= delivery.DefaultBreakerFailures+2
				}
			}
		})
		requests, accepted := tw.counts()
		require.Empty(t, accepted)
		logs := b.logs.String()
		require.Contains(t, logs, "provider circuit breaker open")
		require.Contains(t, logs, "provider circuit breaker half-open")
		require.Zero(t, count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND status <> 'PENDING' AND channel = 'SMS'`, m.ID),
			"nothing failed for good")

		// Twilio recovers: the backlog drains.
		tw.down.Store(false)
		b.driveUntil(t, "every SMS sent", 2*time.Second, func() bool {
			return count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = $1 AND status = 'SENT'`, m.ID) == n
		})
		b.waitCount(t, "completed deliver jobs", n, func(e *river.Event) bool {
			return e.Kind == river.EventKindJobCompleted && e.Job.Kind == delivery.DeliverKind
		})
		requests, accepted = tw.counts()
		require.Len(t, accepted, n, "every delivery reached Twilio")
		attempts := 0
		rows, err := db.Reader().Query(store.AllTenants(ctx), `SELECT id, attempts, provider, provider_id FROM deliveries WHERE message_id = $1 AND channel = 'SMS'`, m.ID)
		require.NoError(t, err)
		jobAttempts := map[string]int{}
		for _, e := range b.seen {
			if e.Kind == river.EventKindJobCompleted && e.Job.Kind == delivery.DeliverKind {
				jobAttempts[deliverArgs(t, e).DeliveryID] = e.Job.Attempt
			}
		}
		for rows.Next() {
			var id, provider, providerID string
			var a int
			require.NoError(t, rows.Scan(&id, &a, &provider, &providerID))
			id = strings.ToLower(id)
			require.Equal(t, 1, accepted[id], "delivery %s accepted exactly once, keyed by its id", id)
			require.Equal(t, "twilio", provider)
			require.True(t, strings.HasPrefix(providerID, "SM"), providerID)
			require.Equal(t, a, jobAttempts[id], "River counted the same attempts: snoozes are not attempts")
			attempts += a
		}
		rows.Close()
		require.NoError(t, rows.Err())
		require.Equal(t, requests, attempts, "an attempt is a request to Twilio, and every request is an attempt")
		t.Logf("%d deliveries: %d requests to Twilio (%d answered 503); %d snoozes seen during the outage", n, requests, requests-n, snoozes)
		require.Equal(t, n*2, b.deliveries(t, m.ID), "no fallback: IN_APP and SMS per recipient")
		require.Contains(t, b.logs.String(), "provider circuit breaker closed")
		require.Equal(t, 0.0, b.metric(t, "whitecross_breaker_state", map[string]string{"provider": "twilio"}))
		require.Equal(t, float64(attempts-n), b.metric(t, "whitecross_delivery_retries_total", map[string]string{"channel": "SMS"}))
	})
}
