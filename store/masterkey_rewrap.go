package store

import (
	"context"
	"errors"
	"fmt"

	"whitecross"
)

// RewrapReport counts what RewrapMasterKey wrapped anew, and what was
// already under the new master key.
type RewrapReport struct {
	DataKeys, SigningKeys, AlreadyCurrent int
}

// rewrapSealer is a sealer that opens with an old master key and seals
// with the new one (vault.Ring).
type rewrapSealer interface {
	Open(sealed, associatedData []byte) ([]byte, error)
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Current(sealed []byte) bool
	KeyID() string
}

// RewrapMasterKey re-wraps, in one transaction, every tenant data key and
// every token signing key that the store's sealer does not seal with its
// current key: opened with the old master key, sealed with the new. The
// store's sealer must be a vault.Ring holding both. Nothing is changed when
// any value opens with neither key. Data keys themselves do not change, so
// no content is re-encrypted and running servers' cached keys stay good.
func (s *Store) RewrapMasterKey(ctx context.Context) (RewrapReport, error) {
	var rep RewrapReport
	ring, ok := s.sealer.(rewrapSealer)
	if !ok {
		return rep, errors.New("re-wrap needs both the new and the old master key")
	}
	ctx = AllTenants(ctx) // every district's keys, in one transaction
	err := s.db.InTx(ctx, func(tx *Tx) error {
		rep = RewrapReport{}
		tenants, err := s.rewrapTable(ctx, tx, ring, "tenant_keys", "wrapped_key",
			func(id, tenantID string) []byte { return tenantKeyAD(tenantID, id) }, &rep.DataKeys, &rep.AlreadyCurrent)
		if err != nil {
			return err
		}
		if _, err := s.rewrapTable(ctx, tx, ring, "signing_keys", "sealed_key",
			func(id, _ string) []byte { return signingKeyAD(id) }, &rep.SigningKeys, &rep.AlreadyCurrent); err != nil {
			return err
		}
		for tenantID := range tenants {
			if err := s.auditOperator(ctx, tx, tenantID, whitecross.AuditDataKeysRewrapped,
				map[string]string{"master_key_id": ring.KeyID()}); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

// rewrapTable re-wraps the sealed column col of every row of table and
// returns the tenants of the rows it re-wrapped.
func (s *Store) rewrapTable(ctx context.Context, tx *Tx, ring rewrapSealer, table, col string,
	ad func(id, tenantID string) []byte, done, already *int) (map[string]bool, error) {
	tenantCol := "''"
	if table == "tenant_keys" {
		tenantCol = "tenant_id"
	}
	q := `SELECT id, ` + tenantCol + `, ` + col + ` FROM ` + table + ` ORDER BY id`
	if s.db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	type sealedRow struct {
		id, tenantID string
		sealed       []byte
	}
	rows, err := queryAll(ctx, tx, func(r Row) (sealedRow, error) {
		var x sealedRow
		err := r.Scan(&x.id, &x.tenantID, &x.sealed)
		return x, err
	}, q)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	tenants := map[string]bool{}
	for _, r := range rows {
		if ring.Current(r.sealed) {
			*already++
			continue
		}
		plain, err := ring.Open(r.sealed, ad(r.id, r.tenantID))
		if err != nil {
			return nil, fmt.Errorf("cannot open %s %s with the old or the new master key: %w", table, r.id, err)
		}
		resealed, err := ring.Seal(plain, ad(r.id, r.tenantID))
		if err != nil {
			return nil, fmt.Errorf("re-wrap %s %s: %w", table, r.id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET `+col+` = $2 WHERE id = $1`, r.id, resealed); err != nil {
			return nil, fmt.Errorf("re-wrap %s %s: %w", table, r.id, err)
		}
		*done++
		if r.tenantID != "" {
			tenants[r.tenantID] = true
		}
	}
	return tenants, nil
}
