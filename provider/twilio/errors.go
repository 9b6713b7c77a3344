package twilio

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"whitecross"
)

// OptOutCode is Twilio's error 21610: the recipient texted STOP (or another
// opt-out word) to our sender, and Twilio refuses to message them until
// they text START.
const OptOutCode = "21610"

// OptedOut reports whether a Twilio error code (a send's ProviderError.Code
// or a status callback's ErrorCode) says the number has opted out: such a
// number is recorded as opted out so it is not texted again, rather than
// failing every later message alike.
func OptedOut(code string) bool { return code == OptOutCode }

// recipientErrors are Twilio error codes about the recipient or the
// content: the same request can never succeed, so they are permanent and
// the pipeline may fall back to another channel. The texts are ours:
// Twilio's own messages can quote the phone number.
var recipientErrors = map[int]string{
	21211: "invalid 'To' phone number",
	21214: "'To' phone number cannot be reached",
	21215: "geographic permission does not allow calling this number",
	21216: "number is on Twilio's call blocklist",
	21217: "phone number does not appear to be valid",
	21219: "'To' number not verified (trial account)",
	21401: "invalid phone number",
	21407: "phone number type does not support SMS",
	21408: "sending to this region is not enabled on the account",
	21421: "phone number is invalid",
	21608: "'To' number not verified (trial account)",
	21610: "recipient has replied STOP to this sender (unsubscribed)",
	21612: "'To' number is not reachable by SMS from this sender",
	21614: "'To' number is not a mobile number",
	21617: "message body exceeds 1600 characters",
}

// configErrors are codes about our account or sender: every delivery would
// fail alike until an operator fixes the settings, so they are temporary
// (retry with backoff, the breaker opens) rather than permanently failing
// — and falling back for — every recipient at once.
var configErrors = map[int]string{
	20003: "twilio rejected the credentials (check the account SID and auth token)",
	20404: "twilio account or resource not found (check the account SID and base URL)",
	21210: "'From' number is not verified for this account",
	21212: "invalid 'From' number",
	21606: "'From' number is not a message-capable Twilio number",
	21659: "'From' number is not a Twilio number",
	21611: "'From' number has too many queued messages",
	20429: "twilio rate limit reached",
}

// throttleCodes are Twilio's answers to sending faster than the account
// takes: 20429 (the account's REST API concurrency exceeded) and 21611
// (the sender's queue, ten hours of its throughput, is full). The pipeline
// slows down and retries them without spending an attempt
// (ProviderError.Throttled).
var throttleCodes = map[int]bool{20429: true, 21611: true}

func permanent(code, message string) *whitecross.ProviderError {
	return &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Code: code, Message: message}
}

// classify turns Twilio's error answer into a ProviderError:
//   - 429 and 5xx: temporary, RetryAfter from the Retry-After header;
//     429 and the codes of throttleCodes are also Throttled;
//   - 401/403: temporary, Code "auth" (misconfiguration, not the recipient);
//   - a code in configErrors: temporary with that code;
//   - any other 4xx: permanent (the same request gets the same answer), the
//     code being Twilio's when it gave one, else the HTTP status.
func classify(status, code int, retryAfter string, now time.Time) *whitecross.ProviderError {
	pe := &whitecross.ProviderError{Provider: ProviderName, Code: strconv.Itoa(status),
		Throttled: status == http.StatusTooManyRequests || throttleCodes[code]}
	if code != 0 {
		pe.Code = strconv.Itoa(code)
	}
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		pe.RetryAfter = parseRetryAfter(retryAfter, now)
		pe.Message = fmt.Sprintf("twilio temporarily unavailable (HTTP %d)", status)
		if text, ok := configErrors[code]; ok {
			pe.Message = text
		}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		pe.Code = "auth"
		pe.Message = fmt.Sprintf("twilio refused the request (HTTP %d, error %d): check the account SID and auth token", status, code)
	case configErrors[code] != "":
		pe.Message = configErrors[code]
		pe.RetryAfter = parseRetryAfter(retryAfter, now)
	case status >= 400 && status < 500:
		pe.Permanent, pe.OptedOut = true, OptedOut(pe.Code)
		pe.Message = recipientErrors[code]
		if pe.Message == "" {
			pe.Message = fmt.Sprintf("twilio rejected the request (HTTP %d, error %d)", status, code)
		}
	default:
		pe.Message = fmt.Sprintf("unexpected twilio answer (HTTP %d)", status)
	}
	return pe
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; zero when
// absent or unreadable (the pipeline's backoff applies).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
