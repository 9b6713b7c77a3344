package whitecross

import (
	"context"
	"time"
)

// Limits of two-step sign-in (TOTP, RFC 6238).
const (
	// MFATokenTTL is how long the mfa_token of a first factor is good.
	MFATokenTTL = 5 * time.Minute
	// MFATokenTries is how many wrong codes spend an mfa_token.
	MFATokenTries = 5
	// RecoveryCodeCount is how many recovery codes an enrolment gives.
	RecoveryCodeCount = 10
)

// Audit actions of two-step sign-in. Their detail never holds a secret,
// a code or a recovery code.
const (
	AuditMFAEnrolled     = "auth.mfa.enrolled"      // TOTP confirmed
	AuditMFADisabled     = "auth.mfa.disabled"      // TOTP turned off
	AuditMFAChallenged   = "auth.mfa.challenged"    // a first factor passed; detail first_factor
	AuditMFAPassed       = "auth.mfa.passed"        // a session opened; detail method totp|recovery_code
	AuditMFAFailed       = "auth.mfa.failed"        // detail reason
	AuditMFARecoveryUsed = "auth.mfa.recovery_used" // a recovery code was spent; detail remaining
)

// TOTPState is a user's TOTP enrolment as stored: the secret opened with
// the tenant's key.
type TOTPState struct {
	Secret    string // base32, as the authenticator app was given it
	Confirmed bool
	// LastStep is the last time step whose code was accepted (0: none):
	// a code of that step or an earlier one is refused (replay).
	LastStep int64
	// RecoveryLeft counts the unused recovery codes.
	RecoveryLeft int
}

// MFAChallenge is the stored form of an mfa_token: only its hash.
type MFAChallenge struct {
	TenantID  string
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
	// FirstFactor is the audit action of the sign-in that asked for it.
	FirstFactor string
}

// MFAStore keeps TOTP secrets (sealed with the tenant's data key),
// recovery codes (hashed) and mfa_tokens (hashed) for the auth package.
type MFAStore interface {
	// FindTOTP returns the user's enrolment, confirmed or not. ENOTFOUND
	// when there is none.
	FindTOTP(ctx context.Context, tenantID, userID string) (*TOTPState, error)
	// BeginTOTP stores a new unconfirmed secret, replacing an unconfirmed
	// one. ECONFLICT when the user already has a confirmed one.
	BeginTOTP(ctx context.Context, tenantID, userID, secret string) error
	// ConfirmTOTP confirms the unconfirmed secret, records step as used
	// and stores the recovery code hashes, audited, in one transaction.
	// ECONFLICT when there is no unconfirmed secret.
	ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, recovery [][]byte, clientIP string) error
	// UseTOTPStep records step as the user's last used one when it is
	// later than the last. EUNAUTHORIZED otherwise (a replayed code).
	UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) error
	// SpendRecoveryCode spends the user's unused recovery code with that
	// hash and returns how many are left. EUNAUTHORIZED when none.
	SpendRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) (int, error)
	// DeleteTOTP removes the secret and recovery codes, audited, in one
	// transaction.
	DeleteTOTP(ctx context.Context, tenantID, userID, clientIP string) error
	// IssueMFAChallenge stores c.
	IssueMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// FindMFAChallenge returns the live (unspent, unexpired, fewer than
	// MFATokenTries wrong codes) challenge with that hash. EUNAUTHORIZED
	// otherwise.
	FindMFAChallenge(ctx context.Context, hash []byte) (*MFAChallenge, error)
	// SpendMFAChallenge spends the challenge when ok, else counts a wrong
	// code (the MFATokenTries-th spends it). EUNAUTHORIZED when it was no
	// longer live (spent meanwhile by a concurrent request).
	SpendMFAChallenge(ctx context.Context, hash []byte, ok bool) error
}

// MFALogin completes a sign-in with a second factor.
type MFALogin struct {
	Token     string // the mfa_token
	Code      string // a TOTP code or an unused recovery code
	ClientIP  string
	UserAgent string
}

// TOTPSetup is what an authenticator app needs.
type TOTPSetup struct {
	Secret     string
	OTPAuthURL string
}

// MFAService is two-step sign-in: enrolment by the signed-in user, and the
// second step of every sign-in of a user who has it.
type MFAService interface {
	// BeginTOTP makes a new secret for the caller. ECONFLICT when they
	// already have TOTP on.
	BeginTOTP(ctx context.Context) (*TOTPSetup, error)
	// ConfirmTOTP turns TOTP on with a code of the new secret and returns
	// the recovery codes (shown once). EINVALID naming body.code for a
	// wrong code; ECONFLICT without a secret to confirm.
	ConfirmTOTP(ctx context.Context, code string) ([]string, error)
	// DisableTOTP turns TOTP off with a current code or a recovery code.
	// EINVALID naming body.code for a wrong one; ECONFLICT when it is off.
	DisableTOTP(ctx context.Context, code string) error
	// TOTPQRCode is a PNG QR code of the otpauth URL of the secret being
	// set up. ENOTFOUND when none is.
	TOTPQRCode(ctx context.Context) ([]byte, error)
	// TOTPEnabled reports whether the caller has TOTP on.
	TOTPEnabled(ctx context.Context) (bool, error)
	// LoginWithMFA answers as Login. EUNAUTHORIZED for a wrong, replayed
	// or spent code or an expired, spent or unknown token; ERATELIMIT.
	LoginWithMFA(ctx context.Context, req MFALogin) (*TokenPair, *User, error)
}
