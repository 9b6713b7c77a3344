package whitecross

import (
	"context"
	"time"
)

// EventType names a durable realtime event: one a user must not miss, kept
// in their event log with a per-user sequence number (docs/realtime.md).
type EventType string

// Durable event types (API.md, Realtime). Each is also the type of the
// WebSocket frame that carries it.
const (
	EventMessageCreated  EventType = "message.created"
	EventDeliveryUpdated EventType = "delivery.updated"
	EventReceiptRead     EventType = "receipt.read"
	// EventAckReceived tells a sender that a recipient acknowledged their
	// message (ActorID, At: when).
	EventAckReceived EventType = "ack.received"
)

// Event is one entry of a user's event log: ids and times, never content
// (the realtime gateway loads, and decrypts, what it sends when it sends
// it). The store appends events in the transaction of the change that
// causes them; the gateway reads and relays them.
type Event struct {
	TenantID  string
	UserID    string
	Seq       int64
	Type      EventType
	MessageID string
	// DeliveryID is the delivery of a delivery.updated event.
	DeliveryID string
	// ActorID is the reader of a receipt.read event, the recipient of an
	// ack.received one.
	ActorID string
	At      time.Time
	// Delivery is, on a delivery.updated event handed to the notifier, the
	// delivery as its transaction committed it, so the live push needs no
	// read of its own. It is never stored: nil on events read from the log
	// (and on those another instance relays), whose frame reads the
	// delivery.
	Delivery *Delivery
}

// EventNotifier is told, after commit, of the events a transaction
// appended (in user-id order, then seq), so the realtime gateway can push
// them to connected clients on every instance. It runs in the committing
// goroutine and should not block for long.
type EventNotifier func(ctx context.Context, events []Event)
