package delivery

import (
	"context"
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
// QueueConfig.Deliver.
type DeliverConfig struct {
	Store whitecross.DeliveryWorkStore
	// Providers by channel. A channel without one is not configured: its
	// deliveries fail at once with that reason, and fall back.
	Providers map[whitecross.Channel]Provider
	// PublicURL builds the link to a message in the app.
	PublicURL string
	// Metrics, when set, counts deliveries, retries and provider latency.
	Metrics *Metrics
	// Observe, when set, is told of every committed delivery change
	// (realtime delivery.updated events).
	Observe func(context.Context, *whitecross.DeliveryChange)
	// Timeout bounds one attempt (default DefaultDeliverTimeout).
	Timeout time.Duration
}

// DefaultDeliverTimeout bounds one attempt of a delivery; providers time
// out sooner (Twilio 15 s, SMTP 30 s per command).
const DefaultDeliverTimeout = time.Minute
