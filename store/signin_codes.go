package store

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.SigninStore = (*Store)(nil)

// errBadCode is the one answer to every code that cannot be used.
func errBadCode() error {
	return whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid or expired code.")
}

// FindUserByContact implements whitecross.SigninStore. An email finds the
// user with that email, active or not; a phone finds the one active user
// with that number (two guardians of a household may share one: then
// neither can sign in with it, since a code could not tell them apart).
func (s *Store) FindUserByContact(ctx context.Context, tenantID, contact string) (*whitecross.User, error) {
	ctx = inTenant(ctx, tenantID)
	contact = strings.ToLower(strings.TrimSpace(contact))
	if !validUUID(tenantID) || contact == "" {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	if strings.Contains(contact, "@") {
		creds, err := s.FindCredentials(ctx, tenantID, contact)
		if err != nil {
			return nil, err
		}
		return creds.User, nil
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE u.tenant_id = $1 AND u.phone = $2 AND u.deactivated_at IS NULL LIMIT 2`, tenantID, contact)
	if err != nil {
		return nil, fmt.Errorf("find user by phone: %w", err)
	}
	defer rows.Close()
	var found []*whitecross.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("find user by phone: %w", err)
		}
		found = append(found, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find user by phone: %w", err)
	}
	if len(found) != 1 {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	return found[0], nil
}

// IssueSigninCode implements whitecross.SigninStore. The insert goes
// through the users table, so the same statements run for an unknown user
// (noUser) and simply store nothing.
func (s *Store) IssueSigninCode(ctx context.Context, c *whitecross.SigninCode, n *whitecross.Notice) error {
	ctx = inTenant(ctx, c.TenantID)
	if c == nil || n == nil || len(c.Hash) == 0 || c.ExpiresAt.IsZero() || !validUUID(c.TenantID) {
		return errors.New("issue sign-in code: tenant, hash, expiry and notice required")
	}
	userID := c.UserID
	if !validUUID(userID) {
		userID = noUser
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		if _, err := tx.Exec(ctx, `DELETE FROM signin_codes WHERE tenant_id = $1 AND user_id = $2`, c.TenantID, userID); err != nil {
			return fmt.Errorf("supersede sign-in code: %w", err)
		}
		stored, err := tx.Exec(ctx, `INSERT INTO signin_codes (tenant_id, user_id, hash, tries, created_at, expires_at)
			SELECT tenant_id, id, $3, 0, $4, $5 FROM users WHERE tenant_id = $1 AND id = $2 AND deactivated_at IS NULL`,
			c.TenantID, userID, c.Hash, now, c.ExpiresAt.UTC().Truncate(time.Microsecond))
		if err != nil {
			return fmt.Errorf("store sign-in code: %w", err)
		}
		return s.queueNotice(ctx, tx, c.TenantID, noticeFor(n, stored))
	})
}

// noticeFor is n when its code or token was stored, else a notice to
// nobody, which the worker drops.
func noticeFor(n *whitecross.Notice, stored int64) *whitecross.Notice {
	if stored == 1 {
		return n
	}
	return &whitecross.Notice{Channel: n.Channel}
}

// SpendSigninCode implements whitecross.SigninStore. A try is claimed by
// one UPDATE (a row lock on PostgreSQL, the write lock on SQLite), so
// concurrent guesses never get more than tries between them.
func (s *Store) SpendSigninCode(ctx context.Context, tenantID, userID string, hash []byte, tries int) error {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return errBadCode()
	}
	matched := false
	err := s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		var stored []byte
		var used int
		err := tx.QueryRow(ctx, `UPDATE signin_codes SET tries = tries + 1
			WHERE tenant_id = $1 AND user_id = $2 AND spent_at IS NULL AND expires_at > $3 AND tries < $4
			RETURNING hash, tries`, tenantID, userID, now, tries).Scan(&stored, &used)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return errBadCode()
		} else if err != nil {
			return fmt.Errorf("claim sign-in code try: %w", err)
		}
		matched = hmac.Equal(stored, hash)
		if matched || used >= tries {
			if _, err := tx.Exec(ctx, `UPDATE signin_codes SET spent_at = $3 WHERE tenant_id = $1 AND user_id = $2`,
				tenantID, userID, now); err != nil {
				return fmt.Errorf("spend sign-in code: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A wrong code's try is committed before it is answered, so it counts.
	if !matched {
		return errBadCode()
	}
	return nil
}
