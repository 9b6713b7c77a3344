package auth

import (
	"context"
	"fmt"
	"time"

	"whitecross"
)

// BeginTOTP implements whitecross.MFAService: a new secret, stored sealed
// and unconfirmed until ConfirmTOTP proves the app has it.
func (s *Service) BeginTOTP(ctx context.Context) (*whitecross.TOTPSetup, error) {
	actor, user, err := s.mfaCaller(ctx)
	if err != nil {
		return nil, err
	}
	key, err := newTOTPKey(user.Email)
	if err != nil {
		return nil, err
	}
	if err := s.deps.MFA.BeginTOTP(ctx, actor.TenantID, actor.UserID, key.Secret()); err != nil {
		return nil, err
	}
	return &whitecross.TOTPSetup{Secret: key.Secret(), OTPAuthURL: key.URL()}, nil
}

// errWrongCode names the field of a wrong code in enrolment and turning
// off, where the caller is signed in: a 422, not a failed sign-in.
func errWrongCode() error {
	return whitecross.FieldErrorf(whitecross.EINVALID, "body.code", nil,
		"That code is not right: enter the 6 digits your authenticator app shows now.")
}

// ConfirmTOTP implements whitecross.MFAService. Wrong codes are charged to
// the user's second-step counter, as at sign-in.
func (s *Service) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	actor, _, err := s.mfaCaller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.deps.MFA.FindTOTP(ctx, actor.TenantID, actor.UserID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND || (err == nil && st.Confirmed) {
		return nil, whitecross.Errorf(whitecross.ECONFLICT, "There is no two-step sign-in to confirm: start the set-up again.")
	} else if err != nil {
		return nil, err
	}
	step, err := s.throttledTOTP(ctx, actor, st.Secret, code)
	if err != nil {
		return nil, err
	}
	codes, err := newRecoveryCodes(whitecross.RecoveryCodeCount)
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = recoveryHash(actor.UserID, c)
	}
	if err := s.deps.MFA.ConfirmTOTP(ctx, actor.TenantID, actor.UserID, step, hashes, actor.ClientIP); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP implements whitecross.MFAService: a current code (not one
// used before) or a recovery code proves the caller still holds the
// factor, so a stolen session alone cannot turn it off.
func (s *Service) DisableTOTP(ctx context.Context, code string) error {
	actor, user, err := s.mfaCaller(ctx)
	if err != nil {
		return err
	}
	st, err := s.deps.MFA.FindTOTP(ctx, actor.TenantID, actor.UserID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND || (err == nil && !st.Confirmed) {
		return whitecross.Errorf(whitecross.ECONFLICT, "Two-step sign-in is not on.")
	} else if err != nil {
		return err
	}
	now := s.now()
	keys := s.mfaThrottleKeys(actor.TenantID, actor.UserID, "")
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return err
	}
	_, reason, err := s.checkSecondFactor(ctx, user, code, now)
	if err != nil {
		return s.giveBack(ctx, charges, err)
	}
	if reason != "" {
		return s.wrongCode(ctx, actor, "disable", reason, now)
	}
	if err := s.passwordProved(ctx, keys[0].key, nil); err != nil {
		return err
	}
	return s.deps.MFA.DeleteTOTP(ctx, actor.TenantID, actor.UserID, actor.ClientIP)
}

// throttledTOTP returns the step of a right code of secret, charged to the
// caller's second-step counter; errWrongCode otherwise.
func (s *Service) throttledTOTP(ctx context.Context, actor *whitecross.Actor, secret, code string) (int64, error) {
	now := s.now()
	keys := s.mfaThrottleKeys(actor.TenantID, actor.UserID, "")
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return 0, err
	}
	step, err := totpStep(secret, code, now)
	if err != nil {
		return 0, s.giveBack(ctx, charges, err)
	}
	if step == 0 {
		return 0, s.wrongCode(ctx, actor, "enrol", reasonBadCode, now)
	}
	return step, s.passwordProved(ctx, keys[0].key, nil)
}

// TOTPEnabled implements whitecross.MFAService.
func (s *Service) TOTPEnabled(ctx context.Context) (bool, error) {
	if s.deps.MFA == nil {
		return false, nil
	}
	actor, err := whitecross.RequireActor(ctx)
	if err != nil {
		return false, err
	}
	st, err := s.deps.MFA.FindTOTP(ctx, actor.TenantID, actor.UserID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return st.Confirmed, nil
}

// wrongCode audits a wrong code of a signed-in caller (its charge stands)
// and returns errWrongCode.
func (s *Service) wrongCode(ctx context.Context, actor *whitecross.Actor, during, reason string, now time.Time) error {
	if err := s.audit(ctx, &whitecross.AuditEvent{TenantID: actor.TenantID, At: now, ActorID: actor.UserID,
		Action: whitecross.AuditMFAFailed, TargetType: "user", TargetID: actor.UserID, Outcome: whitecross.OutcomeFailure,
		ClientIP: actor.ClientIP, Detail: map[string]string{"reason": reason, "during": during}}); err != nil {
		return err
	}
	return errWrongCode()
}

// mfaCaller is the signed-in caller and their user record.
func (s *Service) mfaCaller(ctx context.Context) (*whitecross.Actor, *whitecross.User, error) {
	if s.deps.MFA == nil {
		return nil, nil, errNoMFA
	}
	actor, err := whitecross.RequireActor(ctx)
	if err != nil {
		return nil, nil, err
	}
	user, err := s.deps.Users.FindUserByID(ctx, actor.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("find user: %w", err)
	}
	return actor, user, nil
}
