package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"whitecross"
	"whitecross/vault"
)

// sealedTable describes a table whose rows a tenant data key seals: the
// column naming a row (a UUID), its sealed columns and each one's
// associated data.
type sealedTable struct {
	name   string
	idCol  string
	fields []string // sealed columns
	ad     func(tenantID, rowID, field string) []byte
}

var sealedTables = []sealedTable{
	{name: tableMessages, idCol: "id", fields: []string{"subject_sealed", "body_sealed", "attachments_sealed"},
		ad: func(tenantID, id, field string) []byte {
			return contentAD(tenantID, id, strings.TrimSuffix(field, "_sealed"))
		}},
	{name: tableTOTP, idCol: "user_id", fields: []string{"secret"},
		ad: func(tenantID, userID, _ string) []byte { return totpAD(tenantID, userID) }},
}

// rekey is one re-encryption transaction of a tenant: the current key and
// the ids of the older ones.
type rekey struct {
	s        *Store
	tx       *Tx
	tenantID string
	curID    string
	cur      *vault.Vault
	old      []string
}

// ReencryptDataKeys moves up to limit rows of the tenant sealed by an older
// data key to the current one, in one short transaction, and returns how
// many it moved: 0 when none is left. Rows are found by the (tenant, key)
// indexes, so each call reads only what it rewrites; a crash loses nothing
// (the rows not yet committed still name their old key, which keeps
// opening them), and the next call simply goes on. On PostgreSQL the batch
// is locked (FOR UPDATE) so a concurrent change of a row is not undone;
// SQLite's one writer already excludes it.
func (s *Store) ReencryptDataKeys(ctx context.Context, tenantID string, limit int) (int, error) {
	if s.sealer == nil {
		return 0, errNoContentSealer
	}
	ctx = inTenant(ctx, tenantID)
	var n int
	err := s.db.InTx(ctx, func(tx *Tx) error {
		r, err := s.newRekey(ctx, tx, tenantID)
		if err != nil || r == nil {
			return err
		}
		for _, t := range sealedTables {
			if n, err = r.table(ctx, t, limit); err != nil || n > 0 {
				return err
			}
		}
		n, err = r.oidc(ctx)
		return err
	})
	return n, err
}

// newRekey unwraps the tenant's keys; nil when it has no older key.
func (s *Store) newRekey(ctx context.Context, tx *Tx, tenantID string) (*rekey, error) {
	keys, err := s.tenantKeys(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	r := &rekey{s: s, tx: tx, tenantID: tenantID}
	for _, k := range keys {
		if _, err := s.unwrapKey(tenantID, k.id, k.wrapped); err != nil {
			return nil, err
		}
		if k.RetiredAt == nil {
			r.curID = k.id
		}
	}
	for _, k := range keys {
		if k.id != r.curID {
			r.old = append(r.old, k.id)
		}
	}
	if r.curID == "" || len(r.old) == 0 {
		return nil, nil
	}
	r.cur = s.cachedKey(tenantID, r.curID)
	return r, nil
}

// table re-encrypts up to limit rows of t: one set-based read, then one
// multi-row UPDATE per rowsPerInsert rows.
func (r *rekey) table(ctx context.Context, t sealedTable, limit int) (int, error) {
	oldArg, err := r.s.db.idsArg(r.old)
	if err != nil {
		return 0, err
	}
	q := `SELECT ` + t.idCol + `, key_id, ` + strings.Join(t.fields, ", ") + ` FROM ` + t.name +
		` WHERE tenant_id = $1 AND ` + r.s.db.inIDs("key_id", "$2") + ` LIMIT ` + strconv.Itoa(limit)
	if r.s.db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	rows, err := queryAll(ctx, r.tx, func(row Row) ([]any, error) {
		var id, keyID string
		sealed := make([][]byte, len(t.fields))
		dest := []any{&id, &keyID}
		for i := range sealed {
			dest = append(dest, &sealed[i])
		}
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		return r.reseal(t, id, keyID, sealed)
	}, q, r.tenantID, oldArg)
	if err != nil {
		return 0, fmt.Errorf("re-encrypt %s: %w", t.name, err)
	}
	for start := 0; start < len(rows); start += r.tx.rowsPerInsert() {
		if err := r.write(ctx, t, rows[start:min(len(rows), start+r.tx.rowsPerInsert())]); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// reseal opens one row's sealed columns with its key and seals them with
// the current one; it returns the row's UPDATE values (id, then columns).
func (r *rekey) reseal(t sealedTable, id, keyID string, sealed [][]byte) ([]any, error) {
	old := r.s.cachedKey(r.tenantID, keyID)
	if old == nil {
		return nil, fmt.Errorf("%s %s: data key %s is not the tenant's", t.name, id, keyID)
	}
	vals := []any{id}
	for i, f := range t.fields {
		ad := t.ad(r.tenantID, id, f)
		plain, err := old.Open(sealed[i], ad)
		if err != nil {
			return nil, fmt.Errorf("open %s %s %s: %w", t.name, id, f, err)
		}
		resealed, err := r.cur.Seal(plain, ad)
		if err != nil {
			return nil, fmt.Errorf("seal %s %s %s: %w", t.name, id, f, err)
		}
		vals = append(vals, resealed)
	}
	return vals, nil
}

// write stores re-sealed rows with one UPDATE … FROM (VALUES …).
func (r *rekey) write(ctx context.Context, t sealedTable, rows [][]any) error {
	cast := func(p, typ string) string {
		if r.s.db.Dialect == Postgres {
			return `CAST(` + p + ` AS ` + typ + `)`
		}
		return p
	}
	args := []any{r.tenantID, r.curID}
	values := make([]string, len(rows))
	for i, row := range rows {
		cells := make([]string, len(row))
		for j := range row {
			typ := "BYTEA"
			if j == 0 {
				typ = "UUID"
			}
			cells[j] = cast("$"+strconv.Itoa(len(args)+1+j), typ)
		}
		args = append(args, row...)
		values[i] = "(" + strings.Join(cells, ", ") + ")"
	}
	set := []string{"key_id = $2"}
	for i, f := range t.fields {
		set = append(set, fmt.Sprintf("%s = v.c%d", f, i))
	}
	cols := []string{"id"}
	for i := range t.fields {
		cols = append(cols, "c"+strconv.Itoa(i))
	}
	q := `WITH v(` + strings.Join(cols, ", ") + `) AS (VALUES ` + strings.Join(values, ", ") + `)
		UPDATE ` + t.name + ` SET ` + strings.Join(set, ", ") + ` FROM v
		WHERE ` + t.name + `.tenant_id = $1 AND ` + t.name + `.` + t.idCol + ` = v.id`
	if _, err := r.tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("re-encrypt %s: %w", t.name, err)
	}
	return nil
}

// oidc re-seals the district's SSO client secret, kept in the tenant's
// settings; the UPDATE applies only if the settings are still the ones
// read, so an administrator's concurrent save is never undone.
func (r *rekey) oidc(ctx context.Context) (int, error) {
	var raw string
	if err := r.tx.QueryRow(ctx, `SELECT settings FROM tenants WHERE id = $1`, r.tenantID).Scan(&raw); err != nil {
		return 0, fmt.Errorf("re-encrypt oidc secret: %w", err)
	}
	var t whitecross.TenantSettings
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return 0, fmt.Errorf("decode tenant settings: %w", err)
	}
	o := t.OIDC
	if o == nil || o.SecretKeyID == "" || o.SecretKeyID == r.curID {
		return 0, nil
	}
	old := r.s.cachedKey(r.tenantID, o.SecretKeyID)
	if old == nil {
		return 0, fmt.Errorf("re-encrypt oidc secret: data key %s is not the tenant's", o.SecretKeyID)
	}
	plain, err := old.Open(o.SealedSecret, oidcSecretAD(r.tenantID))
	if err != nil {
		return 0, fmt.Errorf("open oidc client secret: %w", err)
	}
	if o.SealedSecret, err = r.cur.Seal(plain, oidcSecretAD(r.tenantID)); err != nil {
		return 0, fmt.Errorf("seal oidc client secret: %w", err)
	}
	o.SecretKeyID = r.curID
	encoded, err := json.Marshal(t)
	if err != nil {
		return 0, fmt.Errorf("encode tenant settings: %w", err)
	}
	n, err := r.tx.Exec(ctx, `UPDATE tenants SET settings = $2 WHERE id = $1 AND settings = $3`, r.tenantID, string(encoded), raw)
	if err != nil {
		return 0, fmt.Errorf("re-encrypt oidc secret: %w", err)
	}
	return int(n), nil
}
