package store

import (
	"context"
	"fmt"
	"strconv"

	"whitecross"
	"whitecross/vault"
)

var _ whitecross.MFAStore = (*Store)(nil)

// Two-step sign-in: the TOTP secret is sealed like message content, under
// the tenant's current data key with associated data "<tenant>|totp|<user>",
// so a sealed secret does not open for another user or district.

func totpAD(tenantID, userID string) []byte {
	return []byte(tenantID + "|totp|" + userID)
}

func errNoTOTP() error {
	return whitecross.Errorf(whitecross.ENOTFOUND, "Two-step sign-in is not set up.")
}

func errBadMFA() error {
	return whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid or expired code.")
}

// FindTOTP implements whitecross.MFAStore.
func (s *Store) FindTOTP(ctx context.Context, tenantID, userID string) (*whitecross.TOTPState, error) {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return nil, errNoTOTP()
	}
	var keyID string
	var sealed []byte
	st := &whitecross.TOTPState{}
	err := s.db.Reader().QueryRow(ctx, `SELECT key_id, secret, confirmed_at IS NOT NULL, last_step,
		(SELECT COUNT(*) FROM mfa_recovery_codes r WHERE r.tenant_id = m.tenant_id AND r.user_id = m.user_id AND r.used_at IS NULL)
		FROM mfa_totp m WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).
		Scan(&keyID, &sealed, &st.Confirmed, &st.LastStep, &st.RecoveryLeft)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errNoTOTP()
	} else if err != nil {
		return nil, fmt.Errorf("find totp: %w", err)
	}
	key, err := s.dataKeyByID(ctx, tenantID, keyID)
	if err != nil {
		return nil, err
	}
	secret, err := key.Open(sealed, totpAD(tenantID, userID))
	if err != nil {
		return nil, fmt.Errorf("open totp secret: %w", err)
	}
	st.Secret = string(secret)
	return st, nil
}

// BeginTOTP implements whitecross.MFAStore.
func (s *Store) BeginTOTP(ctx context.Context, tenantID, userID, secret string) error {
	ctx = inTenant(ctx, tenantID)
	if s.sealer == nil {
		return errNoContentSealer
	}
	if !validUUID(tenantID) || !validUUID(userID) {
		return errNoTOTP()
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		var confirmed bool
		err := tx.QueryRow(ctx, `SELECT confirmed_at IS NOT NULL FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2`,
			tenantID, userID).Scan(&confirmed)
		switch {
		case err == nil && confirmed:
			return whitecross.Errorf(whitecross.ECONFLICT, "Two-step sign-in is already on: turn it off first.")
		case err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND:
			return fmt.Errorf("find totp: %w", err)
		}
		keyID, key, err := s.currentDataKey(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		sealed, err := key.Seal([]byte(secret), totpAD(tenantID, userID))
		if err != nil {
			return fmt.Errorf("seal totp secret: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return fmt.Errorf("replace totp: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mfa_totp (tenant_id, user_id, key_id, secret, created_at)
			VALUES ($1, $2, $3, $4, $5)`, tenantID, userID, keyID, sealed, s.db.now()); err != nil {
			return fmt.Errorf("store totp: %w", err)
		}
		return nil
	})
}

// ConfirmTOTP implements whitecross.MFAStore.
func (s *Store) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, recovery [][]byte, clientIP string) error {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return errNoTOTP()
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		n, err := tx.Exec(ctx, `UPDATE mfa_totp SET confirmed_at = $3, last_step = $4
			WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NULL`, tenantID, userID, now, step)
		if err != nil {
			return fmt.Errorf("confirm totp: %w", err)
		}
		if n == 0 {
			return whitecross.Errorf(whitecross.ECONFLICT, "There is no two-step sign-in to confirm: start the set-up again.")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return fmt.Errorf("replace recovery codes: %w", err)
		}
		for _, h := range recovery {
			if _, err := tx.Exec(ctx, `INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash) VALUES ($1, $2, $3)`,
				tenantID, userID, h); err != nil {
				return fmt.Errorf("store recovery code: %w", err)
			}
		}
		return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{TenantID: tenantID, At: now, ActorID: userID,
			Action: whitecross.AuditMFAEnrolled, TargetType: "user", TargetID: userID, Outcome: whitecross.OutcomeSuccess,
			ClientIP: clientIP, Detail: map[string]string{"method": "totp", "recovery_codes": strconv.Itoa(len(recovery))}})
	})
}

// UseTOTPStep implements whitecross.MFAStore: one conditional UPDATE, so
// two requests with the same code cannot both pass.
func (s *Store) UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) error {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return errBadMFA()
	}
	n, err := s.execTx(ctx, `UPDATE mfa_totp SET last_step = $3
		WHERE tenant_id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $3`, tenantID, userID, step)
	if err != nil {
		return fmt.Errorf("use totp step: %w", err)
	}
	if n == 0 {
		return errBadMFA()
	}
	return nil
}

// SpendRecoveryCode implements whitecross.MFAStore.
func (s *Store) SpendRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) (int, error) {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return 0, errBadMFA()
	}
	left := 0
	err := s.db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.Exec(ctx, `UPDATE mfa_recovery_codes SET used_at = $4
			WHERE tenant_id = $1 AND user_id = $2 AND hash = $3 AND used_at IS NULL`, tenantID, userID, hash, s.db.now())
		if err != nil {
			return fmt.Errorf("spend recovery code: %w", err)
		}
		if n == 0 {
			return errBadMFA()
		}
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL`,
			tenantID, userID).Scan(&left)
	})
	return left, err
}

// DeleteTOTP implements whitecross.MFAStore.
func (s *Store) DeleteTOTP(ctx context.Context, tenantID, userID, clientIP string) error {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(userID) {
		return errNoTOTP()
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		n, err := tx.Exec(ctx, `DELETE FROM mfa_totp WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		if err != nil {
			return fmt.Errorf("delete totp: %w", err)
		}
		if n == 0 {
			return errNoTOTP()
		}
		return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{TenantID: tenantID, At: s.db.now(), ActorID: userID,
			Action: whitecross.AuditMFADisabled, TargetType: "user", TargetID: userID, Outcome: whitecross.OutcomeSuccess,
			ClientIP: clientIP, Detail: map[string]string{"method": "totp"}})
	})
}

// IssueMFAChallenge implements whitecross.MFAStore. The user's spent and
// expired challenges are deleted first, so the table holds at most the
// live ones of each user.
func (s *Store) IssueMFAChallenge(ctx context.Context, c *whitecross.MFAChallenge) error {
	ctx = inTenant(ctx, c.TenantID)
	if !validUUID(c.TenantID) || !validUUID(c.UserID) {
		return errBadMFA()
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		if _, err := tx.Exec(ctx, `DELETE FROM mfa_challenges WHERE tenant_id = $1 AND user_id = $2
			AND (spent_at IS NOT NULL OR expires_at <= $3)`, c.TenantID, c.UserID, now); err != nil {
			return fmt.Errorf("delete old mfa challenges: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mfa_challenges (hash, tenant_id, user_id, first_factor, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.Hash, c.TenantID, c.UserID, c.FirstFactor, now, c.ExpiresAt.UTC()); err != nil {
			return fmt.Errorf("issue mfa challenge: %w", err)
		}
		return nil
	})
}

// FindMFAChallenge implements whitecross.MFAStore.
func (s *Store) FindMFAChallenge(ctx context.Context, hash []byte) (*whitecross.MFAChallenge, error) {
	ctx = AllTenants(ctx) // the challenge alone names its user
	c := &whitecross.MFAChallenge{Hash: hash}
	err := s.db.Reader().QueryRow(ctx, `SELECT tenant_id, user_id, first_factor, expires_at FROM mfa_challenges
		WHERE hash = $1 AND spent_at IS NULL AND expires_at > $2 AND tries < $3`, hash, s.db.now(), whitecross.MFATokenTries).
		Scan(&c.TenantID, &c.UserID, &c.FirstFactor, &c.ExpiresAt)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errBadMFA()
	} else if err != nil {
		return nil, fmt.Errorf("find mfa challenge: %w", err)
	}
	c.ExpiresAt = c.ExpiresAt.UTC()
	return c, nil
}

// SpendMFAChallenge implements whitecross.MFAStore: a conditional UPDATE,
// so of two requests with the same token only one succeeds.
func (s *Store) SpendMFAChallenge(ctx context.Context, hash []byte, ok bool) error {
	ctx = AllTenants(ctx) // the challenge alone names its user
	q := `UPDATE mfa_challenges SET tries = tries + 1,
		spent_at = CASE WHEN tries + 1 >= $3 THEN $2 ELSE spent_at END
		WHERE hash = $1 AND spent_at IS NULL AND tries < $3`
	if ok {
		q = `UPDATE mfa_challenges SET spent_at = $2 WHERE hash = $1 AND spent_at IS NULL AND tries < $3`
	}
	n, err := s.execTx(ctx, q, hash, s.db.now(), whitecross.MFATokenTries)
	if err != nil {
		return fmt.Errorf("spend mfa challenge: %w", err)
	}
	if n == 0 {
		return errBadMFA()
	}
	return nil
}

// execTx runs one statement in its own transaction and returns the rows
// it changed.
func (s *Store) execTx(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.Exec(ctx, q, args...)
		return err
	})
	return n, err
}

// dataKeyByID returns the tenant's data key with that id, cached or read
// and unwrapped.
func (s *Store) dataKeyByID(ctx context.Context, tenantID, keyID string) (*vault.Vault, error) {
	ctx = inTenant(ctx, tenantID)
	if s.sealer == nil {
		return nil, errNoContentSealer
	}
	if key := s.cachedKey(tenantID, keyID); key != nil {
		return key, nil
	}
	var wrapped []byte
	if err := s.db.Reader().QueryRow(ctx, `SELECT wrapped_key FROM tenant_keys WHERE id = $1 AND tenant_id = $2`,
		keyID, tenantID).Scan(&wrapped); err != nil {
		return nil, fmt.Errorf("find tenant data key %s: %w", keyID, err)
	}
	return s.unwrapKey(tenantID, keyID, wrapped)
}
