package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"whitecross"
	"whitecross/vault"
)

var _ whitecross.DataKeyService = (*Store)(nil)

// Data key rotation. RotateDataKey gives a tenant a new data key version,
// which every instance seals with from the next write on (the current key
// is looked up per write); a background job (RekeyQueue, package delivery)
// then moves old rows to it with ReencryptDataKeys and, once none is left,
// marks the old keys retired with RetireDataKeys. Old keys are never
// deleted: a backup taken before may still need them.

// Sealed tables: every place a tenant data key seals something that lasts.
// Notices queued for sending (notices.go) are not among them: they are sent
// or dropped within minutes and open with their own key, retired or not.
const (
	tableMessages = "messages"
	tableTOTP     = "mfa_totp"
	tableOIDC     = "tenants.settings.oidc"
)

// RekeyQueue enqueues a tenant's re-encryption job inside the transaction
// that rotates its key. Implemented by package delivery.
type RekeyQueue interface {
	EnqueueRekey(ctx context.Context, tx *Tx, tenantID string) error
}

// SetRekeyQueue sets the queue of re-encryption jobs. Without one a
// rotation still seals new writes with the new key; old rows wait.
func (s *Store) SetRekeyQueue(q RekeyQueue) { s.rekeys = q }

// RotateDataKey makes a new data key version for the tenant (an operator
// action: no caller in ctx) and queues the re-encryption of its older rows
// in the same transaction. It returns the new key.
func (s *Store) RotateDataKey(ctx context.Context, tenantID string) (*whitecross.DataKey, error) {
	if s.sealer == nil {
		return nil, errNoContentSealer
	}
	ctx = inTenant(ctx, tenantID)
	err := s.db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.Exec(ctx, `UPDATE tenants SET created_at = created_at WHERE id = $1`, tenantID)
		if err != nil {
			return fmt.Errorf("lock tenant for data key: %w", err)
		}
		if n == 0 {
			return whitecross.Errorf(whitecross.ENOTFOUND, "Tenant not found.")
		}
		keyID, _, err := s.createDataKey(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT version FROM tenant_keys WHERE id = $1`, keyID).Scan(&version); err != nil {
			return fmt.Errorf("read new data key: %w", err)
		}
		if err := s.auditOperator(ctx, tx, tenantID, whitecross.AuditDataKeyRotated, map[string]string{"version": strconv.Itoa(version)}); err != nil {
			return err
		}
		if s.rekeys == nil {
			return nil
		}
		return s.rekeys.EnqueueRekey(ctx, tx, tenantID)
	})
	if err != nil {
		return nil, err
	}
	st, err := s.TenantDataKeyStatus(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &st.Current, nil
}

// DataKeyStatus implements whitecross.DataKeyService.
func (s *Store) DataKeyStatus(ctx context.Context) (*whitecross.DataKeyStatus, error) {
	a, err := requireAdmin(ctx, "see the district's data keys")
	if err != nil {
		return nil, err
	}
	return s.TenantDataKeyStatus(ctx, a.TenantID)
}

// TenantDataKeyStatus is DataKeyStatus for a tenant named by the operator.
// The counts are one grouped query per table over the (tenant, key) index.
func (s *Store) TenantDataKeyStatus(ctx context.Context, tenantID string) (*whitecross.DataKeyStatus, error) {
	ctx = inTenant(ctx, tenantID)
	keys, err := s.tenantKeys(ctx, s.db.Reader(), tenantID)
	if err != nil {
		return nil, err
	}
	st := &whitecross.DataKeyStatus{}
	versions := map[string]int{}
	for _, k := range keys {
		st.Keys = append(st.Keys, k.DataKey)
		versions[k.id] = k.Version
		if k.RetiredAt == nil {
			st.Current = k.DataKey
		}
	}
	counts, err := s.rowsByKey(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		st.Rows = append(st.Rows, whitecross.DataKeyRows{Table: c.table, Version: versions[c.keyID], Rows: c.rows})
	}
	return st, nil
}

// tenantKey is a stored data key: its row id and wrapped bytes with what
// the domain shows of it.
type tenantKey struct {
	whitecross.DataKey
	id      string
	wrapped []byte
}

// tenantKeys returns the tenant's keys, oldest version first.
func (s *Store) tenantKeys(ctx context.Context, q Querier, tenantID string) ([]tenantKey, error) {
	keys, err := queryAll(ctx, q, func(r Row) (tenantKey, error) {
		var k tenantKey
		err := r.Scan(&k.id, &k.wrapped, &k.Version, &k.CreatedAt, &k.RetiredAt)
		k.CreatedAt = k.CreatedAt.UTC()
		if k.RetiredAt != nil {
			t := k.RetiredAt.UTC()
			k.RetiredAt = &t
		}
		k.MasterKeyID = vault.SealedKeyID(k.wrapped)
		return k, err
	}, `SELECT id, wrapped_key, version, created_at, retired_at FROM tenant_keys WHERE tenant_id = $1 ORDER BY version`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list tenant data keys: %w", err)
	}
	return keys, nil
}

// keyRows is how many rows of a table one key sealed.
type keyRows struct {
	table, keyID string
	rows         int64
}

// rowsByKey counts the tenant's sealed rows per table and key.
func (s *Store) rowsByKey(ctx context.Context, tenantID string) ([]keyRows, error) {
	var out []keyRows
	for _, table := range []string{tableMessages, tableTOTP} {
		rows, err := queryAll(ctx, s.db.Reader(), func(r Row) (keyRows, error) {
			c := keyRows{table: table}
			err := r.Scan(&c.keyID, &c.rows)
			return c, err
		}, `SELECT key_id, COUNT(*) FROM `+table+` WHERE tenant_id = $1 GROUP BY key_id ORDER BY key_id`, tenantID)
		if err != nil {
			return nil, fmt.Errorf("count %s by data key: %w", table, err)
		}
		out = append(out, rows...)
	}
	t, err := s.FindTenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if o := t.Settings.OIDC; o != nil && o.SecretKeyID != "" {
		out = append(out, keyRows{table: tableOIDC, keyID: o.SecretKeyID, rows: 1})
	}
	return out, nil
}

// RetireDataKeys marks retired every older key of the tenant that no row
// uses any more, and returns how many rows older keys still seal. A write
// that looked up the old key just before the rotation may still commit
// with it, so nothing is retired until the current key is grace old: wait
// says how long that still is (re-encrypt again after it).
func (s *Store) RetireDataKeys(ctx context.Context, tenantID string, grace time.Duration) (left int64, wait time.Duration, err error) {
	ctx = inTenant(ctx, tenantID)
	st, err := s.TenantDataKeyStatus(ctx, tenantID)
	if err != nil || st.Current.Version == 0 {
		return 0, 0, err
	}
	if left = st.RowsLeft(); left > 0 {
		return left, 0, nil
	}
	if age := s.db.now().Sub(st.Current.CreatedAt); age < grace {
		return 0, grace - age, nil
	}
	oidcKey := ""
	if t, err := s.FindTenantByID(ctx, tenantID); err != nil {
		return 0, 0, err
	} else if t.Settings.OIDC != nil {
		oidcKey = t.Settings.OIDC.SecretKeyID
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		retired, err := queryAll(ctx, tx, func(r Row) (int, error) {
			var v int
			err := r.Scan(&v)
			return v, err
		}, `UPDATE tenant_keys SET retired_at = $3
		WHERE tenant_id = $1 AND retired_at IS NULL AND version < $2 AND CAST(id AS TEXT) <> $4
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = $1 AND m.key_id = tenant_keys.id)
		AND NOT EXISTS (SELECT 1 FROM mfa_totp f WHERE f.tenant_id = $1 AND f.key_id = tenant_keys.id)
		RETURNING version`, tenantID, st.Current.Version, s.db.now(), oidcKey)
		if err != nil || len(retired) == 0 {
			return err
		}
		slices.Sort(retired)
		versions := make([]string, len(retired))
		for i, v := range retired {
			versions[i] = strconv.Itoa(v)
		}
		return s.auditOperator(ctx, tx, tenantID, whitecross.AuditDataKeysRetired, map[string]string{"versions": strings.Join(versions, ",")})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("retire data keys: %w", err)
	}
	return 0, 0, nil
}

// auditOperator records an operator's (or a background job's) action on
// the tenant's chain: no actor.
func (s *Store) auditOperator(ctx context.Context, tx *Tx, tenantID, action string, detail map[string]string) error {
	return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{TenantID: tenantID, Action: action,
		TargetType: "tenant", TargetID: tenantID, Detail: detail})
}
