package delivery

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/require"

	"whitecross"
)

// scriptedSender fails every send with err (nil: accepts).
type scriptedSender struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (s *scriptedSender) Send(context.Context, *whitecross.Outbound) (*whitecross.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return &whitecross.SendResult{ProviderID: "id", Status: whitecross.DeliverySent}, nil
}

func testBreakers(t *testing.T) *breakers {
	t.Helper()
	cfg := DeliverConfig{BreakerOpenFor: time.Hour}.withDefaults()
	return newBreakers(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// sendN sends n times through key and returns the last error.
func sendN(b *breakers, key breakerKey, p Provider, n int) error {
	var err error
	for range n {
		_, err = b.send(context.Background(), key, p, &whitecross.Outbound{})
	}
	return err
}

// TestRecipientsFailuresNeverOpenABreaker is issue 11's review of every
// breaker: failures of one address — an SMTP mailbox refused at RCPT TO
// (4xx or 5xx), a Twilio invalid or opted-out number, a push subscription
// the service refuses — never open the provider's breaker, however many;
// nor do throttles (the provider is up, we send too fast).
func TestRecipientsFailuresNeverOpenABreaker(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"smtp 450 unverified recipient": &whitecross.ProviderError{Provider: "smtp", Code: "450", Recipient: true},
		"smtp 451 greylisted":           &whitecross.ProviderError{Provider: "smtp", Code: "451", Recipient: true},
		"smtp 550 no such mailbox":      &whitecross.ProviderError{Provider: "smtp", Code: "550", Permanent: true, Recipient: true},
		"twilio 21211 invalid number":   &whitecross.ProviderError{Provider: "twilio", Code: "21211", Permanent: true},
		"twilio 21610 opted out":        &whitecross.ProviderError{Provider: "twilio", Code: "21610", Permanent: true, OptedOut: true},
		"webpush 429 per subscription":  &whitecross.ProviderError{Provider: "webpush", Code: "429", Recipient: true},
		"webpush forbidden address":     &whitecross.ProviderError{Provider: "webpush", Code: "forbidden_address", Permanent: true, Recipient: true},
		"canceled":                      context.Canceled,
		"twilio 20429 throttled":        &whitecross.ProviderError{Provider: "twilio", Code: "20429", Throttled: true},
		"smtp 454 throttled":            &whitecross.ProviderError{Provider: "smtp", Code: "454", Throttled: true},
	} {
		b := testBreakers(t)
		s := &scriptedSender{err: err}
		p := Provider{Name: "x", Sender: s}
		key := breakerKey{provider: "x"}
		require.ErrorIs(t, sendN(b, key, p, 10*DefaultBreakerFailures), err, name)
		require.Equal(t, gobreaker.StateClosed, b.get(key).State(), name)
		require.Equal(t, 10*DefaultBreakerFailures, s.calls, "%s: every send reached the provider", name)
	}

	// The provider's own failures do open it.
	b := testBreakers(t)
	p := Provider{Name: "smtp", Sender: &scriptedSender{err: &whitecross.ProviderError{Provider: "smtp", Code: "connect"}}}
	key := breakerKey{provider: "smtp"}
	require.ErrorIs(t, sendN(b, key, p, DefaultBreakerFailures+1), errBreakerOpen)
	require.Equal(t, gobreaker.StateOpen, b.get(key).State())
}

// TestPushBreakersAreKeyedByDistrictAndHost: a push service failing for
// one district opens that district's breaker for that host only.
func TestPushBreakersAreKeyedByDistrictAndHost(t *testing.T) {
	t.Parallel()
	b := testBreakers(t)
	down := Provider{Name: "webpush", Sender: &scriptedSender{err: &whitecross.ProviderError{Provider: "webpush", Code: "503"}}}
	up := Provider{Name: "webpush", Sender: &scriptedSender{}}
	poisoned := pushKey(down, "tenant-a", "https://Dead.Push.Example/s/1")
	require.Equal(t, breakerKey{provider: "webpush", tenant: "tenant-a", host: "dead.push.example"}, poisoned)
	require.ErrorIs(t, sendN(b, poisoned, down, DefaultBreakerFailures+1), errBreakerOpen)
	require.ErrorIs(t, sendN(b, pushKey(down, "tenant-a", "https://dead.push.example/s/2"), down, 1), errBreakerOpen, "same district and host")

	for _, k := range []breakerKey{
		pushKey(up, "tenant-b", "https://dead.push.example/s/3"),  // another district, same host
		pushKey(up, "tenant-a", "https://fcm.googleapis.com/s/4"), // same district, another host
		{provider: "webpush"},
	} {
		require.NoError(t, sendN(b, k, up, 1), "%+v", k)
		require.Equal(t, gobreaker.StateClosed, b.get(k).State())
	}
	require.Equal(t, "-", pushKey(up, "t", "::not a url").host)
}
