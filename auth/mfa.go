package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"whitecross"
)

var _ whitecross.MFAService = (*Service)(nil)

// errInvalidMFA is the one answer to a second step that fails: a wrong,
// replayed or spent code, or an unknown, expired or spent mfa_token.
var errInvalidMFA = whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid code, or the sign-in has expired: sign in again.")

var errNoMFA = whitecross.Errorf(whitecross.EUNAVAILABLE, "Two-step sign-in is not available on this server.")

// Reason codes of AuditMFAFailed.
const (
	reasonReplayedCode = "replayed_code"
	reasonSpentToken   = "spent_token"
)

// mfaChallenge answers a proved first factor of a user who has TOTP on
// with an mfa_token instead of a session (nil, nil when the user has no
// TOTP): the sign-in goes on at LoginWithMFA.
func (s *Service) mfaChallenge(ctx context.Context, user *whitecross.User, req sessionRequest, now time.Time) (*whitecross.TokenPair, error) {
	if s.deps.MFA == nil {
		return nil, nil
	}
	st, err := s.deps.MFA.FindTOTP(whitecross.SystemContext(ctx, user.TenantID), user.TenantID, user.ID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND || (err == nil && !st.Confirmed) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find totp: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate mfa token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := s.deps.MFA.IssueMFAChallenge(ctx, &whitecross.MFAChallenge{TenantID: user.TenantID, UserID: user.ID,
		Hash: mfaTokenHash(token), ExpiresAt: now.Add(whitecross.MFATokenTTL), FirstFactor: req.action}); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, &whitecross.AuditEvent{TenantID: user.TenantID, At: now, ActorID: user.ID,
		Action: whitecross.AuditMFAChallenged, TargetType: "user", TargetID: user.ID, Outcome: whitecross.OutcomeSuccess,
		ClientIP: req.clientIP, Detail: map[string]string{"first_factor": req.action}}); err != nil {
		return nil, err
	}
	return &whitecross.TokenPair{MFAToken: token}, nil
}

// mfaThrottleKeys are the counters of second steps: the user's own (never
// cleared by a right password, so a thief of the password cannot reset
// the count by signing in again) and the address's sign-in counter.
func (s *Service) mfaThrottleKeys(tenantID, userID, clientIP string) []throttleKey {
	keys := []throttleKey{{key: "mfa:" + tenantID + ":" + userID, policy: s.cfg.AccountThrottle, scope: "account"}}
	if clientIP != "" {
		keys = append(keys, throttleKey{key: addressThrottleKey(clientIP), policy: s.cfg.AddressThrottle, scope: "address"})
	}
	return keys
}

// LoginWithMFA implements whitecross.MFAService. The attempt is charged
// like a password; a wrong code also counts against the token, whose
// MFATokenTries-th wrong code spends it. Success spends the token, clears
// the user's count and opens the session (audited AuditMFAPassed).
func (s *Service) LoginWithMFA(ctx context.Context, req whitecross.MFALogin) (*whitecross.TokenPair, *whitecross.User, error) {
	if s.deps.MFA == nil {
		return nil, nil, errNoMFA
	}
	now, hash := s.now(), mfaTokenHash(req.Token)
	c, err := s.deps.MFA.FindMFAChallenge(ctx, hash)
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED || (err == nil && !now.Before(c.ExpiresAt)) {
		return nil, nil, errInvalidMFA
	} else if err != nil {
		return nil, nil, err
	}
	keys := s.mfaThrottleKeys(c.TenantID, c.UserID, req.ClientIP)
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return nil, nil, err
	}
	sys := whitecross.SystemContext(ctx, c.TenantID)
	user, err := s.deps.Users.FindUserByID(sys, c.UserID)
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, fmt.Errorf("find user: %w", err))
	}
	method, reason, err := s.checkSecondFactor(ctx, user, req.Code, now)
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, err)
	}
	if reason == "" && s.deps.MFA.SpendMFAChallenge(ctx, hash, true) != nil {
		reason = reasonSpentToken
	}
	if reason != "" {
		return nil, nil, s.mfaFailed(ctx, user, hash, reason, req.ClientIP, keys, charges, now)
	}
	if err := s.passwordProved(ctx, keys[0].key, charges[1:]); err != nil {
		return nil, nil, err
	}
	return s.startSession(ctx, user, sessionRequest{clientIP: req.ClientIP, userAgent: req.UserAgent,
		action: whitecross.AuditMFAPassed, detail: map[string]string{"method": method, "first_factor": c.FirstFactor}}, now)
}

// mfaFailed counts a wrong code against the token, audits it (and any
// lockout) and returns errInvalidMFA.
func (s *Service) mfaFailed(ctx context.Context, user *whitecross.User, hash []byte, reason, clientIP string,
	keys []throttleKey, charges []whitecross.ThrottleCharge, now time.Time) error {
	if reason != reasonSpentToken {
		if err := s.deps.MFA.SpendMFAChallenge(ctx, hash, false); err != nil && whitecross.ErrorCode(err) != whitecross.EUNAUTHORIZED {
			return err
		}
	}
	tenant := &whitecross.Tenant{ID: user.TenantID}
	if err := s.recordFailureAs(ctx, whitecross.AuditMFAFailed, tenant, &whitecross.Credentials{User: user},
		clientIP, reason, keys, charges, now); err != nil {
		return err
	}
	return errInvalidMFA
}

// checkSecondFactor spends code as the user's TOTP code of a step not used
// before, or else as one of their unused recovery codes, and returns the
// method ("totp", "recovery_code"), or the reason it fails.
func (s *Service) checkSecondFactor(ctx context.Context, user *whitecross.User, code string, now time.Time) (string, string, error) {
	if !user.Active() {
		return "", reasonDeactivated, nil
	}
	st, err := s.deps.MFA.FindTOTP(ctx, user.TenantID, user.ID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND || (err == nil && !st.Confirmed) {
		return "", reasonBadCode, nil
	} else if err != nil {
		return "", "", err
	}
	if codeDigits.MatchString(code) {
		step, err := totpStep(st.Secret, code, now)
		if err != nil || step == 0 {
			return "", reasonBadCode, err
		}
		if step <= st.LastStep || s.deps.MFA.UseTOTPStep(ctx, user.TenantID, user.ID, step) != nil {
			return "", reasonReplayedCode, nil
		}
		return "totp", "", nil
	}
	left, err := s.deps.MFA.SpendRecoveryCode(ctx, user.TenantID, user.ID, recoveryHash(user.ID, code))
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
		return "", reasonBadCode, nil
	} else if err != nil {
		return "", "", err
	}
	return "recovery_code", "", s.audit(ctx, &whitecross.AuditEvent{TenantID: user.TenantID, At: now, ActorID: user.ID,
		Action: whitecross.AuditMFARecoveryUsed, TargetType: "user", TargetID: user.ID, Outcome: whitecross.OutcomeSuccess,
		Detail: map[string]string{"remaining": strconv.Itoa(left)}})
}
