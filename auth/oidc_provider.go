package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"whitecross"
	"whitecross/vault"
)

// Limits of talking to identity providers.
const (
	// oidcHTTPTimeout bounds every request to a provider (discovery,
	// keys, token exchange), so a slow provider cannot hold sign-ins.
	oidcHTTPTimeout = 10 * time.Second
	// oidcProviderTTL is how long a provider's discovery document is
	// reused; its keys are fetched again whenever a token names a key
	// that is not cached (go-oidc's remote key set), so a key rotation
	// is picked up at once.
	oidcProviderTTL = time.Hour
)

// oidcProviders caches discovered providers by issuer.
type oidcProviders struct {
	client *http.Client
	mu     sync.Mutex
	m      map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// get returns the provider of issuer, discovering it when it is not
// cached or its entry is older than oidcProviderTTL. A failed discovery is
// not cached, so a provider that was down is tried again next time.
func (c *oidcProviders) get(ctx context.Context, issuer string, now time.Time) (*oidc.Provider, error) {
	c.mu.Lock()
	e, ok := c.m[issuer]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < oidcProviderTTL {
		return e.p, nil
	}
	dctx, cancel := context.WithTimeout(c.context(ctx), oidcHTTPTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discover identity provider %s: %w", issuer, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedProvider{}
	}
	c.m[issuer] = cachedProvider{p: p, fetched: now}
	return p, nil
}

// context makes go-oidc and oauth2 use the client with timeouts.
func (c *oidcProviders) context(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.client)
}

// ssoState is what the browser that started a sign-in keeps in the
// wc_oidc cookie, sealed, until the provider sends it back.
//
// It is kept in the browser rather than on the server so that starting a
// sign-in (which anyone may do) writes nothing to the database and any
// instance can finish it; it is sealed (AES-256-GCM under a key derived
// from the server's code key) so it can be neither read nor forged, and it
// lives in an HttpOnly cookie, so only the browser that started may finish:
// a link with someone else's code and state does not sign a victim in.
type ssoState struct {
	Tenant   string    `json:"t"`
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Expires  time.Time `json:"e"`
}

// ssoStateAD is the associated data of a sealed ssoState.
var ssoStateAD = []byte("whitecross oidc state")

// newSSOSealer derives the state cookie's key from the code key.
func newSSOSealer(codeKey []byte) *vault.Vault {
	key, err := vault.DeriveKey(codeKey, "oidc state")
	if err != nil {
		panic(fmt.Sprintf("auth: oidc state key: %v", err)) // CodeKey is 32 bytes (NewService)
	}
	v, err := vault.New(key)
	if err != nil {
		panic(fmt.Sprintf("auth: oidc state key: %v", err))
	}
	return v
}

func (s *Service) sealState(st ssoState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode oidc state: %w", err)
	}
	sealed, err := s.ssoSealer.Seal(b, ssoStateAD)
	if err != nil {
		return "", fmt.Errorf("seal oidc state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openState returns the state of a cookie, or false when it is missing,
// altered or not ours.
func (s *Service) openState(cookie string) (ssoState, bool) {
	var st ssoState
	sealed, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || cookie == "" {
		return st, false
	}
	b, err := s.ssoSealer.Open(sealed, ssoStateAD)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

// providerName names a provider for a sign-in button.
func providerName(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return issuer
	}
	switch u.Hostname() {
	case "accounts.google.com":
		return "Google"
	case "login.microsoftonline.com", "sts.windows.net":
		return "Microsoft"
	}
	return u.Host
}

// newOIDCProviders returns the provider cache using client, else a client
// with oidcHTTPTimeout.
func newOIDCProviders(client *http.Client) *oidcProviders {
	if client == nil {
		client = &http.Client{Timeout: oidcHTTPTimeout}
	}
	return &oidcProviders{client: client}
}

var _ whitecross.SSOService = (*Service)(nil)
