package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"whitecross"
)

// resetTokenBytes is the randomness of a reset link's token.
const resetTokenBytes = 32

// errInvalidReset answers every reset token that cannot be used.
var errInvalidReset = whitecross.Errorf(whitecross.EUNAUTHORIZED, "This reset link is invalid, used or expired. Ask for a new one.")

// hashResetToken is the stored form of a reset token: SHA-256 of its
// bytes. 32 random bytes need no key or slow hash to resist guessing. A
// string that is not a token hashes to something no token has.
func hashResetToken(token string) []byte {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != resetTokenBytes {
		raw = []byte("not a token:" + token)
	}
	sum := sha256.Sum256(raw)
	return sum[:]
}

// ForgotPassword implements whitecross.PasswordlessAuth, the way
// RequestCode does: the same path for known and unknown emails.
func (s *Service) ForgotPassword(ctx context.Context, req whitecross.PasswordForgot) error {
	if s.deps.Signin == nil {
		return errNoSignin
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	slug, now := strings.ToLower(strings.TrimSpace(req.TenantSlug)), s.now()
	if err := s.reserveSend(ctx, s.sendKeys("reset", slug, email, req.ClientIP), now); err != nil {
		return err
	}
	tenant, user, err := s.findContact(ctx, slug, email)
	if err != nil || tenant == nil {
		return err
	}
	token, err := randomToken(resetTokenBytes)
	if err != nil {
		return err
	}
	if user != nil && user.Email != email {
		user = nil // found by phone: a reset link goes by email only
	}
	userID := activeUserID(user)
	notice := resetNotice(email, user, tenant, s.cfg.Issuer, token)
	if err := s.deps.Signin.IssuePasswordReset(ctx, &whitecross.PasswordReset{TenantID: tenant.ID, UserID: userID,
		Hash: hashResetToken(token), ExpiresAt: now.Add(whitecross.PasswordResetTTL)}, notice); err != nil {
		return fmt.Errorf("issue password reset: %w", err)
	}
	return s.auditRequest(ctx, whitecross.AuditPasswordResetRequested, tenant, user, whitecross.ChannelEmail, req.ClientIP, now)
}

// ResetPassword implements whitecross.PasswordlessAuth. A token is charged
// to the client address like a sign-in (a wrong one keeps its charge), so
// an address cannot try tokens without end, though 32 random bytes are
// beyond guessing anyway. A weak password gets its charge back: the token
// stays good for a better one.
func (s *Service) ResetPassword(ctx context.Context, token, password, clientIP string) error {
	if s.deps.Signin == nil {
		return errNoSignin
	}
	var charges []whitecross.ThrottleCharge
	if clientIP != "" {
		keys := []throttleKey{{key: addressThrottleKey(clientIP), policy: s.cfg.AddressThrottle, scope: "address"}}
		var err error
		if charges, err = s.reserve(ctx, keys, s.now()); err != nil {
			return err
		}
	}
	user, err := s.deps.Signin.ResetPassword(ctx, hashResetToken(strings.TrimSpace(token)), password, clientIP)
	switch code := whitecross.ErrorCode(err); {
	case err == nil:
		if err := s.deps.Throttle.Refund(ctx, charges); err != nil {
			return fmt.Errorf("refund reset attempt: %w", err)
		}
		return s.endLockout(ctx, user)
	case code == whitecross.EUNAUTHORIZED:
		return errInvalidReset
	default:
		return s.giveBack(ctx, charges, err)
	}
}

// endLockout clears the sign-in counters of a user who proved their
// mailbox with a reset link: a reset is the way out of a lockout, as the
// operator's set-password is.
func (s *Service) endLockout(ctx context.Context, user *whitecross.User) error {
	tenant, err := s.deps.Tenants.FindTenantByID(whitecross.SystemContext(ctx, user.TenantID), user.TenantID)
	if err != nil {
		return fmt.Errorf("find tenant: %w", err)
	}
	for _, contact := range []string{user.Email, user.Phone} {
		if contact == "" {
			continue
		}
		if err := s.deps.Throttle.Reset(ctx, AccountThrottleKey(tenant.Slug, contact)); err != nil {
			return fmt.Errorf("reset login throttle: %w", err)
		}
	}
	return nil
}
