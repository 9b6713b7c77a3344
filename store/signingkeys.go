package store

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"whitecross"
)

var _ whitecross.SigningKeyStore = (*Store)(nil)

// errNoSealer is returned when signing keys are used on a Store built
// without a Sealer: they are never stored or read in the clear.
var errNoSealer = errors.New("signing keys: the store has no sealer (master key) configured")

// signingKeyAD binds a sealed key to its row, so a sealed key copied onto
// another row does not open.
func signingKeyAD(id string) []byte { return []byte("signing-key:" + id) }

// SigningKeys implements whitecross.SigningKeyStore: every key, newest
// first (among keys created at the same instant the unretired one first),
// each opened with the store's sealer. The keys are deployment-wide, not
// tenant-scoped. It fails when the store has no sealer or a key does not
// open ("cannot open signing key <id>: wrong master key?").
func (s *Store) SigningKeys(ctx context.Context) ([]*whitecross.SigningKey, error) {
	if s.sealer == nil {
		return nil, errNoSealer
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT id, sealed_key, created_at, retired_at FROM signing_keys
		ORDER BY created_at DESC, CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []*whitecross.SigningKey
	for rows.Next() {
		var k whitecross.SigningKey
		var sealed []byte
		if err := rows.Scan(&k.ID, &sealed, &k.CreatedAt, &k.RetiredAt); err != nil {
			return nil, fmt.Errorf("scan signing key: %w", err)
		}
		k.CreatedAt = k.CreatedAt.UTC()
		if k.RetiredAt != nil {
			t := k.RetiredAt.UTC()
			k.RetiredAt = &t
		}
		priv, err := s.sealer.Open(sealed, signingKeyAD(k.ID))
		if err != nil {
			return nil, fmt.Errorf("cannot open signing key %s: wrong master key? (%w)", k.ID, err)
		}
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("cannot open signing key %s: not an Ed25519 private key", k.ID)
		}
		k.PrivateKey = ed25519.PrivateKey(priv)
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return keys, nil
}

// AddSigningKey implements whitecross.SigningKeyStore: in one transaction
// it retires the current key (its RetiredAt becomes now) and stores k, its
// private key sealed, as the new current key. k.CreatedAt defaults to now;
// k.RetiredAt is cleared. ECONFLICT when a key with k.ID exists (nothing
// is retired then).
func (s *Store) AddSigningKey(ctx context.Context, k *whitecross.SigningKey) error {
	if s.sealer == nil {
		return errNoSealer
	}
	if k == nil || k.ID == "" || len(k.PrivateKey) != ed25519.PrivateKeySize {
		return errors.New("add signing key: an id and an Ed25519 private key are required")
	}
	sealed, err := s.sealer.Seal(k.PrivateKey, signingKeyAD(k.ID))
	if err != nil {
		return fmt.Errorf("seal signing key: %w", err)
	}
	now := s.db.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return fmt.Errorf("retire signing key: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, sealed_key, created_at) VALUES ($1, $2, $3)`,
			k.ID, sealed, k.CreatedAt); err != nil {
			if whitecross.ErrorCode(err) == whitecross.ECONFLICT {
				return whitecross.Errorf(whitecross.ECONFLICT, "Signing key %s already exists.", k.ID)
			}
			return fmt.Errorf("insert signing key: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	k.RetiredAt = nil
	return nil
}
