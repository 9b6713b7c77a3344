package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"whitecross"
)

// errBreakerOpen is returned instead of sending while a provider's circuit
// breaker is open (or half-open with its probe already in flight).
var errBreakerOpen = errors.New("provider circuit breaker is open")

// breakers holds one circuit breaker per provider name, so that an outage
// of Twilio stops SMS and voice sends (they share it) but not email.
//
// A breaker opens after BreakerFailures temporary failures in a row —
// failures that are the provider's (5xx, 429, timeouts, unreachable).
// Permanent failures are the recipient's (an invalid number, a hard bounce)
// and count as successes: the provider answered. A canceled send (shutdown)
// does not count at all. After BreakerOpenFor it lets one probe through
// (half-open); the probe's success closes it, its failure opens it again.
// While open, the worker snoozes jobs instead of calling the provider, so
// an outage spends no attempts and loses no deliveries.
//
// gobreaker keeps its own (real) time; tests shorten BreakerOpenFor.
type breakers struct {
	failures uint32
	openFor  time.Duration
	metrics  *Metrics
	log      *slog.Logger

	mu     sync.Mutex
	byName map[string]*gobreaker.CircuitBreaker[*whitecross.SendResult]
}

func newBreakers(cfg DeliverConfig, log *slog.Logger) *breakers {
	b := &breakers{failures: uint32(cfg.BreakerFailures), openFor: cfg.BreakerOpenFor, metrics: cfg.Metrics, log: log,
		byName: map[string]*gobreaker.CircuitBreaker[*whitecross.SendResult]{}}
	for _, p := range cfg.Providers {
		b.get(p.Name) // the state gauge of every configured provider starts at closed
	}
	return b
}

// get returns the breaker of the provider name, creating it closed.
func (b *breakers) get(name string) *gobreaker.CircuitBreaker[*whitecross.SendResult] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.byName[name]; ok {
		return cb
	}
	cb := gobreaker.NewCircuitBreaker[*whitecross.SendResult](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe while half-open
		Timeout:     b.openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.failures },
		IsSuccessful: func(err error) bool {
			var pe *whitecross.ProviderError
			return err == nil || (errors.As(err, &pe) && pe.Permanent)
		},
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: b.changed,
	})
	b.byName[name] = cb
	b.metrics.setBreakerState(name, gobreaker.StateClosed)
	return cb
}

// changed reports a breaker's new state (gobreaker calls it holding the
// breaker's lock: it must not call back into the breaker).
func (b *breakers) changed(name string, from, to gobreaker.State) {
	b.metrics.setBreakerState(name, to)
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	b.log.Log(context.Background(), level, "provider circuit breaker "+to.String(),
		"provider", name, "from", from.String(), "open_for", b.openFor.String())
}

// send sends out through the provider's breaker; errBreakerOpen when the
// breaker refuses the request without calling the provider.
func (b *breakers) send(ctx context.Context, p Provider, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	res, err := b.get(p.Name).Execute(func() (*whitecross.SendResult, error) { return p.Sender.Send(ctx, out) })
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
