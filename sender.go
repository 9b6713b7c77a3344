package whitecross

import (
	"context"
	"fmt"
	"time"
)

// Outbound is one delivery as a provider sends it: already rendered for its
// channel, with PHI already removed when the message is sensitive (the
// delivery pipeline builds it; providers never see the Message).
type Outbound struct {
	// DeliveryID identifies the delivery; providers that accept an
	// idempotency key get it, so a retried send is not sent twice.
	DeliveryID string
	// TenantID is the district the delivery belongs to (the capture
	// outbox shows each district its own sends).
	TenantID string
	Channel  Channel
	// To is the address for the channel: an email address, an E.164 phone
	// number, or a Web Push subscription (its JSON as the browser gave it).
	To     string
	ToName string // display name for email; never logged
	Locale string // BCP 47, e.g. "en", "es": voice reads in this language
	// FromName is the sender's display name (the district's), for email.
	FromName string
	Subject  string // email subject and push title
	Text     string // plain text: the SMS, the voice script, the email's text part, the push body
	HTML     string // the email's HTML part ("" to send text only)
	Link     string // absolute URL of the message in the app
	Urgent   bool   // EMERGENCY or URGENT: push with high urgency
}

// SendResult is what a provider accepted.
type SendResult struct {
	// ProviderID is the provider's id for the send (Twilio's SID, the SMTP
	// Message-ID, ...), recorded before the job is acknowledged so a retry
	// never sends twice and callbacks can find the delivery.
	ProviderID string
	// Status is DeliverySent, or DeliveryDelivered for channels whose
	// acceptance is the delivery (capture).
	Status DeliveryStatus
}

// Sender sends one outbound message over one outside service. Each provider
// package implements it and imports nothing else of ours.
type Sender interface {
	// Send returns a *ProviderError for failures the provider reported;
	// Permanent ones must not be retried.
	Send(ctx context.Context, out *Outbound) (*SendResult, error)
}

// ProviderError is a failure reported by a provider, classified so the
// pipeline knows whether to retry.
type ProviderError struct {
	Provider string // "smtp", "twilio", "webpush", "capture"
	// Permanent failures (invalid number, hard bounce, unsubscribed push
	// endpoint) stop at once and may trigger channel fallback; temporary
	// ones retry with backoff.
	Permanent bool
	// Code is the provider's own code ("21211", "550", "410"), for the
	// delivery's error text and metrics.
	Code    string
	Message string // safe to store and show: no message content, no addresses
	// RetryAfter is the provider's requested wait for a temporary failure.
	RetryAfter time.Duration
	// Recipient says the failure concerns this recipient's address alone
	// (a mailbox refused at RCPT TO, a push subscription the push service
	// refused, an endpoint on a forbidden address), not the provider: it
	// never counts toward the provider's circuit breaker, so one user's bad
	// address cannot delay anyone else's deliveries.
	Recipient bool
	// Throttled, on a temporary failure, says the provider refused because
	// we send faster than it accepts (HTTP 429, Twilio 20429, an SMTP relay's
	// "sending rate exceeded"): nothing is wrong with the provider or the
	// recipient, so the pipeline slows down and tries again later without
	// spending an attempt or counting it toward the circuit breaker.
	Throttled bool
	// OptedOut, on a permanent SMS failure, says the recipient's number
	// refused our sender (texted STOP): the pipeline records the opt-out so
	// the number is not texted again (Twilio's error 21610).
	OptedOut bool
}

func (e *ProviderError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s %s failure %s: %s", e.Provider, kind, e.Code, e.Message)
}
