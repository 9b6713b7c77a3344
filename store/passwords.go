package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// errOthersPassword refuses to let anyone but the person (or the system)
// choose a password: an administrator who could would sign in as that
// person and read what only they may read.
var errOthersPassword = whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.password", nil,
	"Only the person sets their own password; an administrator may deactivate the account instead.")

// SetPassword implements whitecross.UserService: it replaces the password
// of user id (an empty one clears it: they can no longer sign in with one)
// and ends their other sessions in the same transaction — every one when
// the system sets it, all but the caller's own when they set their own. The
// caller is the system (the operator's CLI) or the person themselves, whose
// current password AuthService.ChangePassword has checked; anyone else gets
// EFORBIDDEN naming body.password. EINVALID naming body.password when the
// password fails the policy; EUNAVAILABLE when the server is too busy
// hashing.
func (s *Store) SetPassword(ctx context.Context, id, password string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	id, ok := parseID(id)
	if !ok {
		return whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	if !a.System && id != strings.ToLower(a.UserID) {
		return errOthersPassword
	}
	u, _, err := s.findUserFor(ctx, s.db.Reader(), a, id)
	if err != nil {
		return err
	}
	var hash string
	if password != "" {
		if hash, err = s.hashPassword(ctx, "body.password", password, u); err != nil {
			return err
		}
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`,
			a.TenantID, u.ID, hash, now); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		ended, err := endSessionsTx(ctx, tx, u.ID, ownSession(a, u.ID), now)
		if err != nil {
			return err
		}
		return s.auditTx(ctx, tx, whitecross.AuditUserUpdated, "user", u.ID, map[string]string{
			"fields": "password", "sessions_ended": strconv.FormatInt(ended, 10),
		})
	})
}

// ownSession is the session a password change keeps: the caller's own when
// they change their own password, none otherwise.
func ownSession(a *whitecross.Actor, userID string) string {
	if a.System || strings.ToLower(a.UserID) != userID {
		return ""
	}
	return a.SessionID
}

// endSessionsTx revokes every live session of the user but keep (none when
// keep is empty) and returns how many it ended. Access tokens of those
// sessions are refused from the next request on (SessionActor), their
// refresh tokens at once (RotateRefreshToken).
func endSessionsTx(ctx context.Context, tx *Tx, userID, keep string, now time.Time) (int64, error) {
	if !validUUID(keep) {
		keep = noUser
	}
	n, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, userID, keep, now)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// hashPassword checks a new password of u against the policy (naming field)
// and hashes it. EUNAVAILABLE when the server is too busy hashing to take it
// now.
func (s *Store) hashPassword(ctx context.Context, field, pw string, u *whitecross.User) (string, error) {
	if err := whitecross.CheckPassword(field, pw, u.Email, u.Name); err != nil {
		return "", err
	}
	if s.hasher == nil {
		return "", fmt.Errorf("hash password: store has no password hasher")
	}
	hash, err := s.hasher.HashPassword(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}
