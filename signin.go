package whitecross

import (
	"context"
	"time"
)

// Limits of signing in with a code and of resetting a password.
const (
	// SigninCodeTTL is how long an emailed or texted code is valid.
	SigninCodeTTL = 10 * time.Minute
	// SigninCodeTries is how many wrong codes spend a code.
	SigninCodeTries = 5
	// PasswordResetTTL is how long a reset link is valid.
	PasswordResetTTL = 30 * time.Minute
)

// Notice is a transactional message to one person (a sign-in code, a
// password reset link): not a Message, never in anyone's inbox. Its text
// is a secret, so it is sealed with the tenant's key while it waits in
// the job queue and never logged.
type Notice struct {
	Channel Channel // EMAIL or SMS
	To      string  // the email address or E.164 phone
	ToName  string
	Locale  string
	Subject string // email only
	Text    string
}

// SigninCode is the stored form of a sign-in code: only its keyed hash.
type SigninCode struct {
	TenantID  string
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
}

// PasswordReset is the stored form of a reset link's token: only its hash.
type PasswordReset struct {
	TenantID  string
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
}

// SigninStore keeps sign-in codes and reset tokens for the auth package.
// Every method is the system's: the callers are not signed in.
type SigninStore interface {
	// FindUserByContact returns the user of the tenant whose email (case
	// ignored) or phone (E.164) is contact, active or not. ENOTFOUND when
	// there is none, or when more than one active user has that phone (a
	// code could not tell them apart).
	FindUserByContact(ctx context.Context, tenantID, contact string) (*User, error)
	// IssueSigninCode replaces the user's code with c (a new request
	// supersedes the old code) and queues n in the same transaction. A c
	// whose user is not an active user of the tenant stores nothing but
	// does the same work (no timing tells), and n is queued to be dropped.
	IssueSigninCode(ctx context.Context, c *SigninCode, n *Notice) error
	// SpendSigninCode spends the user's code when hash is its hash, and
	// counts a try otherwise: the tries-th wrong one spends it.
	// EUNAUTHORIZED when there is no live code (none, expired, spent) or
	// the hash differs.
	SpendSigninCode(ctx context.Context, tenantID, userID string, hash []byte, tries int) error
	// IssuePasswordReset stores r, ending the user's earlier unspent
	// resets, and queues n in the same transaction (dropped, as for
	// IssueSigninCode, when the user is not an active user).
	IssuePasswordReset(ctx context.Context, r *PasswordReset, n *Notice) error
	// ResetPassword spends the reset token with that hash, sets the user's
	// password and ends every session of the user, in one transaction.
	// EINVALID naming body.password when the password fails the policy
	// (the token stays live); EUNAUTHORIZED when the token is unknown,
	// spent or expired, or its user deactivated.
	ResetPassword(ctx context.Context, hash []byte, password, clientIP string) (*User, error)
}

// CodeRequest asks for a sign-in code.
type CodeRequest struct {
	TenantSlug string
	Contact    string // an email or an E.164 phone
	ClientIP   string
}

// CodeLogin signs in with a code.
type CodeLogin struct {
	TenantSlug string
	Contact    string
	Code       string
	ClientIP   string
	UserAgent  string
}

// PasswordForgot asks for a reset link.
type PasswordForgot struct {
	TenantSlug string
	Email      string
	ClientIP   string
}

// PasswordlessAuth signs people in without a password and resets
// forgotten ones.
type PasswordlessAuth interface {
	// RequestCode sends a code to the contact when it is an active user's;
	// the same nil answer otherwise. EINVALID naming body.contact when it
	// is neither an email nor an E.164 phone; ERATELIMIT.
	RequestCode(ctx context.Context, req CodeRequest) error
	// LoginWithCode answers as Login. EUNAUTHORIZED for a wrong, expired
	// or spent code or an unknown contact; ERATELIMIT.
	LoginWithCode(ctx context.Context, req CodeLogin) (*TokenPair, *User, error)
	// ForgotPassword emails a reset link when the email is an active
	// user's; the same nil answer otherwise. ERATELIMIT.
	ForgotPassword(ctx context.Context, req PasswordForgot) error
	// ResetPassword sets a new password with a reset token and ends every
	// session of its user. EINVALID naming body.password; EUNAUTHORIZED for
	// an unknown, spent or expired token; ERATELIMIT.
	ResetPassword(ctx context.Context, token, password, clientIP string) error
}
