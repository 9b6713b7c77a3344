package delivery_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/netguard"
	"whitecross/provider/webpush"
	"whitecross/store"
	"whitecross/store/storetest"
)

// pushFake is a TLS push service speaking Web Push: it answers each
// subscription by the first segment of its endpoint's path: /dead/... 503
// (the service failing for that endpoint), /bad/... 400 (a subscription
// the service refuses), /slow/... 201 once slowTogether such requests are
// in flight at once (or after slowLimit), anything else 201. It counts
// requests per path, and the most /slow/ requests in flight at once.
type pushFake struct {
	*httptest.Server
	mu          sync.Mutex
	requests    map[string]int
	slow        int           // /slow/ requests in flight
	maxSlow     int           // the most at once
	slowArrived chan struct{} // closed when slowTogether are in flight
}

// slowTogether /slow/ requests in flight release each other; slowLimit
// bounds the wait of one that never sees them.
const (
	slowTogether = 3
	slowLimit    = 5 * time.Second
)

func newPushFake(t *testing.T) *pushFake {
	t.Helper()
	f := &pushFake{requests: map[string]int{}, slowArrived: make(chan struct{})}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests[r.URL.Path]++
		f.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/slow/") {
			f.waitForSlow()
		}
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm":
			w.WriteHeader(http.StatusBadRequest)
		case strings.HasPrefix(r.URL.Path, "/dead/"):
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasPrefix(r.URL.Path, "/bad/"):
			w.WriteHeader(http.StatusBadRequest)
		default:
			w.Header().Set("Location", "https://push.example/m/"+uuid.NewString())
			w.WriteHeader(http.StatusCreated)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// waitForSlow holds a /slow/ request until slowTogether are in flight, or
// slowLimit passed: an endpoint that answers slowly.
func (f *pushFake) waitForSlow() {
	f.mu.Lock()
	f.slow++
	f.maxSlow = max(f.maxSlow, f.slow)
	if f.slow == slowTogether {
		close(f.slowArrived)
	}
	f.mu.Unlock()
	select {
	case <-f.slowArrived:
	case <-time.After(slowLimit):
	}
	f.mu.Lock()
	f.slow--
	f.mu.Unlock()
}

// count returns how many requests reached path.
func (f *pushFake) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[path]
}

// sender is a real webpush Sender that may reach the fake on 127.0.0.1.
func (f *pushFake) sender(t *testing.T) *webpush.Sender {
	t.Helper()
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(f.Certificate())
	s, err := webpush.New(webpush.Config{PublicKey: public, PrivateKey: private, Subscriber: "mailto:ops@district.example",
		RootCAs: roots, Guard: netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	require.NoError(t, err)
	return s
}

// providers is a delivery setup whose only channel is Web Push to f.
func (f *pushFake) providers(t *testing.T) map[whitecross.Channel]delivery.Provider {
	return map[whitecross.Channel]delivery.Provider{whitecross.ChannelPush: {Name: webpush.ProviderName, Sender: f.sender(t)}}
}

// addPushIn registers a browser for u of district d (raw SQL, as
// addPushSubscription).
func (b *deliverBundle) addPushIn(t *testing.T, d *storetest.District, u *whitecross.User, endpoint string) *whitecross.PushSubscription {
	t.Helper()
	sub := &whitecross.PushSubscription{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Endpoint: endpoint,
		P256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", Auth: "tBHItJI5svbpez7KI4CCXg"}
	ctx := context.Background()
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, user_agent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'test', $7)`, sub.ID, d.Tenant.ID, u.ID, endpoint, sub.P256dh, sub.Auth, b.clock.Now())
		return err
	}))
	return sub
}

// pushMessage sends a PUSH-only message from d's Lincoln nurse to u (from
// its Lincoln administrator for an EMERGENCY, which a nurse may not send).
func (b *deliverBundle) pushMessage(t *testing.T, d *storetest.District, u *whitecross.User, subject string, c whitecross.Category) *whitecross.Message {
	t.Helper()
	in := message(subject, []string{u.ID})
	in.Category, in.Channels = c, []whitecross.Channel{whitecross.ChannelPush}
	from := d.LincolnNurse
	if c == whitecross.CategoryEmergency {
		from = d.LincolnAdmin
	}
	m, err := b.st.SendMessage(d.As(from), in)
	require.NoError(t, err)
	return m
}

// TestPoisonedSubscriptionsNeverDelayAnotherDistrictsPush is issue 11's
// "one family can delay every district's push alerts": a parent in one
// district registers endpoints the push service fails for, and receives
// several messages; the breaker that opens is theirs (their district, that
// push service) alone, and another district's EMERGENCY push to the same
// push service goes out on its first attempt, never snoozed.
func TestPoisonedSubscriptionsNeverDelayAnotherDistrictsPush(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		push := newPushFake(t)
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: push.providers(t),
			// Open far longer than the test: a breaker that opens stays open.
			BreakerOpenFor: time.Hour,
		}})
		tried, stop := b.queue.Subscribe(river.EventKindJobSnoozed, river.EventKindJobFailed)
		defer stop()
		waitTried := func(id string) {
			t.Helper()
			deadline := time.After(waitTimeout)
			for {
				select {
				case e := <-tried:
					if deliverArgs(t, e).DeliveryID == id {
						return
					}
				case <-deadline:
					t.Fatalf("delivery %s was not tried; logs:\n%s", id, b.logs.String())
				}
			}
		}
		other := storetest.SeedDistrictSlug(t, b.st, "shelbyville")

		// District A: a parent with six endpoints the service fails (503),
		// and three messages to them, each retried.
		poisoner := b.d.LincolnParent
		for i := range 6 {
			b.addPushIn(t, b.d, poisoner, push.URL+"/dead/"+string(rune('a'+i)))
		}
		for _, subject := range []string{"Picture day", "Bake sale", "Book fair"} {
			m := b.pushMessage(t, b.d, poisoner, subject, whitecross.CategoryGeneral)
			d := b.mustDelivery(t, m.ID, poisoner, whitecross.ChannelPush)
			waitTried(d.ID) // failed and retried, or snoozed by the breaker it opened
		}
		require.GreaterOrEqual(t, push.count("/dead/a"), 1)
		require.Contains(t, b.logs.String(), "circuit breaker open", "district A's own breaker opened")
		openBreakers := func() float64 {
			return b.metric(t, "whitecross_push_breakers_open", map[string]string{"provider": webpush.ProviderName})
		}
		require.Equal(t, 1.0, openBreakers(), "one breaker: district A's for that push service")

		// District B: an EMERGENCY push to a healthy endpoint of the same
		// push service goes out at once.
		parentB := other.LincolnParent
		b.addPushIn(t, other, parentB, push.URL+"/ok/shelbyville")
		m := b.pushMessage(t, other, parentB, "Shelter in place", whitecross.CategoryEmergency)
		var d storedDelivery
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id FROM deliveries WHERE message_id = $1 AND channel = 'PUSH'`, m.ID).Scan(&d.ID))
		d.ID = strings.ToLower(d.ID)
		var status string
		var attempts int
		read := func() {
			require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT status, attempts FROM deliveries WHERE id = $1`, d.ID).Scan(&status, &attempts))
		}
		deadline := time.After(waitTimeout)
		for read(); status == "PENDING"; read() {
			select {
			case e := <-tried:
				require.NotEqual(t, d.ID, deliverArgs(t, e).DeliveryID, "district B's EMERGENCY push was snoozed (or failed) because of district A's endpoints")
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatalf("district B's push not sent within %s", waitTimeout)
			}
		}
		require.Equal(t, "SENT", status)
		require.Equal(t, 1, attempts, "sent on its first attempt")
		e := b.waitDelivered(t, d.ID)
		require.Equal(t, 1, e.Job.Attempt)
		require.Equal(t, delivery.QueueDeliverUrgent, e.Job.Queue)
		require.Equal(t, 1, push.count("/ok/shelbyville"))
		require.NotContains(t, b.logs.String(), other.Tenant.ID+`","host`, "no breaker of district B changed state")
		require.Equal(t, 1.0, openBreakers())
	})
}

// TestASubscriptionThatKeepsFailingIsDisabled: a subscription the push
// service keeps refusing is disabled after failing long enough and is no
// longer tried; the owner sees it disabled, and the other browser keeps
// receiving.
func TestASubscriptionThatKeepsFailingIsDisabled(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		push := newPushFake(t)
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{Providers: push.providers(t)}})
		parent := b.d.LincolnParent
		bad := b.addPushIn(t, b.d, parent, push.URL+"/bad/old-laptop")
		b.addPushIn(t, b.d, parent, push.URL+"/ok/phone")

		// Each message reaches the phone; the old laptop fails every time.
		step := store.PushFailingFor / time.Duration(store.PushFailuresToDisable-1)
		for i := range store.PushFailuresToDisable {
			m := b.pushMessage(t, b.d, parent, "Reminder", whitecross.CategoryGeneral)
			d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush)
			b.waitDelivered(t, d.ID)
			require.Equal(t, "SENT", b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush).Status)
			require.Equal(t, i+1, push.count("/bad/old-laptop"))
			b.clock.Advance(step)
		}
		subs, err := b.st.ListPushSubscriptions(b.d.As(parent))
		require.NoError(t, err)
		require.Len(t, subs, 2)
		var got *whitecross.PushSubscription
		for _, s := range subs {
			if s.ID == bad.ID {
				got = s
			} else {
				require.Nil(t, s.DisabledAt, "the phone works")
				require.Zero(t, s.Failures)
			}
		}
		require.NotNil(t, got)
		require.NotNil(t, got.DisabledAt, "disabled after failing %d times over %s", store.PushFailuresToDisable, store.PushFailingFor)
		require.Equal(t, store.PushFailuresToDisable, got.Failures)
		require.Contains(t, got.LastError, "400")

		// The next message is not sent to it any more.
		m := b.pushMessage(t, b.d, parent, "Field trip", whitecross.CategoryGeneral)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush)
		b.waitDelivered(t, d.ID)
		require.Equal(t, store.PushFailuresToDisable, push.count("/bad/old-laptop"), "a disabled subscription is not tried")
		require.Equal(t, store.PushFailuresToDisable+1, push.count("/ok/phone"))
	})
}

// TestAllOfARecipientsBrowsersAreSentToAtOnce: a family's slow endpoints
// hold a delivery worker, which other districts' alerts also need, for
// one push timeout, not one per browser: the sends to a recipient's
// browsers are in flight together.
func TestAllOfARecipientsBrowsersAreSentToAtOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		push := newPushFake(t)
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{Providers: push.providers(t)}})
		parent := b.d.LincolnParent
		for _, name := range []string{"phone", "laptop", "tablet"} {
			b.addPushIn(t, b.d, parent, push.URL+"/slow/"+name)
		}
		m := b.pushMessage(t, b.d, parent, "Early dismissal", whitecross.CategoryGeneral)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush)
		b.waitDelivered(t, d.ID)
		require.Equal(t, "SENT", b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush).Status)
		push.mu.Lock()
		defer push.mu.Unlock()
		require.Equal(t, slowTogether, push.maxSlow, "every browser of the recipient was being sent to at the same time")
	})
}
