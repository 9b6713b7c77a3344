// Package twilio sends SMS and voice calls through Twilio's REST API
// (2010-04-01) with plain net/http, and reads Twilio's callbacks: status
// callbacks, inbound SMS (STOP/START keywords) and the X-Twilio-Signature
// that authenticates them.
//
// It imports nothing of ours but the root whitecross package.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"whitecross"
)

// ProviderName is the Provider of every *whitecross.ProviderError this
// package returns, and the name deliveries sent through Twilio record, which
// its callbacks are matched by.
const ProviderName = "twilio"

// DefaultBaseURL is Twilio's API host, without the version path.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one request to Twilio when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// IdempotencyHeader carries the delivery id on every create request, so a
// retry of a request whose answer was lost can be recognised as the same send.
const IdempotencyHeader = "I-Twilio-Idempotency-Token"

// maxResponseBytes caps how much of Twilio's answer is read.
const maxResponseBytes = 1 << 20

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

// IsAccountSID reports whether s has the form of an account SID ("AC" and
// 32 hex digits), as New requires: the configuration checks it at start.
func IsAccountSID(s string) bool { return accountSIDPattern.MatchString(s) }

// IsMessagingServiceSID reports whether s has the form of a Messaging
// Service SID ("MG" and 32 hex digits), which New accepts as From.
func IsMessagingServiceSID(s string) bool { return serviceSIDPattern.MatchString(s) }

// Config configures a Client. BaseURL, HTTPClient and Timeout have defaults.
type Config struct {
	// BaseURL stands in for https://api.twilio.com (no version path); tests
	// and proxies point it elsewhere.
	BaseURL    string
	AccountSID string // AC + 32 hex digits
	AuthToken  string // never logged
	// From is the sender: an E.164 number, or a Messaging Service SID
	// (MG + 32 hex), sent as MessagingServiceSid. A Messaging Service cannot
	// place calls, so VOICE sends then fail permanently with code "config".
	From string
	// StatusCallbackURL is the absolute URL Twilio posts status changes to,
	// built by the caller from WHITECROSS_PUBLIC_URL, e.g.
	// https://host/api/v1/webhooks/twilio/status. Empty sends no callback.
	StatusCallbackURL string
	HTTPClient        *http.Client  // default: a client with Timeout
	Timeout           time.Duration // per request; default DefaultTimeout
}

// Client sends SMS and VOICE outbounds through Twilio. It is safe for
// concurrent use.
type Client struct {
	base       string // BaseURL without trailing slash
	accountSID string
	authToken  string
	from       string
	service    bool // from is a Messaging Service SID
	callback   string
	http       *http.Client
	timeout    time.Duration
	now        func() time.Time // for Retry-After dates
}

var _ whitecross.Sender = (*Client)(nil)

// New validates cfg and returns a Client. A bad setting is EINVALID naming
// the setting; the auth token's value never appears in the error.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !absoluteURL(base) {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio base URL must be an absolute http(s) URL")
	}
	if !accountSIDPattern.MatchString(cfg.AccountSID) {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio account SID must be AC followed by 32 hex digits")
	}
	if cfg.AuthToken == "" {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio auth token is required")
	}
	service := serviceSIDPattern.MatchString(cfg.From)
	if !service && !e164Pattern.MatchString(cfg.From) {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio from must be an E.164 number (+15551234567) or a Messaging Service SID (MG...)")
	}
	if cfg.StatusCallbackURL != "" && !absoluteURL(cfg.StatusCallbackURL) {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio status callback URL must be an absolute http(s) URL")
	}
	if cfg.Timeout < 0 {
		return nil, whitecross.Errorf(whitecross.EINVALID, "twilio timeout must not be negative")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	return &Client{
		base:       base,
		accountSID: cfg.AccountSID,
		authToken:  cfg.AuthToken,
		from:       cfg.From,
		service:    service,
		callback:   cfg.StatusCallbackURL,
		http:       hc,
		timeout:    timeout,
		now:        time.Now,
	}, nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// Send sends out as an SMS (Messages.json) or a voice call (Calls.json)
// and returns Twilio's SID as ProviderID with status SENT. Failures are
// *whitecross.ProviderError (see errors.go for the classification); a
// canceled ctx returns ctx's error unwrapped by classification.
func (c *Client) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	if out == nil {
		return nil, permanent("invalid_request", "no outbound given")
	}
	if !e164Pattern.MatchString(out.To) {
		// Twilio would answer 21211; answering here saves a request and
		// keeps the number out of Twilio's error text.
		return nil, permanent("21211", "recipient is not an E.164 phone number")
	}
	var resource string
	var form url.Values
	switch out.Channel {
	case whitecross.ChannelSMS:
		resource, form = "Messages.json", c.messageForm(out)
	case whitecross.ChannelVoice:
		if c.service {
			return nil, permanent("config", "a Messaging Service SID cannot place calls: set an E.164 from number for voice")
		}
		resource, form = "Calls.json", c.callForm(out)
	default:
		return nil, permanent("channel", fmt.Sprintf("twilio does not send channel %s", out.Channel))
	}
	sid, err := c.post(ctx, resource, out.DeliveryID, form)
	if err != nil {
		return nil, err
	}
	return &whitecross.SendResult{ProviderID: sid, Status: whitecross.DeliverySent}, nil
}

// SMSBody is the SMS text for out: Text, then Link on its own line unless
// Text already contains it (the pipeline may have written it in already).
func SMSBody(out *whitecross.Outbound) string {
	body := strings.TrimSpace(out.Text)
	if out.Link == "" || strings.Contains(body, out.Link) {
		return body
	}
	if body == "" {
		return out.Link
	}
	return body + "\n" + out.Link
}

func (c *Client) messageForm(out *whitecross.Outbound) url.Values {
	form := url.Values{}
	form.Set("To", out.To)
	if c.service {
		form.Set("MessagingServiceSid", c.from)
	} else {
		form.Set("From", c.from)
	}
	form.Set("Body", SMSBody(out))
	if c.callback != "" {
		form.Set("StatusCallback", c.callback)
	}
	return form
}

func (c *Client) callForm(out *whitecross.Outbound) url.Values {
	form := url.Values{}
	form.Set("To", out.To)
	form.Set("From", c.from)
	form.Set("Twiml", VoiceTwiML(out.Locale, out.Text))
	if c.callback != "" {
		form.Set("StatusCallback", c.callback)
		form.Set("StatusCallbackMethod", http.MethodPost)
		// Only the final event: it carries every outcome (completed, busy,
		// no-answer, failed, canceled); the intermediate ones would only
		// multiply callbacks during a district-wide emergency call.
		form.Set("StatusCallbackEvent", "completed")
	}
	return form
}

// apiResponse is the part of Twilio's Message/Call resource and error body
// that we read.
type apiResponse struct {
	SID     string `json:"sid"`
	Status  any    `json:"status"` // a string on resources, a number on errors
	Code    int    `json:"code"`
	Message string `json:"message"` // never used: it may quote the number
}

func (c *Client) post(ctx context.Context, resource, idempotencyKey string, form url.Values) (string, error) {
	endpoint := c.base + "/2010-04-01/Accounts/" + url.PathEscape(c.accountSID) + "/" + resource
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("build twilio request: %w", err)
	}
	req.SetBasicAuth(c.accountSID, c.authToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if idempotencyKey != "" {
		req.Header.Set(IdempotencyHeader, idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			// The caller gave up (shutdown): not a provider failure.
			return "", fmt.Errorf("send to twilio: %w", ctx.Err())
		}
		// A timeout or broken connection: Twilio may or may not have
		// accepted, so the retry carries the same idempotency token.
		return "", &whitecross.ProviderError{Provider: ProviderName, Code: "network", Message: "could not reach twilio or no answer in time"}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", &whitecross.ProviderError{Provider: ProviderName, Code: "network", Message: "twilio answer was cut off"}
	}
	var body apiResponse
	_ = json.Unmarshal(raw, &body) // an unparsable body is classified by status alone
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if body.SID == "" {
			return "", &whitecross.ProviderError{Provider: ProviderName, Code: "bad_response", Message: fmt.Sprintf("twilio answered %d without a sid", resp.StatusCode)}
		}
		return body.SID, nil
	}
	return "", classify(resp.StatusCode, body.Code, resp.Header.Get("Retry-After"), c.now())
}
