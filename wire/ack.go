package wire

import (
	"time"

	"whitecross"
)

// MessageAck is the acknowledgement part of a Message (embedded, so its
// fields are the Message's own on every wire).
type MessageAck struct {
	AckRequested bool        `json:"ack_requested" doc:"The sender asks every recipient to acknowledge it (PUT /messages/{id}/ack)"`
	AckedAt      *time.Time  `json:"acked_at" doc:"When the caller acknowledged it (the caller's own), or null"`
	AckSummary   *AckSummary `json:"ack_summary,omitempty" doc:"How many recipients were asked and have acknowledged; for the sender and ADMINs, when ack_requested"`
	Escalation   *Escalation `json:"escalation" doc:"How recipients who do not acknowledge are contacted again, or null"`
}

// AckSummary counts a message's acknowledgements.
type AckSummary struct {
	Requested int `json:"requested" doc:"Recipients asked: every recipient, those escalation added included"`
	Acked     int `json:"acked"`
}

// Escalation is how a message's recipients who have not acknowledged it
// are contacted again. Its tags also validate a send request's.
type Escalation struct {
	AfterMinutes   int      `json:"after_minutes" minimum:"1" maximum:"1440" doc:"Minutes after sending before each round: round k runs after k × after_minutes"`
	Channels       []string `json:"channels" nullable:"false" minItems:"1" maxItems:"4" enum:"EMAIL,SMS,PUSH,VOICE" doc:"Channels each round sends on (the district must allow them); the app is not one: everyone has the message there already"`
	Repeat         int      `json:"repeat" required:"false" minimum:"0" maximum:"5" default:"0" doc:"Rounds after the first, at the same interval (0 to 5)"`
	OtherGuardians bool     `json:"other_guardians" required:"false" doc:"At the first round, a guardian who has not acknowledged also makes the other custodial guardians of the same students recipients (in the app and on the escalation channels); never a non-custodial contact, and only people the sender may message"`
}

// messageAckFrom is the acknowledgement part of m.
func messageAckFrom(m *whitecross.Message) MessageAck {
	out := MessageAck{AckRequested: m.AckRequested, AckedAt: m.AckedAt}
	if m.AckSummary != nil {
		out.AckSummary = &AckSummary{Requested: m.AckSummary.Requested, Acked: m.AckSummary.Acked}
	}
	if e := m.Escalation; e != nil {
		out.Escalation = &Escalation{AfterMinutes: e.AfterMinutes, Channels: ChannelNames(e.Channels), Repeat: e.Repeat, OtherGuardians: e.OtherGuardians}
	}
	return out
}

// EscalationTo is the domain's escalation of e (nil for nil).
func EscalationTo(e *Escalation) *whitecross.Escalation {
	if e == nil {
		return nil
	}
	return &whitecross.Escalation{AfterMinutes: e.AfterMinutes, Channels: ChannelsOf(e.Channels), Repeat: e.Repeat, OtherGuardians: e.OtherGuardians}
}

// Ack is one recipient's acknowledgement state, as the sender sees it.
type Ack struct {
	UserID  string     `json:"user_id" format:"uuid"`
	Name    string     `json:"name"`
	AckedAt *time.Time `json:"acked_at" doc:"When they acknowledged it, or null while pending"`
}

// AckFrom is a on every wire.
func AckFrom(a *whitecross.Ack) Ack {
	return Ack{UserID: a.UserID, Name: a.Name, AckedAt: a.AckedAt}
}

// AckReceived is the data of the realtime ack.received event: a recipient
// acknowledged one of the user's messages; AckedAt is the same time as
// that recipient's Ack.AckedAt.
type AckReceived struct {
	MessageID string    `json:"message_id" format:"uuid"`
	UserID    string    `json:"user_id" format:"uuid"`
	AckedAt   time.Time `json:"acked_at"`
}
