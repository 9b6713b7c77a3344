package webpush_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/netguard"
	"whitecross/provider/webpush"
)

// secretPath is the part of the endpoint that must never leak.
const secretPath = "/push/v2/SECRET-bearer-token-123"

var now = time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)

type bundle struct {
	ps      *pushService
	br      *browser
	sender  *webpush.Sender
	public  string
	subJSON string
}

func setup(t *testing.T, subscriber string) *bundle {
	t.Helper()
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	ps := newPushService(t)
	s, err := webpush.New(webpush.Config{
		PublicKey: public, PrivateKey: private, Subscriber: subscriber,
		TTL: time.Hour, RootCAs: ps.roots(), Guard: loopbackAllowed, Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	br := newBrowser(t)
	return &bundle{ps: ps, br: br, sender: s, public: public, subJSON: br.subscription(t, ps.URL+secretPath)}
}

// loopbackAllowed lets a Sender reach the httptest push service on
// 127.0.0.1; production Senders never allow it.
var loopbackAllowed = netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

func (b *bundle) outbound() *whitecross.Outbound {
	return &whitecross.Outbound{
		DeliveryID: "0199-delivery", Channel: whitecross.ChannelPush, To: b.subJSON,
		Subject: "Early dismissal today", Text: "School closes at 12:30 <noon> & buses run early.",
		Link: "https://district.example/messages/42", Urgent: true,
	}
}

func TestSendEncryptsPayloadForTheBrowser(t *testing.T) {
	t.Parallel()
	b := setup(t, "mailto:ops@district.example")
	b.ps.respond(http.StatusCreated, http.Header{"Location": {"https://push.example/m/abc"}})

	res, err := b.sender.Send(context.Background(), b.outbound())
	require.NoError(t, err)
	require.Equal(t, whitecross.DeliverySent, res.Status)
	require.Equal(t, "https://push.example/m/abc", res.ProviderID)

	req := b.ps.last(t)
	require.Equal(t, secretPath, req.Path)
	require.Equal(t, "aes128gcm", req.Header.Get("Content-Encoding"))
	require.Equal(t, "high", req.Header.Get("Urgency"))
	require.Equal(t, "3600", req.Header.Get("TTL"))
	require.NotContains(t, string(req.Body), "Early dismissal", "payload must be encrypted")

	plain, err := b.br.decrypt(req.Body)
	require.NoError(t, err)
	var got map[string]string
	require.NoError(t, json.Unmarshal(plain, &got))
	require.Equal(t, map[string]string{
		"title":       "Early dismissal today",
		"body":        "School closes at 12:30 <noon> & buses run early.",
		"url":         "https://district.example/messages/42",
		"delivery_id": "0199-delivery",
	}, got)

	// VAPID: "vapid t=<jwt>, k=<public key>", JWT signed by that key.
	auth := req.Header.Get("Authorization")
	require.True(t, strings.HasPrefix(auth, "vapid t="), auth)
	tok, k, ok := strings.Cut(strings.TrimPrefix(auth, "vapid t="), ", k=")
	require.True(t, ok, auth)
	require.Equal(t, b.public, k)
	require.Equal(t, b.public, b.sender.PublicKey())
	claims := verifyVAPID(t, tok, k)
	require.Equal(t, b.ps.URL, claims["aud"], "aud is the endpoint's origin, without the path")
	require.Equal(t, "mailto:ops@district.example", claims["sub"])
}

func verifyVAPID(t *testing.T, token, publicKey string) jwt.MapClaims {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(publicKey)
	require.NoError(t, err)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	require.NoError(t, err)
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired())
	require.NoError(t, err)
	return claims
}

func TestSendNormalUrgencyWithoutLocation(t *testing.T) {
	t.Parallel()
	b := setup(t, "https://district.example/contact")
	b.ps.respond(http.StatusAccepted, nil)
	out := b.outbound()
	out.Urgent = false
	res, err := b.sender.Send(context.Background(), out)
	require.NoError(t, err)
	require.Equal(t, "0199-delivery", res.ProviderID)
	req := b.ps.last(t)
	require.Equal(t, "normal", req.Header.Get("Urgency"))
	tok, k, _ := strings.Cut(strings.TrimPrefix(req.Header.Get("Authorization"), "vapid t="), ", k=")
	require.Equal(t, "https://district.example/contact", verifyVAPID(t, tok, k)["sub"])
}

func TestSendClassifiesResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status     int
		header     http.Header
		permanent  bool
		code       string
		retryAfter time.Duration
		gone       bool
		// recipient: the subscription's problem, not the push service's.
		recipient bool
		throttled bool
	}{
		{status: http.StatusGone, permanent: true, code: "410", gone: true, recipient: true},
		{status: http.StatusNotFound, permanent: true, code: "410", gone: true, recipient: true},
		{status: http.StatusRequestEntityTooLarge, permanent: true, code: "413"},
		{status: http.StatusForbidden, permanent: true, code: "403", recipient: true},
		{status: http.StatusUnauthorized, permanent: true, code: "401"},
		{status: http.StatusBadRequest, permanent: true, code: "400", recipient: true},
		{status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"120"}}, code: "503", retryAfter: 2 * time.Minute},
		{status: http.StatusInternalServerError, code: "500"},
		{status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, code: "429", retryAfter: 90 * time.Second, throttled: true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			b := setup(t, "mailto:ops@district.example")
			b.ps.respond(tc.status, tc.header)
			res, err := b.sender.Send(context.Background(), b.outbound())
			require.Nil(t, res)
			var pe *whitecross.ProviderError
			require.True(t, errors.As(err, &pe), "%v", err)
			require.Equal(t, "webpush", pe.Provider)
			require.Equal(t, tc.permanent, pe.Permanent)
			require.Equal(t, tc.code, pe.Code)
			require.Equal(t, tc.retryAfter, pe.RetryAfter)
			require.Equal(t, tc.gone, webpush.SubscriptionGone(err))
			require.Equal(t, tc.recipient, pe.Recipient)
			require.Equal(t, tc.throttled, pe.Throttled, "only 429 says we push too fast")
			require.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestSendNetworkErrorIsTemporaryAndHidesEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, "mailto:ops@district.example")
	b.ps.Close() // nothing listens any more
	_, err := b.sender.Send(context.Background(), b.outbound())
	var pe *whitecross.ProviderError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.False(t, pe.Permanent)
	require.Equal(t, "network", pe.Code)
	require.NotContains(t, err.Error(), "SECRET")
	require.NotContains(t, err.Error(), "127.0.0.1")
}

func TestSendCanceledContext(t *testing.T) {
	t.Parallel()
	b := setup(t, "mailto:ops@district.example")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.sender.Send(ctx, b.outbound())
	require.ErrorIs(t, err, context.Canceled)
	require.NotContains(t, err.Error(), "SECRET")
}

func TestSendRejectsBadSubscriptions(t *testing.T) {
	t.Parallel()
	b := setup(t, "mailto:ops@district.example")
	other := newBrowser(t)
	for name, to := range map[string]string{
		"not json":   "https://push.example" + secretPath,
		"plain http": other.subscription(t, "http://push.example"+secretPath),
		"no keys":    `{"endpoint":"https://push.example` + secretPath + `"}`,
		"off curve": `{"endpoint":"https://push.example` + secretPath + `","keys":{"p256dh":"` +
			base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)) + `","auth":"` +
			base64.RawURLEncoding.EncodeToString(other.auth) + `"}}`,
		"short auth": `{"endpoint":"https://push.example` + secretPath + `","keys":{"p256dh":"` +
			base64.RawURLEncoding.EncodeToString(other.key.PublicKey().Bytes()) + `","auth":"AAAA"}}`,
	} {
		out := b.outbound()
		out.To = to
		_, err := b.sender.Send(context.Background(), out)
		var pe *whitecross.ProviderError
		require.True(t, errors.As(err, &pe), name)
		require.True(t, pe.Permanent, name)
		require.Equal(t, "invalid_subscription", pe.Code, name)
		require.NotContains(t, err.Error(), "SECRET", name)
	}
	b.ps.mu.Lock()
	defer b.ps.mu.Unlock()
	require.Empty(t, b.ps.requests, "nothing is sent for a bad subscription")
}

func TestSendShortensLongBody(t *testing.T) {
	t.Parallel()
	b := setup(t, "mailto:ops@district.example")
	out := b.outbound()
	out.Text = strings.Repeat("Ünïcode \"quoted\" text. ", 2000)
	_, err := b.sender.Send(context.Background(), out)
	require.NoError(t, err)
	plain, err := b.br.decrypt(b.ps.last(t).Body)
	require.NoError(t, err)
	require.LessOrEqual(t, len(plain), webpush.MaxPayloadBytes)
	var got webpush.Payload
	require.NoError(t, json.Unmarshal(plain, &got))
	require.True(t, utf8.ValidString(got.Body))
	require.True(t, strings.HasSuffix(got.Body, "…"))
	require.True(t, strings.HasPrefix(out.Text, strings.TrimSuffix(got.Body, "…")))
	require.Greater(t, len(got.Body), 3000, "shortened to fit, not emptied")
	require.Equal(t, out.Subject, got.Title)

	out.Text = ""
	out.Subject = strings.Repeat("x", 5000)
	_, err = b.sender.Send(context.Background(), out)
	var pe *whitecross.ProviderError
	require.True(t, errors.As(err, &pe))
	require.True(t, pe.Permanent)
	require.Equal(t, "413", pe.Code)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	otherPublic, _, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	ok := webpush.Config{PublicKey: public, PrivateKey: private, Subscriber: "mailto:ops@district.example"}
	_, err = webpush.New(ok)
	require.NoError(t, err)

	for name, mutate := range map[string]func(*webpush.Config){
		"mismatched keys":   func(c *webpush.Config) { c.PublicKey = otherPublic },
		"garbage key":       func(c *webpush.Config) { c.PrivateKey = "not-a-key" },
		"missing key":       func(c *webpush.Config) { c.PublicKey = "" },
		"bare subscriber":   func(c *webpush.Config) { c.Subscriber = "ops@district.example" },
		"http subscriber":   func(c *webpush.Config) { c.Subscriber = "http://district.example" },
		"negative TTL":      func(c *webpush.Config) { c.TTL = -time.Second },
		"TTL beyond 4 week": func(c *webpush.Config) { c.TTL = webpush.MaxTTL + time.Second },
	} {
		cfg := ok
		mutate(&cfg)
		_, err := webpush.New(cfg)
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), name)
		require.NotContains(t, whitecross.ErrorMessage(err), private, name)
	}
}

// TestSendRefusesNonPublicAddresses is issue 11's SSRF at connection time:
// a stored subscription whose endpoint is, or resolves to, a loopback
// address is refused by the dialer; the request never reaches the server.
func TestSendRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	ps := newPushService(t)
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	strict, err := webpush.New(webpush.Config{PublicKey: public, PrivateKey: private, Subscriber: "mailto:ops@district.example",
		RootCAs: ps.roots()}) // the production guard: public addresses only
	require.NoError(t, err)
	u, err := url.Parse(ps.URL)
	require.NoError(t, err)
	br := newBrowser(t)
	for _, endpoint := range []string{
		ps.URL + secretPath,                          // https://127.0.0.1:port
		"https://localhost:" + u.Port() + secretPath, // a name that resolves to it
		"https://[::ffff:127.0.0.1]:" + u.Port() + secretPath,
	} {
		out := &whitecross.Outbound{DeliveryID: "d1", Channel: whitecross.ChannelPush, To: br.subscription(t, endpoint), Subject: "Lockdown"}
		_, err := strict.Send(context.Background(), out)
		var pe *whitecross.ProviderError
		require.True(t, errors.As(err, &pe), "%s: %v", endpoint, err)
		require.True(t, pe.Permanent, endpoint)
		require.True(t, pe.Recipient, "%s: the subscription's problem, not the push service's", endpoint)
		require.Equal(t, "forbidden_address", pe.Code, endpoint)
		require.NotContains(t, err.Error(), "SECRET")
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	require.Empty(t, ps.requests, "the dialer refused before any request")
}

// TestSendRefusesHostsOutsideTheAllowList: with an allow-list of push
// service hosts, a stored subscription elsewhere is not sent to.
func TestSendRefusesHostsOutsideTheAllowList(t *testing.T) {
	t.Parallel()
	ps := newPushService(t)
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	g := loopbackAllowed
	g.Hosts = []string{"fcm.googleapis.com"}
	s, err := webpush.New(webpush.Config{PublicKey: public, PrivateKey: private, Subscriber: "mailto:ops@district.example", RootCAs: ps.roots(), Guard: g})
	require.NoError(t, err)
	out := &whitecross.Outbound{DeliveryID: "d1", Channel: whitecross.ChannelPush, To: newBrowser(t).subscription(t, ps.URL+secretPath)}
	_, err = s.Send(context.Background(), out)
	var pe *whitecross.ProviderError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.True(t, pe.Permanent)
	require.Equal(t, "host_not_allowed", pe.Code)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	require.Empty(t, ps.requests)
}
