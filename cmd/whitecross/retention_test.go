package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// TestRetentionRun runs the purge verb: nothing to do without a retention,
// then a dry run (not audited) and a run (audited) of the one district.
func TestRetentionRun(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "lincoln-usd", "--name", "Lincoln Unified")
		r := mustCLI(t, e, "", "retention", "run")
		require.Contains(t, r.stdout, "No district has retention_days set")

		db := openEnvDB(t, e)
		require.NoError(t, db.InTx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), `UPDATE tenants SET settings = $1`, `{"retention_days":30}`)
			return err
		}))
		db.Close()
		audits := countRows(t, e, "audit_events") + countRows(t, e, "audit_pending")
		r = mustCLI(t, e, "", "retention", "run", "--tenant", "lincoln-usd", "--dry-run")
		require.Contains(t, r.stdout, "Dry run (nothing deleted): would purge lincoln-usd")
		require.Contains(t, r.stdout, "(30 days)")
		require.Contains(t, r.stdout, "messages: 0, recipients: 0")
		require.Equal(t, audits, countRows(t, e, "audit_events")+countRows(t, e, "audit_pending"), "a dry run is not audited")
		r = mustCLI(t, e, "", "retention", "run")
		require.Contains(t, r.stdout, "Purged lincoln-usd")
		require.Equal(t, audits+1, countRows(t, e, "audit_events")+countRows(t, e, "audit_pending"), "the run is")

		r = cli(t, e, "", "retention", "run", "--tenant", "nowhere")
		require.NotEqual(t, 0, r.code)
	})
}
