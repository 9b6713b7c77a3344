package whitecross

import (
	"context"
	"crypto/ed25519"
	"time"
)

// Session is one sign-in: a family of refresh tokens. Rotating a refresh
// token keeps the session; reusing a spent one revokes it whole.
type Session struct {
	ID        string
	TenantID  string
	UserID    string
	CreatedAt time.Time
	RevokedAt *time.Time
	ClientIP  string
	UserAgent string
}

// RefreshToken is stored only as a hash of the opaque token given to the client.
type RefreshToken struct {
	Hash      []byte
	SessionID string
	ExpiresAt time.Time
}

// SessionStore keeps sessions and refresh tokens. It is used by the auth
// package, not by handlers.
type SessionStore interface {
	// CreateSession stores s and its first refresh token in one transaction.
	CreateSession(ctx context.Context, s *Session, first *RefreshToken) error
	// RotateRefreshToken spends the token with hash old and stores next in
	// the same session, returning the session. EUNAUTHORIZED when the token
	// is unknown, expired, or its session revoked, idle past its timeout
	// (then ended, as SessionActor does) or its user deactivated. A
	// refresh is not use of the session.
	// When the token was already spent it revokes the whole session and
	// returns an error for which IsRefreshReuse is true.
	RotateRefreshToken(ctx context.Context, old []byte, next *RefreshToken) (*Session, error)
	// FindSessionByRefreshToken returns the live session of a refresh token
	// (spent or not). ENOTFOUND otherwise.
	FindSessionByRefreshToken(ctx context.Context, hash []byte) (*Session, error)
	// RevokeSession marks a session revoked (idempotent). Any tenant: the
	// session id is unguessable and is scoped by the tenant argument.
	RevokeSession(ctx context.Context, tenantID, sessionID string) error
	// SessionActor returns the caller of a live session (not revoked, its
	// user active) as the database has them now, with the session's id:
	// checked on every authenticated request, so that sign-out, a password
	// change, deactivation and a change of role take effect on the next one
	// (the role inside an access token is never used for a decision).
	// ENOTFOUND for an unknown, revoked or other tenant's session, a
	// deactivated user, or a session left unused past its district's idle
	// timeout (IdleTimeout), which is then ended and audited
	// (AuditSessionEnded). A live session's use is recorded, at most once
	// per SessionUseInterval.
	SessionActor(ctx context.Context, tenantID, sessionID string) (*Actor, error)
}

// ErrRefreshReuse is wrapped by RotateRefreshToken when a spent token is
// presented again (a sign of theft); the session is revoked.
var ErrRefreshReuse = &Error{Code: EUNAUTHORIZED, Message: "Refresh token reuse detected; the session has been revoked."}

// Credentials is what the login flow needs about a user.
type Credentials struct {
	User         *User
	PasswordHash string
}

// CredentialStore looks users up for sign-in.
type CredentialStore interface {
	// FindCredentials returns the user with that email (case-insensitive) in
	// the tenant, deactivated or not. ENOTFOUND otherwise.
	FindCredentials(ctx context.Context, tenantID, email string) (*Credentials, error)
}

// LoginThrottle limits sign-in attempts per key ("acct:<tenant>:<email>",
// "ip:<addr>") in shared storage so every instance sees the same counts.
//
// An attempt is charged to its keys before its password is checked, as if
// it had failed: at most a policy's Threshold attempts per key can be in
// flight or failed within its Window, however many arrive at once and on
// however many instances. A charge whose attempt turns out not to be a
// failure is given back (Refund) or the key cleared (Reset). A charge that
// is never given back, because the process died mid-attempt, simply counts
// as a failure.
type LoginThrottle interface {
	// Reserve charges one attempt to every key at now, atomically: each
	// key's row is locked, and when any key is locked out at now it charges
	// none and returns the latest lockout end (charges nil). Otherwise it
	// returns one charge per key, in the order of keys. The charge that
	// brings a key's count within its window to Threshold starts a lockout
	// of Lockout, doubled for each lockout since the key was last quiet for
	// a whole Window (up to MaxLockout); that charge's LockedUntil says so.
	// After a lockout ends the count starts again.
	Reserve(ctx context.Context, now time.Time, keys []ThrottleKey) (charges []ThrottleCharge, lockedUntil time.Time, err error)
	// Refund gives the charges back: each is taken off its key's count
	// unless the key's window has moved on since, and a lockout the charge
	// started is lifted. Refunding a key that was Reset is a no-op.
	Refund(ctx context.Context, charges []ThrottleCharge) error
	// LockedUntil returns when the key's lockout ends, or the zero time.
	LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error)
	// Reset clears the key's count and lockouts after a successful sign-in.
	Reset(ctx context.Context, key string) error
}

// ThrottleKey is one counter an attempt is charged to, with its policy.
type ThrottleKey struct {
	Key    string
	Policy ThrottlePolicy
}

// ThrottleCharge is one attempt charged to a key by LoginThrottle.Reserve;
// it is what Refund needs to give it back.
type ThrottleCharge struct {
	Key string
	At  time.Time // when it was charged
	// Window is the start of the counting window it was charged in: once
	// the key's window moved on, the charge is forgotten and not refunded.
	Window time.Time
	// LockedUntil is set when this charge reached the threshold and so
	// started a lockout (audited once, when the attempt fails).
	LockedUntil time.Time
}

// ThrottlePolicy sets how failures turn into lockouts.
type ThrottlePolicy struct {
	Threshold  int           // attempts charged within Window that start a lockout
	Window     time.Duration // failures older than this are forgotten
	Lockout    time.Duration // first lockout
	MaxLockout time.Duration // lockouts double up to this
}

// SigningKey is an Ed25519 key that signs access tokens, named by its kid.
type SigningKey struct {
	ID         string
	PrivateKey ed25519.PrivateKey
	CreatedAt  time.Time
	// RetiredAt is set when a newer key took over signing; the key still
	// verifies tokens until they expire, then can be removed.
	RetiredAt *time.Time
}

// SigningKeyStore keeps signing keys where every instance finds the same
// ones (the data dir on SQLite, the database on PostgreSQL).
type SigningKeyStore interface {
	// SigningKeys returns every key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddSigningKey stores k and retires the previous current key.
	AddSigningKey(ctx context.Context, k *SigningKey) error
}

// TokenPair is what a successful sign-in or refresh returns.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds until the access token expires
	SessionID    string
	// MFAToken, when set, is all there is: the user has two-step sign-in,
	// so the sign-in goes on at POST /auth/mfa and no session is open yet.
	MFAToken string
}

// LoginRequest is a sign-in attempt.
type LoginRequest struct {
	TenantSlug string
	Email      string
	Password   string
	ClientIP   string
	UserAgent  string
}

// AuthService signs people in and checks their tokens.
type AuthService interface {
	// Login returns tokens and the user. EUNAUTHORIZED with one identical
	// message for an unknown tenant, unknown or deactivated user, or wrong
	// password; ERATELIMIT while the account or client address is locked out.
	Login(ctx context.Context, req LoginRequest) (*TokenPair, *User, error)
	// Refresh spends a refresh token and returns a new pair. EUNAUTHORIZED;
	// reuse of a spent token revokes its session.
	Refresh(ctx context.Context, refreshToken, clientIP string) (*TokenPair, *User, error)
	// Logout revokes the session of the refresh token if given, else the
	// session named by sessionID in the caller's tenant. Idempotent.
	Logout(ctx context.Context, refreshToken string, actor *Actor) error
	// ChangePassword sets the caller's password to next once current is
	// proved theirs, and ends their other sessions. The attempt is charged
	// to the sign-in lockout like a login: EFORBIDDEN naming
	// body.current_password when it is wrong, ERATELIMIT while locked out;
	// EINVALID naming body.new_password when next fails CheckPassword.
	ChangePassword(ctx context.Context, current, next string) error
	// Authenticate verifies an access token and that its session is live.
	// EUNAUTHORIZED otherwise.
	Authenticate(ctx context.Context, accessToken string) (*Actor, error)
	// TokenUser returns the id of the user an access token was issued to,
	// checking its signature and expiry but not its session: no database
	// call, so rate limits can key on it before admitting the request.
	// EUNAUTHORIZED for an invalid or expired token.
	TokenUser(ctx context.Context, accessToken string) (string, error)
}
