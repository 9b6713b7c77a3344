package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"whitecross"
)

// errBadResetToken is the one answer to every reset token that cannot be
// used.
func errBadResetToken() error {
	return whitecross.Errorf(whitecross.EUNAUTHORIZED, "This reset link is invalid, used or expired. Ask for a new one.")
}

// IssuePasswordReset implements whitecross.SigninStore: like
// IssueSigninCode, the same statements run for an unknown user.
func (s *Store) IssuePasswordReset(ctx context.Context, r *whitecross.PasswordReset, n *whitecross.Notice) error {
	ctx = inTenant(ctx, r.TenantID)
	if r == nil || n == nil || len(r.Hash) == 0 || r.ExpiresAt.IsZero() || !validUUID(r.TenantID) {
		return errors.New("issue password reset: tenant, hash, expiry and notice required")
	}
	userID := r.UserID
	if !validUUID(userID) {
		userID = noUser
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE tenant_id = $1 AND user_id = $2 AND spent_at IS NULL`,
			r.TenantID, userID); err != nil {
			return fmt.Errorf("supersede password reset: %w", err)
		}
		stored, err := tx.Exec(ctx, `INSERT INTO password_resets (hash, tenant_id, user_id, created_at, expires_at)
			SELECT $3, tenant_id, id, $4, $5 FROM users WHERE tenant_id = $1 AND id = $2 AND deactivated_at IS NULL`,
			r.TenantID, userID, r.Hash, now, r.ExpiresAt.UTC().Truncate(time.Microsecond))
		if err != nil {
			return fmt.Errorf("store password reset: %w", err)
		}
		return s.queueNotice(ctx, tx, r.TenantID, noticeFor(n, stored))
	})
}

// resetRow is a password reset with its user.
type resetRow struct {
	user      *whitecross.User
	expiresAt time.Time
	spentAt   *time.Time
}

// findReset returns the reset whose token hash is hash, with its user.
func (s *Store) findReset(ctx context.Context, hash []byte) (*resetRow, error) {
	var r resetRow
	u, err := scanUser(s.db.Reader().QueryRow(ctx, `SELECT `+userColumns+`, pr.expires_at, pr.spent_at
		FROM password_resets pr JOIN users u ON u.id = pr.user_id AND u.tenant_id = pr.tenant_id
		WHERE pr.hash = $1`, hash), &r.expiresAt, &r.spentAt)
	if err != nil {
		return nil, err
	}
	r.user = u
	return &r, nil
}

// ResetPassword implements whitecross.SigninStore. The new password is
// checked and hashed before anything is written, so a weak one costs the
// token nothing; the token is then spent by an UPDATE that only a live
// token passes, so two resets at once cannot both use it. A known token
// that is spent or expired is audited in its tenant's chain.
func (s *Store) ResetPassword(ctx context.Context, hash []byte, password, clientIP string) (*whitecross.User, error) {
	ctx = AllTenants(ctx) // the reset token alone names its user
	if len(hash) == 0 {
		return nil, errBadResetToken()
	}
	r, err := s.findReset(ctx, hash)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errBadResetToken()
	} else if err != nil {
		return nil, fmt.Errorf("find password reset: %w", err)
	}
	u, now := r.user, s.db.now()
	if reason := resetRefusal(r, now); reason != "" {
		return nil, s.resetRefused(ctx, u, clientIP, reason)
	}
	pwHash, err := s.hashPassword(ctx, "body.password", password, u)
	if err != nil {
		return nil, err
	}
	spent := false
	err = s.db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.Exec(ctx, `UPDATE password_resets SET spent_at = $2 WHERE hash = $1 AND spent_at IS NULL AND expires_at > $2`, hash, now)
		if err != nil || n == 0 {
			return err
		}
		spent = true
		return s.applyReset(ctx, tx, u, pwHash, clientIP, now)
	})
	if err != nil {
		return nil, err
	}
	if !spent {
		return nil, s.resetRefused(ctx, u, clientIP, "spent")
	}
	return u, nil
}

// resetRefusal is the audit reason a reset token cannot be used, or "".
func resetRefusal(r *resetRow, now time.Time) string {
	switch {
	case r.spentAt != nil:
		return "spent"
	case !now.Before(r.expiresAt):
		return "expired"
	case !r.user.Active():
		return "deactivated"
	}
	return ""
}

// applyReset sets the password and ends every session of u, audited.
func (s *Store) applyReset(ctx context.Context, tx *Tx, u *whitecross.User, pwHash, clientIP string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`,
		u.TenantID, u.ID, pwHash, now); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	ended, err := endSessionsTx(ctx, tx, u.ID, "", now)
	if err != nil {
		return err
	}
	return s.AppendAuditTx(ctx, tx, &whitecross.AuditEvent{
		TenantID: u.TenantID, At: now, ActorID: u.ID, Action: whitecross.AuditPasswordResetSucceeded,
		TargetType: "user", TargetID: u.ID, Outcome: whitecross.OutcomeSuccess, ClientIP: clientIP,
		Detail: map[string]string{"sessions_ended": strconv.FormatInt(ended, 10)},
	})
}

// resetRefused audits a refused reset token of u and returns the error.
func (s *Store) resetRefused(ctx context.Context, u *whitecross.User, clientIP, reason string) error {
	if err := s.AppendAudit(ctx, &whitecross.AuditEvent{
		TenantID: u.TenantID, ActorID: u.ID, Action: whitecross.AuditPasswordResetFailed,
		TargetType: "user", TargetID: u.ID, Outcome: whitecross.OutcomeFailure, ClientIP: clientIP,
		Detail: map[string]string{"reason": reason},
	}); err != nil {
		return err
	}
	return errBadResetToken()
}
