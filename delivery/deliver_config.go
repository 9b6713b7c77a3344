package delivery

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"whitecross"
)

// Provider is the outside service configured for a channel.
type Provider struct {
	// Name ("smtp", "twilio", "webpush", "capture") keys the circuit
	// breaker and the metrics: SMS and voice share Twilio's breaker.
	Name   string
	Sender whitecross.Sender
}

// DeliverConfig is what deliver jobs need; cmd/whitecross wires it into
// QueueConfig.Deliver. Zero values take the defaults below.
type DeliverConfig struct {
	Store whitecross.DeliveryWorkStore
	// Providers by channel. A channel without one is not configured: its
	// deliveries fail at once with that reason, and fall back.
	Providers map[whitecross.Channel]Provider
	// PublicURL builds the link to a message in the app.
	PublicURL string
	// Metrics, when set, times provider calls and follows the circuit
	// breakers. Deliveries and retries are counted from the store's
	// post-commit notifier (Metrics.ObserveEvents), not here.
	Metrics *Metrics
	// Timeout bounds one attempt (default DefaultDeliverTimeout).
	Timeout time.Duration
	// MaxAttempts is how many times a delivery is tried before it ends
	// FAILED (default DeliverMaxAttempts). Attempts refused by an open
	// circuit breaker do not count.
	MaxAttempts int
	// RetryBase and RetryMax shape the wait before a retry: RetryBase after
	// the first attempt, doubling each time, never more than RetryMax,
	// with equal jitter (see deliverBackoff). Defaults DefaultRetryBase and
	// DefaultRetryMax.
	RetryBase, RetryMax time.Duration
	// BreakerFailures is how many temporary failures in a row open a
	// provider's circuit breaker (default DefaultBreakerFailures);
	// BreakerOpenFor is how long it stays open before letting one probe
	// through (default DefaultBreakerOpenFor).
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// Rates are the most sends per second of each channel, per process
	// (PUSH: deliveries, each to all of a person's browsers); fractions
	// allowed. A channel without one, or 0, is not paced. See pacer: a
	// send waits its turn (EMERGENCY and URGENT first), and a provider's
	// throttle lowers the rate for a while. Defaults are the operator's
	// (cmd/whitecross), from the providers' published limits.
	Rates map[whitecross.Channel]float64
}

// Defaults of DeliverConfig.
const (
	// DefaultDeliverTimeout bounds one attempt of a delivery; providers
	// time out sooner (Twilio 15 s, SMTP 30 s per command).
	DefaultDeliverTimeout = time.Minute
	// DefaultRetryBase is the wait after a delivery's first failed attempt.
	DefaultRetryBase = 5 * time.Second
	// DefaultRetryMax caps the wait between two attempts.
	DefaultRetryMax = time.Hour
	// DefaultBreakerFailures temporary failures in a row open a breaker:
	// enough that one unlucky recipient never opens it, few enough that an
	// outage costs a handful of attempts, not thousands.
	DefaultBreakerFailures = 5
	// DefaultBreakerOpenFor is how long an open breaker refuses sends
	// before one probe may test the provider again.
	DefaultBreakerOpenFor = 30 * time.Second
)

func (c DeliverConfig) withDefaults() DeliverConfig {
	c.Timeout = cmp.Or(c.Timeout, DefaultDeliverTimeout)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DeliverMaxAttempts)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.BreakerFailures = cmp.Or(c.BreakerFailures, DefaultBreakerFailures)
	c.BreakerOpenFor = cmp.Or(c.BreakerOpenFor, DefaultBreakerOpenFor)
	return c
}

// validate reports a rate that cannot be paced at.
func (c DeliverConfig) validate() error {
	for ch, r := range c.Rates {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return fmt.Errorf("deliver: rate of %s must be 0 (unlimited) or a positive number of sends per second, got %v", ch, r)
		}
	}
	return nil
}
