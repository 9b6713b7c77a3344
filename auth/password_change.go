package auth

import (
	"context"
	"fmt"

	"whitecross"
)

// Reason code in the detail of the AuditLoginFailed event of a password
// change whose current password was wrong.
const reasonBadCurrentPassword = "bad_current_password"

// errWrongCurrentPassword answers a password change whose current password
// is wrong: the caller is signed in, so naming the field tells nothing new.
var errWrongCurrentPassword = whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.current_password", nil,
	"The current password is wrong.")

// ChangePassword implements whitecross.AuthService. A stolen session is not
// enough to take over the account: the current password must be proved,
// and that proof is a guess like a sign-in, so it is charged to the same
// account and address counters (a wrong one keeps its charge and is
// audited, a lockout answers ERATELIMIT) and hashed in the same bounded
// slots. The new password is checked against the policy first, so a weak
// one costs no attempt.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	a := whitecross.ActorFromContext(ctx)
	if a == nil || a.System || a.UserID == "" {
		return whitecross.Errorf(whitecross.EUNAUTHORIZED, "Sign in to change your password.")
	}
	tenant, err := s.deps.Tenants.FindTenantByID(ctx, a.TenantID)
	if err != nil {
		return fmt.Errorf("find tenant: %w", err)
	}
	user, err := s.deps.Users.FindUserByID(ctx, a.UserID)
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	if err := whitecross.CheckPassword("body.new_password", next, user.Email, user.Name); err != nil {
		return err
	}
	now := s.now()
	keys := s.throttleKeys(tenant.Slug, user.Email, a.ClientIP)
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return err
	}
	creds, err := s.deps.Credentials.FindCredentials(whitecross.SystemContext(ctx, tenant.ID), tenant.ID, user.Email)
	if err != nil {
		return s.giveBack(ctx, charges, fmt.Errorf("find credentials: %w", err))
	}
	matched, err := s.checkPassword(ctx, creds, current)
	if err != nil {
		return s.giveBack(ctx, charges, err)
	}
	if !matched {
		if err := s.recordFailure(ctx, tenant, creds, a.ClientIP, reasonBadCurrentPassword, keys, charges, now); err != nil {
			return err
		}
		return errWrongCurrentPassword
	}
	if err := s.passwordProved(ctx, keys[0].key, charges[1:]); err != nil {
		return err
	}
	return s.deps.Users.SetPassword(ctx, a.UserID, next)
}
