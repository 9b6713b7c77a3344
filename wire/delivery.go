package wire

import (
	"cmp"
	"time"

	"whitecross"
)

// Delivery is one message to one recipient over one channel.
type Delivery struct {
	ID          string     `json:"id" format:"uuid"`
	RecipientID string     `json:"recipient_id" format:"uuid"`
	Channel     string     `json:"channel" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE"`
	Status      string     `json:"status" enum:"PENDING,SENT,DELIVERED,FAILED,BOUNCED"`
	Attempts    int        `json:"attempts"`
	Error       *string    `json:"error" doc:"Why it failed or bounced, or null"`
	AttemptKind string     `json:"attempt_kind" enum:"INITIAL,ESCALATION" doc:"INITIAL: the message's own delivery (or its fallback); ESCALATION: sent again by an escalation round to a recipient who had not acknowledged"`
	QueuedAt    time.Time  `json:"queued_at"`
	SentAt      *time.Time `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	FailedAt    *time.Time `json:"failed_at"`
	BouncedAt   *time.Time `json:"bounced_at"`
}

// DeliveryFrom is d on every wire.
func DeliveryFrom(d *whitecross.Delivery) Delivery {
	return Delivery{
		ID: d.ID, RecipientID: d.RecipientID, Channel: string(d.Channel), Status: string(d.Status),
		Attempts: d.Attempts, Error: d.Error, AttemptKind: string(cmp.Or(d.AttemptKind, whitecross.AttemptInitial)),
		QueuedAt: d.QueuedAt, SentAt: d.SentAt,
		DeliveredAt: d.DeliveredAt, FailedAt: d.FailedAt, BouncedAt: d.BouncedAt,
	}
}

// DeliveryUpdate is the data of the realtime delivery.updated event: a
// delivery of one of the user's messages, as it changed.
type DeliveryUpdate struct {
	MessageID string   `json:"message_id" format:"uuid"`
	Delivery  Delivery `json:"delivery"`
}
