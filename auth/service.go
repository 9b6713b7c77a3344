package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"whitecross"
	"whitecross/vault"
)

var _ whitecross.AuthService = (*Service)(nil)

// Audience is the aud claim of every access token.
const Audience = "whitecross-api"

// Config sets token lifetimes and the login throttle.
type Config struct {
	Issuer   string // iss: the server's public URL
	Audience string // aud: "whitecross-api"

	AccessTTL  time.Duration // lifetime of an access token
	RefreshTTL time.Duration // lifetime of each refresh token; every refresh issues a fresh one

	// AccountThrottle counts failures per tenant and email, AddressThrottle
	// per client address.
	AccountThrottle, AddressThrottle whitecross.ThrottlePolicy

	// SendThrottle counts requests for a code or a reset link per contact,
	// SendAddressThrottle per client address: each request sends an email
	// or a text, so every one counts, answered or not.
	SendThrottle, SendAddressThrottle whitecross.ThrottlePolicy

	// CodeKey keys the HMAC that sign-in codes are stored as (serve
	// derives it from the master key, the same on every instance). Empty:
	// a random key, good for this process only.
	CodeKey []byte
}

// DefaultConfig returns the defaults for a server reachable at publicURL:
// 15-minute access tokens, 30-day refresh tokens; an account locks for 1
// minute after 5 failures within 15 minutes and an address after 20, each
// further lockout doubling up to 15 minutes. A contact may ask for 5 codes
// or reset links within 15 minutes and an address for 20, then waits 15
// minutes (doubling up to an hour).
func DefaultConfig(publicURL string) Config {
	return Config{
		Issuer:     strings.TrimRight(publicURL, "/"),
		Audience:   Audience,
		AccessTTL:  15 * time.Minute,
		RefreshTTL: 30 * 24 * time.Hour,
		AccountThrottle: whitecross.ThrottlePolicy{
			Threshold: 5, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 15 * time.Minute,
		},
		AddressThrottle: whitecross.ThrottlePolicy{
			Threshold: 20, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 15 * time.Minute,
		},
		SendThrottle: whitecross.ThrottlePolicy{
			Threshold: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute, MaxLockout: time.Hour,
		},
		SendAddressThrottle: whitecross.ThrottlePolicy{
			Threshold: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute, MaxLockout: time.Hour,
		},
	}
}

// Deps are what the Service is built on; the store implements all the
// interfaces.
type Deps struct {
	Tenants     whitecross.TenantService
	Users       whitecross.UserService // to return the user on refresh
	Credentials whitecross.CredentialStore
	Sessions    whitecross.SessionStore
	Throttle    whitecross.LoginThrottle
	Audit       whitecross.AuditStore
	Hasher      whitecross.PasswordHasher
	Signin      whitecross.SigninStore // codes and reset links (nil: not offered)
	OIDC        whitecross.OIDCStore   // districts' single sign-on (nil: not offered)
	// OIDCClient talks to identity providers (nil: a client with a
	// 10-second timeout).
	OIDCClient *http.Client
	MFA        whitecross.MFAStore // two-step sign-in (nil: not offered)
	Keys       *Keyring
	Now        whitecross.Clock
}

// Service implements whitecross.AuthService.
type Service struct {
	cfg    Config
	deps   Deps
	tokens *tokenIssuer

	providers *oidcProviders
	ssoSealer *vault.Vault

	dummyMu   sync.Mutex
	dummyHash string
}

// NewService returns the auth service. Zero fields of cfg take the
// defaults of DefaultConfig (except Issuer); a nil deps.Now is time.Now.
func NewService(cfg Config, deps Deps) *Service {
	def := DefaultConfig(cfg.Issuer)
	if cfg.Audience == "" {
		cfg.Audience = def.Audience
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = def.AccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = def.RefreshTTL
	}
	if cfg.AccountThrottle.Threshold <= 0 {
		cfg.AccountThrottle = def.AccountThrottle
	}
	if cfg.AddressThrottle.Threshold <= 0 {
		cfg.AddressThrottle = def.AddressThrottle
	}
	if cfg.SendThrottle.Threshold <= 0 {
		cfg.SendThrottle = def.SendThrottle
	}
	if cfg.SendAddressThrottle.Threshold <= 0 {
		cfg.SendAddressThrottle = def.SendAddressThrottle
	}
	if len(cfg.CodeKey) == 0 {
		cfg.CodeKey = make([]byte, 32)
		_, _ = rand.Read(cfg.CodeKey) // never fails (crypto/rand)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Service{cfg: cfg, deps: deps, providers: newOIDCProviders(deps.OIDCClient), ssoSealer: newSSOSealer(cfg.CodeKey)}
	s.tokens = newTokenIssuer(cfg.Issuer, cfg.Audience, cfg.AccessTTL, deps.Keys, s.now)
	// Hash the decoy now so the first sign-in of an unknown user does not
	// take twice as long as the others.
	_, _ = s.decoyHash(context.Background())
	return s
}

func (s *Service) now() time.Time { return s.deps.Now().UTC() }

// JWKS returns the public keys that verify access tokens.
func (s *Service) JWKS() []byte { return s.deps.Keys.JWKS() }

// Authenticate implements whitecross.AuthService: it verifies the token's
// signature, algorithm (EdDSA only), issuer, audience and lifetime, then
// that its session is still live, so logout, a password change and
// deactivation take effect on the next request. The caller's role is the
// user's role now, read with the session (one query): the role claim only
// tells clients what the token was issued for, so a demotion applies at
// once. EUNAUTHORIZED otherwise.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (*whitecross.Actor, error) {
	claims, err := s.tokens.verify(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	actor, err := s.deps.Sessions.SessionActor(ctx, claims.TenantID, claims.SessionID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errInvalidAccessToken
	} else if err != nil {
		return nil, fmt.Errorf("check session: %w", err)
	}
	if !strings.EqualFold(actor.UserID, claims.Subject) {
		return nil, errInvalidAccessToken
	}
	return actor, nil
}

// TokenUser implements whitecross.AuthService.
func (s *Service) TokenUser(ctx context.Context, accessToken string) (string, error) {
	claims, err := s.tokens.verify(ctx, accessToken)
	if err != nil {
		return "", err
	}
	return strings.ToLower(claims.Subject), nil
}

// issuePair returns an access token and the given refresh token as a pair.
func (s *Service) issuePair(user *whitecross.User, sessionID, refreshToken string) (*whitecross.TokenPair, error) {
	access, err := s.tokens.issue(user.ID, user.TenantID, user.Role, sessionID)
	if err != nil {
		return nil, err
	}
	return &whitecross.TokenPair{
		AccessToken: access, RefreshToken: refreshToken,
		ExpiresIn: int(s.cfg.AccessTTL / time.Second), SessionID: sessionID,
	}, nil
}

// audit appends an event to a tenant's chain.
func (s *Service) audit(ctx context.Context, e *whitecross.AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if err := s.deps.Audit.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// decoyHash returns a hash of a random password made with the configured
// hasher, verified against when there is no real hash so that an unknown
// tenant or user costs the same time as a wrong password. It is made once;
// when that fails (the hasher was busy) the next sign-in tries again.
func (s *Service) decoyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummyHash != "" {
		return s.dummyHash, nil
	}
	pw, err := randomToken(18)
	if err != nil {
		return "", err
	}
	hash, err := s.deps.Hasher.HashPassword(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("hash decoy password: %w", err)
	}
	s.dummyHash = hash
	return hash, nil
}
