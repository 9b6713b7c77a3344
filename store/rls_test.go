package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestRowLevelSecurityHidesOtherTenants: on PostgreSQL, a query that forgot
// its tenant filter sees only the caller's tenant, inside a transaction and
// in a read outside one; with no tenant it sees nothing; only AllTenants
// sees every tenant; and a transaction cannot change another tenant's rows.
// The store runs as a role that is neither superuser nor owner (storetest).
func TestRowLevelSecurityHidesOtherTenants(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres)
	st := newTestStore(t, db)
	ctx := context.Background()
	var super, bypass bool
	require.NoError(t, db.Reader().QueryRow(ctx,
		`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super, &bypass))
	require.False(t, super || bypass, "the test must not run as a role that bypasses row-level security")

	a := storetest.SeedDistrictSlug(t, st, "alpha")
	b := storetest.SeedDistrictSlug(t, st, "beta")
	send := func(d *storetest.District, n int) {
		for range n {
			_, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{
				RecipientIDs: []string{d.LincolnParent.ID}, Subject: "Flu clinic", Body: "Thursday."})
			require.NoError(t, err)
		}
	}
	send(a, 2)
	send(b, 1)

	unfiltered := func(ctx context.Context) (inTx, read int) {
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&inTx)
		}))
		require.NoError(t, db.Reader().QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&read))
		return inTx, read
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		want int
	}{
		{"tenant alpha", a.As(a.LincolnNurse), 2},
		{"tenant beta", b.System(), 1},
		{"no tenant", ctx, 0},
		{"an actor without a tenant", whitecross.NewContextWithActor(ctx, &whitecross.Actor{}), 0},
		{"all tenants", store.AllTenants(ctx), 3},
	} {
		inTx, read := unfiltered(c.ctx)
		require.Equal(t, c.want, inTx, "%s, in a transaction", c.name)
		require.Equal(t, c.want, read, "%s, read outside a transaction", c.name)
	}

	// Rows are read through Query too, and the connection is not left
	// scoped for the next caller on it.
	rows, err := db.Reader().Query(a.System(), `SELECT tenant_id FROM users`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var tenant string
		require.NoError(t, rows.Scan(&tenant))
		require.Equal(t, a.Tenant.ID, tenant)
		n++
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Equal(t, len(a.Users()), n)
	inTx, read := unfiltered(ctx)
	require.Zero(t, inTx+read, "scope left on a pooled connection")

	// Writes: another tenant's rows cannot be changed or created.
	require.NoError(t, db.InTx(a.System(), func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE messages SET body_format = 'PLAIN' WHERE tenant_id = $1`, b.Tenant.ID)
		require.Zero(t, n)
		return err
	}))
	err = db.InTx(a.System(), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages SET tenant_id = $1`, b.Tenant.ID)
		return err
	})
	require.Error(t, err, "moving a row to another tenant must break the policy")
}

// TestRowLevelSecurityCoversTenantTables: every table with a tenant_id has
// row-level security forced and the tenant policy, so a table added later
// without it fails here.
func TestRowLevelSecurityCoversTenantTables(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.Postgres)
	rows, err := db.Reader().Query(context.Background(), `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_wall')
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table string
		var enabled, forced, policy bool
		require.NoError(t, rows.Scan(&table, &enabled, &forced, &policy))
		require.True(t, enabled && forced && policy, "table %s: enabled %v, forced %v, policy %v", table, enabled, forced, policy)
		n++
	}
	require.NoError(t, rows.Err())
	require.Greater(t, n, 20, "tenant tables found")
}
