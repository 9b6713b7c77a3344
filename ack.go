package whitecross

import (
	"context"
	"time"
)

// Acknowledgement and escalation (API.md, "Acknowledgement and
// escalation"): a sender asks the recipients to confirm they saw a message
// and, optionally, has the ones who have not confirmed in time contacted
// again on other channels, and the other custodial guardians of their
// students brought in.

// Escalation limits, enforced by the store (EINVALID naming the field) and
// documented in the OpenAPI spec.
const (
	MinEscalationAfterMinutes = 1
	MaxEscalationAfterMinutes = 1440 // one day
	// MaxEscalationRepeat bounds the rounds after the first: a message
	// escalates at most MaxEscalationRepeat+1 times, so a forgotten
	// acknowledgement never turns into calls without end.
	MaxEscalationRepeat = 5
)

// Escalation says how a message whose recipient has not acknowledged it
// is sent again. Round k (1, 2, …, Repeat+1) runs AfterMinutes×k after the
// message was sent and reaches every recipient who has not acknowledged
// yet on Channels (deliveries of AttemptKind ESCALATION). With
// OtherGuardians, the first round also makes the other custodial
// guardians of the students of a guardian who has not acknowledged
// recipients (never a non-custodial contact, and only people the sender
// may message).
type Escalation struct {
	AfterMinutes   int       `json:"after_minutes"`
	Channels       []Channel `json:"channels"`
	Repeat         int       `json:"repeat"`
	OtherGuardians bool      `json:"other_guardians"`
}

// Rounds is how many times the message escalates at most.
func (e *Escalation) Rounds() int { return e.Repeat + 1 }

// DueAt is when round (1-based) runs for a message sent at sentAt.
func (e *Escalation) DueAt(sentAt time.Time, round int) time.Time {
	return sentAt.Add(time.Duration(round*e.AfterMinutes) * time.Minute)
}

// AckSummary counts a message's acknowledgements, for its sender and admins.
type AckSummary struct {
	Requested int // recipients asked (every recipient, those escalation added included)
	Acked     int
}

// AttemptKind tells a message's first deliveries from the ones escalation
// sends again.
type AttemptKind string

// Attempt kinds.
const (
	AttemptInitial    AttemptKind = "INITIAL"
	AttemptEscalation AttemptKind = "ESCALATION"
)

// AttemptKinds lists every attempt kind.
var AttemptKinds = []AttemptKind{AttemptInitial, AttemptEscalation}

// Ack is one recipient's acknowledgement state of a message, as its sender
// sees it; AckedAt is nil while pending.
type Ack struct {
	UserID  string
	Name    string
	AckedAt *time.Time
}

// AckStatus filters an acknowledgement listing.
type AckStatus string

// Acknowledgement listing filters ("" lists everyone asked).
const (
	AckStatusAcked   AckStatus = "acked"
	AckStatusPending AckStatus = "pending"
)

// AckFilter narrows an acknowledgement listing.
type AckFilter struct {
	Status AckStatus
	Limit  int    // 1..100, default 50
	Cursor string // opaque, from AckPage.NextCursor
}

// AckPage is one page of a message's acknowledgements, by name, with the
// message's counts as the page was read (a live report refreshes both at
// once).
type AckPage struct {
	Items      []*Ack
	NextCursor string // "" on the last page
	Summary    AckSummary
}

// AckService records and reports acknowledgements. Every method is scoped
// to the caller's tenant.
type AckService interface {
	// Acknowledge records that the caller, a recipient of message id that
	// asks for it, acknowledged it: the first time is kept (acknowledging
	// again changes nothing), it also reads the message (as SetRead), the
	// sender gets ack.received, and it is audited (message.acknowledged).
	// ENOTFOUND for anyone who is not a recipient of a delivered message,
	// the sender included; ECONFLICT when the message does not ask for
	// acknowledgement.
	Acknowledge(ctx context.Context, id string) error
	// ListAcks returns one page of the recipients asked, ordered by
	// lower-cased name then id, filtered by status (sender and admins;
	// EFORBIDDEN for a recipient, ENOTFOUND for anyone else). EINVALID
	// naming query.status, query.limit or query.cursor; ECONFLICT when the
	// message does not ask for acknowledgement.
	ListAcks(ctx context.Context, id string, f AckFilter) (*AckPage, error)
}

// Audit actions of acknowledgement and escalation.
const (
	// AuditMessageAcknowledged records a recipient's first acknowledgement.
	AuditMessageAcknowledged = "message.acknowledged"
	// AuditMessageEscalated records one step of an escalation round by the
	// system (detail: round, recipients contacted again, guardians added).
	AuditMessageEscalated = "message.escalated"
)
