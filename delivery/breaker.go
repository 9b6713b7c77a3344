package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"whitecross"
)

// errBreakerOpen is returned instead of sending while a circuit breaker is
// open (or half-open with its probe already in flight).
var errBreakerOpen = errors.New("provider circuit breaker is open")

// breakerKey names one circuit breaker. Email, SMS and voice have one per
// provider name (the operator's one SMTP relay or Twilio account serves
// every district, and SMS and voice share Twilio's). Push has one per
// provider, district and push service host: each subscription's endpoint
// is on a host its browser chose, so one family's dead endpoints (or a
// host that fails only for them) open only that family's district's
// breaker for that host, never another district's (issue 11).
type breakerKey struct {
	provider string
	tenant   string // push only
	host     string // push only: the endpoint's host, e.g. fcm.googleapis.com
}

// maxKeyedBreakers bounds the push breakers kept: the hosts come from
// users, so past this many the closed ones are forgotten (they hold
// nothing but a count of recent failures).
const maxKeyedBreakers = 10000

// breakers holds the circuit breakers (see breakerKey).
//
// A breaker opens after BreakerFailures temporary failures in a row —
// failures that are the service's (5xx, timeouts, unreachable). Permanent
// failures count as successes: the service answered. A failure marked
// ProviderError.Recipient is one address's problem (an SMTP mailbox
// refused at RCPT TO, a push subscription refused or on a forbidden
// address) and does not count at all, nor does a canceled send
// (shutdown) or a throttle (429: the pacer slows down instead). After
// BreakerOpenFor it lets one probe through (half-open); the probe's
// success closes it, its failure opens it again. While open,
// the worker snoozes jobs instead of calling the service, so an outage
// spends no attempts and loses no deliveries.
//
// gobreaker keeps its own (real) time; tests shorten BreakerOpenFor.
type breakers struct {
	failures uint32
	openFor  time.Duration
	metrics  *Metrics
	log      *slog.Logger

	mu    sync.Mutex
	byKey map[breakerKey]*gobreaker.CircuitBreaker[*whitecross.SendResult]
	keyed int // breakers with a host
}

func newBreakers(cfg DeliverConfig, log *slog.Logger) *breakers {
	b := &breakers{failures: uint32(cfg.BreakerFailures), openFor: cfg.BreakerOpenFor, metrics: cfg.Metrics, log: log,
		byKey: map[breakerKey]*gobreaker.CircuitBreaker[*whitecross.SendResult]{}}
	for c, p := range cfg.Providers {
		if c == whitecross.ChannelPush {
			b.metrics.initKeyedBreakers(p.Name)
			continue
		}
		b.get(breakerKey{provider: p.Name}) // the state gauge of every provider starts at closed
	}
	return b
}

// pushKey is the breaker key of a push to endpoint for the tenant: its
// host (and port, if any), lower case; "-" when it cannot be read (the
// provider will refuse it).
func pushKey(p Provider, tenantID, endpoint string) breakerKey {
	host := "-"
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = strings.ToLower(u.Host)
	}
	return breakerKey{provider: p.Name, tenant: tenantID, host: host}
}

// get returns the breaker of key, creating it closed.
func (b *breakers) get(key breakerKey) *gobreaker.CircuitBreaker[*whitecross.SendResult] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.byKey[key]; ok {
		return cb
	}
	if key.host != "" && b.keyed >= maxKeyedBreakers {
		b.forgetClosed()
	}
	cb := gobreaker.NewCircuitBreaker[*whitecross.SendResult](gobreaker.Settings{
		Name:          key.provider,
		MaxRequests:   1, // one probe while half-open
		Timeout:       b.openFor,
		ReadyToTrip:   func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.failures },
		IsSuccessful:  func(err error) bool { return err == nil || isPermanent(err) },
		IsExcluded:    notTheProviders,
		OnStateChange: func(_ string, from, to gobreaker.State) { b.changed(key, from, to) },
	})
	b.byKey[key] = cb
	if key.host == "" {
		b.metrics.setBreakerState(key.provider, gobreaker.StateClosed)
	} else {
		b.keyed++
	}
	return cb
}

// notTheProviders reports failures that say nothing about the provider's
// health: a canceled send, a temporary failure of one recipient's address,
// or a throttle (the provider is up; we send too fast, and the pacer slows
// down instead).
func notTheProviders(err error) bool {
	var pe *whitecross.ProviderError
	return errors.Is(err, context.Canceled) || (errors.As(err, &pe) && pe.Recipient) || isThrottled(err)
}

// forgetClosed drops the closed push breakers (b.mu held). Open and
// half-open ones stay: forgetting them would end an outage's protection.
func (b *breakers) forgetClosed() {
	for k, cb := range b.byKey {
		if k.host != "" && cb.State() == gobreaker.StateClosed {
			delete(b.byKey, k)
			b.keyed--
		}
	}
}

// changed reports a breaker's new state (gobreaker calls it holding the
// breaker's lock: it must not call back into the breaker, nor take b.mu,
// which forgetClosed holds while it reads breakers' states).
func (b *breakers) changed(key breakerKey, from, to gobreaker.State) {
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	if key.host == "" {
		b.metrics.setBreakerState(key.provider, to)
		b.log.Log(context.Background(), level, "provider circuit breaker "+to.String(),
			"provider", key.provider, "from", from.String(), "open_for", b.openFor.String())
		return
	}
	b.metrics.keyedBreakerChanged(key.provider, from, to)
	b.log.Log(context.Background(), level, "push service circuit breaker "+to.String(),
		"provider", key.provider, "tenant_id", key.tenant, "host", key.host, "from", from.String(), "open_for", b.openFor.String())
}

// send sends out through p and the breaker of key; errBreakerOpen when
// the breaker refuses the request without calling the provider.
func (b *breakers) send(ctx context.Context, key breakerKey, p Provider, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	res, err := b.get(key).Execute(func() (*whitecross.SendResult, error) { return p.Sender.Send(ctx, out) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, errBreakerOpen
	}
	return res, err
}

// snooze is how long a job refused by an open breaker waits: between half
// of BreakerOpenFor and all of it, so that the waiting jobs come back
// spread out around the time the breaker lets a probe through.
func (b *breakers) snooze() time.Duration {
	half := b.openFor / 2
	return half + time.Duration(rand.Int64N(int64(b.openFor-half)+1))
}
