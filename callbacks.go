package whitecross

import (
	"context"
	"time"
)

// What providers tell us after a send, and about the numbers that text us.
// Package api checks each callback's signature and decodes it into the
// provider-neutral reports below; package delivery decides what a report
// means (ProviderCallbacks), by the same rules it applies to what a
// provider answered to the send itself.

// SendReport is a provider's later word on a send it accepted: a Twilio
// status callback, a SendGrid email event.
type SendReport struct {
	// Provider and ProviderID identify the send as its delivery recorded
	// it ("twilio" and the SID; "smtp" and the Message-ID for the events
	// SendGrid posts about mail we relayed through it).
	Provider   string
	ProviderID string
	Channel    Channel // SMS, VOICE or EMAIL
	// Status is what the send came to (forward only, as ApplyProviderStatus
	// applies it); "" when the report moves no delivery.
	Status DeliveryStatus
	// Error is the reason of a FAILED or BOUNCED status, safe to show: the
	// provider's status word and code, never an address or remote text.
	Error string
	// Code is the provider's error code, when it gave one.
	Code string
	// OptedOut is set when the provider refused an SMS because the number
	// texted STOP to our sender.
	OptedOut bool
	// To is the recipient's address as the provider names it (E.164 phone
	// or email), "" when it names none. Personal data: never log it.
	To string
	// Suppress, for email, is why To must not be emailed again (bounce,
	// complaint, unsubscribe, invalid); "" for none.
	Suppress string
	// At is when the provider saw it; zero takes the store's clock.
	At time.Time
}

// ReportOutcome is what a report changed.
type ReportOutcome struct {
	Changed    bool // a delivery moved
	OptedOut   bool // a number was recorded as opted out
	Suppressed bool // an email address was suppressed
}

// SMSKeyword is what an SMS that texted our number asks, by the provider's
// standard keywords (STOP, START, HELP and their synonyms).
type SMSKeyword string

// SMS keywords.
const (
	SMSNoKeyword SMSKeyword = ""
	SMSStop      SMSKeyword = "STOP"  // opt out of SMS
	SMSStart     SMSKeyword = "START" // opt back in
	SMSHelp      SMSKeyword = "HELP"
)

// InboundSMS is an SMS a number texted to ours. From is personal data.
type InboundSMS struct {
	From    string // E.164
	Keyword SMSKeyword
}

// ProviderCallbacks acts on what providers report (package delivery).
// These are system operations: no caller in ctx.
type ProviderCallbacks interface {
	// SendReported applies r: the opt-out or suppression it teaches, then
	// the status of the delivery it names. An address that is none (the
	// store's EINVALID) is skipped, not an error: posting the report again
	// would not change it. Any other error should make the provider post
	// it again; a report applied twice changes nothing the second time.
	SendReported(ctx context.Context, r SendReport) (ReportOutcome, error)
	// SMSReceived acts on an inbound SMS: STOP records the number as opted
	// out, START clears that, anything else changes nothing. A sender that
	// is no phone number (a short code) is skipped.
	SMSReceived(ctx context.Context, m InboundSMS) error
}
