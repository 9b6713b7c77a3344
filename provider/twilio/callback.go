package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"

	"whitecross"
)

// SignatureHeader is the header Twilio signs every webhook request with.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's X-Twilio-Signature for a form POST: base64 of
// HMAC-SHA1, keyed with the auth token, over the full URL Twilio requested
// (scheme, host, path and query) followed by every POST parameter's name
// and value, sorted by name (a repeated name's values sorted too).
func Signature(authToken, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signature (the X-Twilio-Signature
// header) is Twilio's signature of the request, compared in constant time.
// fullURL must be the URL exactly as Twilio called it — behind a proxy,
// WHITECROSS_PUBLIC_URL plus the request's path and query. Like Twilio's
// own libraries it also accepts the URL with the default port added or
// removed, since Twilio signs whichever form it was configured with.
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		// No early return: every variant costs the same.
		if hmac.Equal([]byte(Signature(authToken, u, form)), []byte(signature)) {
			ok = true
		}
	}
	return ok
}

func urlVariants(fullURL string) []string {
	u, err := url.Parse(fullURL)
	if err != nil || u.Host == "" {
		return []string{fullURL}
	}
	port := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if port == "" {
		return []string{fullURL}
	}
	other := *u
	if u.Port() == "" {
		other.Host = u.Host + ":" + port
	} else if u.Port() == port {
		other.Host = u.Hostname()
	} else {
		return []string{fullURL}
	}
	return []string{fullURL, other.String()}
}

// StatusEvent is one Twilio status callback, mapped onto our delivery
// statuses. Callbacks can arrive out of order: the pipeline must never move
// a delivery backwards (e.g. SENT after DELIVERED).
type StatusEvent struct {
	ProviderID     string // MessageSid or CallSid: SendResult.ProviderID
	Channel        whitecross.Channel
	Status         whitecross.DeliveryStatus // SENT, DELIVERED or FAILED
	ProviderStatus string                    // Twilio's own word, e.g. "undelivered", "no-answer"
	ErrorCode      string                    // Twilio's ErrorCode when given (30003, 30007, ...)
	Final          bool                      // no further callback will change it
	// OptedOut is set when an SMS failed because the number texted STOP
	// to our sender (error 21610, see OptedOut).
	OptedOut bool
}

// Reason is the reason to record with a FAILED status, "" otherwise:
// Twilio's status word and error code (digits only: the form is Twilio's,
// but the text stays one we own).
func (ev StatusEvent) Reason() string {
	if ev.Status != whitecross.DeliveryFailed {
		return ""
	}
	text := "Twilio: " + ev.ProviderStatus
	if code := ev.ErrorCode; code != "" && len(code) <= 6 && strings.Trim(code, "0123456789") == "" {
		text += " (error " + code + ")"
	}
	return text
}

var messageStatuses = map[string]whitecross.DeliveryStatus{
	"accepted":    whitecross.DeliverySent,
	"scheduled":   whitecross.DeliverySent,
	"queued":      whitecross.DeliverySent,
	"sending":     whitecross.DeliverySent,
	"sent":        whitecross.DeliverySent,
	"delivered":   whitecross.DeliveryDelivered,
	"read":        whitecross.DeliveryDelivered,
	"undelivered": whitecross.DeliveryFailed,
	"failed":      whitecross.DeliveryFailed,
	"canceled":    whitecross.DeliveryFailed,
}

var callStatuses = map[string]whitecross.DeliveryStatus{
	"queued":      whitecross.DeliverySent,
	"initiated":   whitecross.DeliverySent,
	"ringing":     whitecross.DeliverySent,
	"in-progress": whitecross.DeliverySent,
	"completed":   whitecross.DeliveryDelivered, // answered, by a person or a voicemail
	"busy":        whitecross.DeliveryFailed,
	"no-answer":   whitecross.DeliveryFailed,
	"failed":      whitecross.DeliveryFailed,
	"canceled":    whitecross.DeliveryFailed,
}

// ParseStatusCallback reads a status callback's form (already signature
// checked). It returns EINVALID when the form has no SID or an unknown
// status; an inbound message (received) is EINVALID too.
func ParseStatusCallback(form url.Values) (StatusEvent, error) {
	ev := StatusEvent{ErrorCode: form.Get("ErrorCode")}
	var table map[string]whitecross.DeliveryStatus
	switch {
	case form.Get("CallSid") != "" && form.Get("CallStatus") != "":
		ev.ProviderID, ev.ProviderStatus = form.Get("CallSid"), form.Get("CallStatus")
		ev.Channel, table = whitecross.ChannelVoice, callStatuses
	case form.Get("MessageSid") != "" || form.Get("SmsSid") != "":
		ev.ProviderID = firstOf(form, "MessageSid", "SmsSid")
		ev.ProviderStatus = firstOf(form, "MessageStatus", "SmsStatus")
		ev.Channel, table = whitecross.ChannelSMS, messageStatuses
	default:
		return StatusEvent{}, whitecross.Errorf(whitecross.EINVALID, "twilio callback has no MessageSid or CallSid")
	}
	status, ok := table[ev.ProviderStatus]
	if !ok {
		return StatusEvent{}, whitecross.Errorf(whitecross.EINVALID, "twilio callback has unknown status %q", ev.ProviderStatus)
	}
	ev.Status = status
	ev.Final = status != whitecross.DeliverySent
	ev.OptedOut = ev.Channel == whitecross.ChannelSMS && status == whitecross.DeliveryFailed && OptedOut(ev.ErrorCode)
	return ev, nil
}

func firstOf(form url.Values, names ...string) string {
	for _, n := range names {
		if v := form.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// Keyword classifies an inbound SMS against Twilio's standard opt-out
// keywords, in the domain's terms (package delivery acts on them).
type Keyword = whitecross.SMSKeyword

// Keywords.
const (
	KeywordNone   = whitecross.SMSNoKeyword
	KeywordOptOut = whitecross.SMSStop  // STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT
	KeywordOptIn  = whitecross.SMSStart // START, YES, UNSTOP
	KeywordHelp   = whitecross.SMSHelp  // HELP, INFO
)

var keywords = map[string]Keyword{
	"STOP": KeywordOptOut, "STOPALL": KeywordOptOut, "UNSUBSCRIBE": KeywordOptOut,
	"CANCEL": KeywordOptOut, "END": KeywordOptOut, "QUIT": KeywordOptOut,
	"START": KeywordOptIn, "YES": KeywordOptIn, "UNSTOP": KeywordOptIn,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// Inbound is an SMS a recipient sent to our number. From and Body are
// personal data: never log them.
type Inbound struct {
	MessageSID string
	From       string // E.164
	To         string // our number
	Body       string
	Keyword    Keyword
}

// ParseInbound reads Twilio's incoming-message webhook form (already
// signature checked). Keyword is set when the whole body, trimmed and
// case-insensitive, is one of Twilio's standard keywords, or when Twilio's
// Advanced Opt-Out sent OptOutType. Missing From or MessageSid is EINVALID.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{
		MessageSID: firstOf(form, "MessageSid", "SmsSid"),
		From:       form.Get("From"),
		To:         form.Get("To"),
		Body:       form.Get("Body"),
	}
	if in.MessageSID == "" || in.From == "" {
		return Inbound{}, whitecross.Errorf(whitecross.EINVALID, "twilio inbound message has no MessageSid or From")
	}
	switch strings.ToUpper(form.Get("OptOutType")) {
	case "STOP":
		in.Keyword = KeywordOptOut
	case "START":
		in.Keyword = KeywordOptIn
	case "HELP":
		in.Keyword = KeywordHelp
	default:
		word := strings.ToUpper(strings.Trim(in.Body, " \t\r\n.!"))
		in.Keyword = keywords[word]
	}
	return in, nil
}
