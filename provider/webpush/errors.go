package webpush

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"whitecross"
	"whitecross/netguard"
)

// classifyStatus turns a non-2xx push service response into a
// ProviderError. The response body is not included: it is the service's
// text, and some services echo the endpoint. A 4xx is the subscription's
// problem (Recipient) except 401 (our VAPID token), 413 (the message's
// size) and 429 (the service throttling our pushes: Throttled, which the
// pipeline retries later without spending an attempt).
func (s *Sender) classifyStatus(resp *http.Response) *whitecross.ProviderError {
	code := resp.StatusCode
	pe := &whitecross.ProviderError{Provider: ProviderName, Code: strconv.Itoa(code), Recipient: code < 500 &&
		code != http.StatusUnauthorized && code != http.StatusRequestEntityTooLarge && code != http.StatusTooManyRequests}
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		pe.Permanent = true
		pe.Code = "410"
		pe.Message = "subscription expired or unsubscribed (HTTP " + strconv.Itoa(code) + ")"
	case code == http.StatusRequestEntityTooLarge:
		pe.Permanent = true
		pe.Message = "payload too large for the push service"
	case code == http.StatusTooManyRequests || code >= 500:
		pe.Message = "push service unavailable (HTTP " + strconv.Itoa(code) + ")"
		pe.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), s.now())
		pe.Throttled = code == http.StatusTooManyRequests
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// 403 usually means the subscription was made with another VAPID
		// public key; retrying cannot help. 401 is our JWT: not the
		// subscription's fault (Recipient false).
		pe.Permanent = true
		pe.Message = "push service rejected the VAPID credentials (HTTP " + strconv.Itoa(code) + ")"
	default:
		pe.Permanent = true
		pe.Message = "push service rejected the message (HTTP " + strconv.Itoa(code) + ")"
	}
	return pe
}

// classifySendError classifies an error from webpush-go before or while
// sending. Raw errors are never returned: a *url.Error names the endpoint.
func classifySendError(err error) *whitecross.ProviderError {
	if errors.Is(err, webpushgo.ErrMaxPadExceeded) {
		return &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Code: "413", Message: "payload too large for one push record"}
	}
	if errors.Is(err, netguard.ErrRefused) {
		return &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Recipient: true, Code: "forbidden_address",
			Message: "subscription endpoint is not a public address; not sent"}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		msg := "push service unreachable"
		if netErr.Timeout() {
			msg = "push service timed out"
		}
		return &whitecross.ProviderError{Provider: ProviderName, Code: "network", Message: msg}
	}
	// Anything else (TLS, a broken connection, key handling in the library
	// after parseSubscription checked the keys) may pass on a retry.
	return &whitecross.ProviderError{Provider: ProviderName, Code: "network", Message: "push request failed"}
}

// maxRetryAfter caps a Retry-After so a hostile or broken service cannot
// park a delivery for years (or overflow a Duration).
const (
	maxRetryAfter     = 24 * time.Hour
	maxRetryAfterSecs = 24 * 60 * 60
)

// retryAfter parses a Retry-After header: delta-seconds or an HTTP date.
// It returns 0 when absent, malformed or in the past, and at most a day.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, maxRetryAfterSecs))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now).Round(time.Second), maxRetryAfter)
	}
	return 0
}

// drainClose reads a little of the body so the connection can be reused,
// then closes it.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
