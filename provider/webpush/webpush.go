// Package webpush sends browser push notifications (RFC 8030) with an
// aes128gcm-encrypted payload (RFC 8291) and VAPID authentication
// (RFC 8292), using github.com/SherClockHolmes/webpush-go. It implements
// whitecross.Sender and imports nothing else of ours.
//
// Subscription endpoints are bearer secrets (anyone holding one can push to
// the browser): they never appear in errors or logs from this package.
package webpush

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdh"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"whitecross"
	"whitecross/netguard"
)

// ProviderName is the Provider of every *whitecross.ProviderError this
// package returns.
const ProviderName = "webpush"

// Defaults and limits.
const (
	// DefaultTTL is how long the push service keeps a message for an
	// offline browser when Config.TTL is zero.
	DefaultTTL = 24 * time.Hour
	// MaxTTL is the longest TTL accepted (push services cap it near 4 weeks).
	MaxTTL = 28 * 24 * time.Hour
	// DefaultTimeout bounds one request when Config.Timeout is zero. Push
	// services answer within a second; a longer wait is an endpoint
	// holding a delivery worker that other districts' alerts need.
	DefaultTimeout = 10 * time.Second
	// MaxPayloadBytes is the largest JSON payload that fits one 4096-byte
	// aes128gcm record (4096 - 16 tag - 86 header - 1 delimiter). Longer
	// bodies are shortened with "…"; see Send.
	MaxPayloadBytes = 3993
)

// Config configures a Sender.
type Config struct {
	// PublicKey and PrivateKey are the VAPID key pair in base64url (see
	// GenerateVAPIDKeys, LoadOrCreateVAPIDKeys). Browsers subscribe with
	// the public key, so it must not change.
	PublicKey, PrivateKey string
	// Subscriber is the operator's contact put in the VAPID JWT "sub":
	// "mailto:ops@district.example" or an "https:" URL. Required.
	Subscriber string
	// TTL is how long the push service stores an undelivered message, in
	// whole seconds; 0 means DefaultTTL, more than MaxTTL is rejected.
	TTL time.Duration
	// Guard says which push services the Sender may connect to: every
	// connection's address must be public (or in Guard.Allow), and when
	// Guard.Hosts is set the endpoint's host must be one of them. The zero
	// Guard is the production default; tests set Allow to reach an
	// httptest push service on 127.0.0.1.
	Guard netguard.Guard
	// RootCAs verifies push services' certificates; nil means the
	// system's roots. Tests pass their httptest server's certificate.
	RootCAs *x509.CertPool
	// Timeout bounds one request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now reads the clock for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Sender sends Web Push notifications. It is safe for concurrent use.
type Sender struct {
	public, private string // unpadded base64url, as the library expects
	subscriber      string // without "mailto:": the library adds it back
	ttlSeconds      int
	client          *http.Client
	guard           *netguard.Guard
	now             func() time.Time
}

var _ whitecross.Sender = (*Sender)(nil)

// New validates cfg and returns a Sender. It returns EINVALID when a key is
// malformed, the keys do not form a pair, Subscriber is not a mailto: or
// https: contact, or TTL is out of range.
func New(cfg Config) (*Sender, error) {
	if err := validateKeys(cfg.PublicKey, cfg.PrivateKey); err != nil {
		return nil, err
	}
	pub, _ := decodeKey(cfg.PublicKey)
	priv, _ := decodeKey(cfg.PrivateKey)

	sub := strings.TrimSpace(cfg.Subscriber)
	switch {
	case strings.HasPrefix(sub, "mailto:") && strings.Contains(sub, "@"):
		// webpush-go prefixes "mailto:" to anything that is not https:, so
		// pass the bare address or the JWT would say "mailto:mailto:...".
		sub = strings.TrimPrefix(sub, "mailto:")
	case strings.HasPrefix(sub, "https:"):
	default:
		return nil, whitecross.Errorf(whitecross.EINVALID, "Web Push subscriber must be a mailto: address or an https: URL.")
	}

	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return nil, whitecross.Errorf(whitecross.EINVALID, "Web Push TTL must be between 0 and %s.", MaxTTL)
	}
	if len(cfg.Guard.Ports) == 0 {
		// Push services listen on 443; endpoints registered before that was
		// checked at registration are held to it here.
		cfg.Guard.Ports = []uint16{443}
	}
	client := newClient(cfg)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Sender{
		public:     base64.RawURLEncoding.EncodeToString(pub),
		private:    base64.RawURLEncoding.EncodeToString(priv),
		subscriber: sub,
		ttlSeconds: int(ttl / time.Second),
		client:     client,
		guard:      &cfg.Guard,
		now:        now,
	}, nil
}

// newClient returns the HTTP client of a Sender. Every connection goes
// through cfg.Guard's Control, which sees the address actually dialed, so
// neither a stored endpoint on a private address nor a name that resolves
// (or re-resolves: DNS rebinding) to one is reached. There is no proxy
// (a proxy would dial the endpoint where the guard cannot see it) and no
// redirect (push services answer, they do not redirect).
func newClient(cfg Config) *http.Client {
	guard := cfg.Guard
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: guard.Control}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   dialTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   20,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: DefaultTimeout,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       cmp.Or(cfg.Timeout, DefaultTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialTimeout bounds connecting to a push service and its TLS handshake.
const dialTimeout = 10 * time.Second

// PublicKey returns the VAPID public key (unpadded base64url) that browsers
// pass to pushManager.subscribe as applicationServerKey.
func (s *Sender) PublicKey() string { return s.public }

// Payload is the JSON the service worker receives (event.data.json()).
type Payload struct {
	Title      string `json:"title"`
	Body       string `json:"body"`
	URL        string `json:"url"`
	DeliveryID string `json:"delivery_id"`
}

// Send encrypts a Payload {title: Subject, body: Text, url: Link,
// delivery_id: DeliveryID} for the subscription in out.To (the JSON of the
// browser's PushSubscription.toJSON()) and POSTs it to the endpoint with
// Urgency "high" when out.Urgent, else "normal", and the configured TTL.
// A body too long for one record is shortened with "…".
//
// On 2xx it returns status SENT and ProviderID = the Location header (the
// push service's message URL) or, without one, out.DeliveryID. Failures are
// *whitecross.ProviderError with Provider "webpush":
//   - 404 or 410: the subscription is expired or unsubscribed; Permanent,
//     Code "410" (see SubscriptionGone) — the caller should drop it;
//   - 413 or a payload that cannot fit: Permanent, Code "413";
//   - a malformed subscription: Permanent, Code "invalid_subscription";
//   - other 4xx (400, 401, 403 VAPID key mismatch): Permanent, Code = status;
//   - 429, 5xx: temporary, Code = status, RetryAfter from Retry-After;
//   - network errors and timeouts: temporary, Code "network".
//
// When ctx ends first, Send returns ctx.Err() (wrapped).
func (s *Sender) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	sub, perr := s.parseSubscription(out.To)
	if perr != nil {
		return nil, perr
	}
	payload, perr := encodePayload(out)
	if perr != nil {
		return nil, perr
	}
	urgency := webpushgo.UrgencyNormal
	if out.Urgent {
		urgency = webpushgo.UrgencyHigh
	}
	resp, err := webpushgo.SendNotificationWithContext(ctx, payload, sub, &webpushgo.Options{
		HTTPClient:      s.client,
		Subscriber:      s.subscriber,
		TTL:             s.ttlSeconds,
		Urgency:         urgency,
		VAPIDPublicKey:  s.public,
		VAPIDPrivateKey: s.private,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("send web push: %w", ctx.Err())
		}
		return nil, classifySendError(err)
	}
	defer drainClose(resp)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		id := resp.Header.Get("Location")
		if id == "" {
			id = out.DeliveryID
		}
		return &whitecross.SendResult{ProviderID: id, Status: whitecross.DeliverySent}, nil
	}
	return nil, s.classifyStatus(resp)
}

// SubscriptionGone reports whether err says the push subscription no longer
// exists (HTTP 404 or 410), so the caller should delete it.
func SubscriptionGone(err error) bool {
	var pe *whitecross.ProviderError
	return errors.As(err, &pe) && pe.Provider == ProviderName && pe.Code == "410"
}

// parseSubscription decodes and checks the PushSubscription JSON. Errors
// never quote the endpoint.
func (s *Sender) parseSubscription(to string) (*webpushgo.Subscription, *whitecross.ProviderError) {
	invalid := func(msg string) *whitecross.ProviderError {
		return &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Recipient: true, Code: "invalid_subscription", Message: msg}
	}
	var sub webpushgo.Subscription
	if err := json.Unmarshal([]byte(to), &sub); err != nil {
		return nil, invalid("subscription is not valid JSON")
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		// Push services are always https; refusing anything else keeps a
		// forged subscription from reaching plain-http internal services.
		return nil, invalid("subscription endpoint must be an https URL")
	}
	if !s.guard.HostAllowed(u.Hostname()) {
		// Registered before the operator set the allow-list.
		return nil, &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Recipient: true, Code: "host_not_allowed",
			Message: "subscription endpoint is not an allowed push service"}
	}
	if p, err := decodeKey(sub.Keys.P256dh); err != nil {
		return nil, invalid("subscription p256dh key is not base64")
	} else if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return nil, invalid("subscription p256dh key must be an uncompressed P-256 point")
	}
	if a, err := decodeKey(sub.Keys.Auth); err != nil || len(a) != 16 {
		return nil, invalid("subscription auth secret must be 16 bytes")
	}
	return &sub, nil
}

// encodePayload marshals the Payload, shortening the body rune by rune
// until it fits MaxPayloadBytes.
func encodePayload(out *whitecross.Outbound) ([]byte, *whitecross.ProviderError) {
	p := Payload{Title: out.Subject, Body: out.Text, URL: out.Link, DeliveryID: out.DeliveryID}
	body := []rune(p.Body)
	if len(body) > MaxPayloadBytes { // it cannot fit anyway; avoid marshaling megabytes
		body = body[:MaxPayloadBytes]
		p.Body = string(body) + "…"
	}
	for {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // "<" as 1 byte, not 6: more room for text
		if err := enc.Encode(p); err != nil {
			return nil, &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Code: "invalid_payload", Message: "payload cannot be encoded"}
		}
		data := bytes.TrimRight(buf.Bytes(), "\n")
		over := len(data) - MaxPayloadBytes
		if over <= 0 {
			return data, nil
		}
		if len(body) == 0 {
			return nil, &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Code: "413", Message: "title and link are too long for a push message"}
		}
		// Each rune is at least one byte; cut at least the overflow plus
		// the ellipsis, then re-measure (escaping makes bytes uneven).
		cut := min(len(body), max(1, over/4)+1)
		body = body[:len(body)-cut]
		p.Body = strings.TrimRight(string(body), " ") + "…"
	}
}
