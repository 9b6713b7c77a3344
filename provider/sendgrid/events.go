package sendgrid

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// Event types SendGrid posts that whitecross acts on.
const (
	EventProcessed        = "processed"
	EventDelivered        = "delivered"
	EventDeferred         = "deferred"
	EventBounce           = "bounce"
	EventDropped          = "dropped"
	EventSpamReport       = "spamreport"
	EventUnsubscribe      = "unsubscribe"
	EventGroupUnsubscribe = "group_unsubscribe"
	EventOpen             = "open"
	EventClick            = "click"
)

// Bounce types of a "bounce" event.
const (
	BounceHard    = "bounce"  // the address does not accept mail
	BounceBlocked = "blocked" // the receiving server refused this message, not the address
)

// Suppression reasons an event gives for an address.
const (
	SuppressBounce      = "bounce"
	SuppressComplaint   = "complaint"
	SuppressUnsubscribe = "unsubscribe"
	SuppressInvalid     = "invalid"
)

// Event is one event of a batch, reduced to what whitecross uses.
type Event struct {
	Type string // "delivered", "bounce", ... (see the Event constants)
	// BounceType is BounceHard or BounceBlocked for a bounce event.
	BounceType string
	// Email is the recipient: personal data, never log it.
	Email string
	// At is when SendGrid saw the event; zero when the event has none.
	At time.Time
	// MessageID is the email's Message-ID with its angle brackets
	// ("<deliveryID@domain>"), the delivery's provider id; "" when the
	// event names none.
	MessageID string
	// Status is the SMTP enhanced status code ("5.1.1") of a bounce or
	// drop, when SendGrid gives a well-formed one.
	Status string
	// Reason is SendGrid's explanation. It often quotes the receiving
	// server, which may quote the address: never log or store it; Effect
	// builds a safe text.
	Reason string
}

// rawEvent is an event as SendGrid posts it; fields we do not use are
// ignored (categories and unique arguments vary in type).
type rawEvent struct {
	Event     string          `json:"event"`
	Email     string          `json:"email"`
	Timestamp json.RawMessage `json:"timestamp"`
	SMTPID    string          `json:"smtp-id"`
	Type      string          `json:"type"`
	Status    string          `json:"status"`
	Reason    string          `json:"reason"`
}

var enhancedStatus = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)

// ParseEvents reads the body of an event POST: a JSON array of events. A
// body that is not a JSON array is EINVALID. An element that is not an
// event object of the expected shape is skipped, so one odd event never
// holds back the rest of the batch.
func ParseEvents(body []byte) ([]Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body", nil, "SendGrid events must be a JSON array of event objects.")
	}
	events := make([]Event, 0, len(raws))
	for _, raw := range raws {
		var r rawEvent
		if err := json.Unmarshal(raw, &r); err != nil || r.Event == "" {
			continue
		}
		ev := Event{
			Type:       strings.ToLower(strings.TrimSpace(r.Event)),
			BounceType: strings.ToLower(strings.TrimSpace(r.Type)),
			Email:      strings.TrimSpace(r.Email),
			MessageID:  normalizeMessageID(r.SMTPID),
			Reason:     r.Reason,
		}
		if s := strings.TrimSpace(r.Status); enhancedStatus.MatchString(s) {
			ev.Status = s
		}
		ev.At = unixTime(r.Timestamp)
		events = append(events, ev)
	}
	return events, nil
}

// unixTime reads SendGrid's timestamp (Unix seconds, a number; a quoted
// number is tolerated); zero when it is missing or not a time.
func unixTime(raw json.RawMessage) time.Time {
	secs, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
	if err != nil || secs <= 0 || secs > 1<<40 {
		return time.Time{}
	}
	return time.Unix(int64(secs), 0).UTC()
}

// normalizeMessageID returns id with exactly one pair of angle brackets, as
// the Message-ID header and the delivery's provider id carry it, or "" for
// an id that cannot be one (empty, spaces, control characters, too long).
func normalizeMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" || len(id) > 998 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }) {
		return ""
	}
	return "<" + id + ">"
}

// Effect is what one event does in whitecross.
type Effect struct {
	// Status moves the delivery (forward only); "" leaves it as it is.
	Status whitecross.DeliveryStatus
	// Suppress, when set, stops email to the event's address, for this
	// reason (SuppressBounce, SuppressComplaint, ...).
	Suppress string
	// Error is the reason recorded with a FAILED or BOUNCED status: our
	// words and SMTP status codes, never the address or the remote text.
	Error string
}

// droppedReasons are SendGrid's fixed reasons for dropping an email, with
// the suppression each implies ("" none).
var droppedReasons = map[string]string{
	"bounced address":                   SuppressBounce,
	"spam reporting address":            SuppressComplaint,
	"unsubscribed address":              SuppressUnsubscribe,
	"invalid":                           SuppressInvalid,
	"invalid smtpapi header":            "",
	"spam content":                      "",
	"recipient list over package quota": "",
}

// Effect maps the event onto a delivery status and a suppression:
//
//   - delivered, open, click: DELIVERED (an open or click proves arrival;
//     statuses never move back, so a late one changes nothing).
//   - bounce of type "bounce" (hard bounce): BOUNCED, address suppressed.
//   - bounce of type "blocked": FAILED, address not suppressed — the
//     receiving server refused this message (content, our IP's reputation),
//     not the address, and SendGrid does not retry it.
//   - dropped: FAILED; the address is suppressed when SendGrid dropped it
//     for a bounce, spam report, unsubscribe or invalid address.
//   - spamreport (a complaint): BOUNCED, address suppressed.
//   - unsubscribe, group_unsubscribe: address suppressed, status unchanged.
//   - processed, deferred (SendGrid keeps retrying) and anything else:
//     nothing.
func (e Event) Effect() Effect {
	switch e.Type {
	case EventDelivered, EventOpen, EventClick:
		return Effect{Status: whitecross.DeliveryDelivered}
	case EventBounce:
		if e.BounceType == BounceBlocked {
			return Effect{Status: whitecross.DeliveryFailed, Error: withStatus("email blocked by the receiving server", e.Status)}
		}
		return Effect{Status: whitecross.DeliveryBounced, Suppress: SuppressBounce, Error: withStatus("email bounced (hard bounce)", e.Status)}
	case EventDropped:
		reason := strings.ToLower(strings.TrimSpace(e.Reason))
		suppress, known := droppedReasons[reason]
		text := "email dropped by SendGrid"
		if known {
			text += ": " + reason
		}
		return Effect{Status: whitecross.DeliveryFailed, Suppress: suppress, Error: text}
	case EventSpamReport:
		return Effect{Status: whitecross.DeliveryBounced, Suppress: SuppressComplaint, Error: "recipient reported the email as spam"}
	case EventUnsubscribe, EventGroupUnsubscribe:
		return Effect{Suppress: SuppressUnsubscribe}
	}
	return Effect{}
}

func withStatus(text, status string) string {
	if status == "" {
		return text
	}
	return text + " (" + status + ")"
}
