package whitecross

import (
	"context"
	"time"
)

// OIDCSettings is a district's single sign-on with its OpenID Connect
// provider (Google Workspace, Microsoft Entra, ...): tenant setting oidc.
type OIDCSettings struct {
	// Issuer is the provider's issuer URL: https, or http on 127.0.0.1 or
	// localhost (tests, a provider on the same machine).
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// AllowedDomains, when set, are the only email domains that may sign
	// in this way (lower case, e.g. springfield.k12.example).
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	// SecretKeyID and SealedSecret are the client secret sealed with the
	// tenant's data key: it is never stored in the clear nor returned.
	SecretKeyID  string `json:"secret_key_id,omitempty"`
	SealedSecret []byte `json:"sealed_secret,omitempty"`
	// ClientSecret is the secret in the clear: set it to change the
	// secret; only OIDCStore.TenantOIDC fills it. Never encoded.
	ClientSecret string `json:"-"`
}

// OIDCStateTTL is how long a started SSO sign-in may take at the provider.
const OIDCStateTTL = 10 * time.Minute

// OIDCStore reads a district's SSO settings for the sign-in flow (the
// caller is not signed in).
type OIDCStore interface {
	// TenantOIDC returns the tenant with that slug and its SSO settings
	// with the client secret opened. ENOTFOUND when there is no such
	// tenant or it has no SSO.
	TenantOIDC(ctx context.Context, slug string) (*Tenant, *OIDCSettings, error)
}

// SSOStart is where a browser goes to sign in with its district's
// provider, and the state it must bring back.
type SSOStart struct {
	AuthURL string
	// Cookie is the sealed state, nonce and PKCE verifier, for a
	// short-lived HttpOnly cookie of the browser that started.
	Cookie string
}

// SSOCallback is what the provider sent the browser back with.
type SSOCallback struct {
	Cookie, State, Code, Error string
	ClientIP, UserAgent        string
}

// SSOService signs users in with their district's OpenID Connect provider.
type SSOService interface {
	// SSOProvider names the district's provider for a sign-in button
	// ("Google", "Microsoft", else the issuer's host). ENOTFOUND when the
	// district (or tenant) has no SSO.
	SSOProvider(ctx context.Context, slug string) (string, error)
	// StartSSO begins an authorization code flow (PKCE S256, state,
	// nonce). ENOTFOUND when the district has no SSO; EUNAVAILABLE when
	// the provider cannot be reached.
	StartSSO(ctx context.Context, slug string) (*SSOStart, error)
	// FinishSSO checks the state, exchanges the code, verifies the ID
	// token and signs in the active user with the verified email, as
	// Login does. EUNAUTHORIZED (audited with a reason code) otherwise.
	FinishSSO(ctx context.Context, cb SSOCallback) (*TokenPair, *User, error)
}
