package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/audit"
	"whitecross/store"
	"whitecross/vault"
)

// TestAuditCheckpointsCatchARewrittenHistory: a server writes signed
// checkpoints of the chain head to the file; someone with the database
// alone then rewrites an event and recomputes every hash after it, which
// the chain walk cannot see, but the checkpoint can. A line signed with
// another key is refused.
func TestAuditCheckpointsCatchARewrittenHistory(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		e["WHITECROSS_MASTER_KEY"] = newMasterKey(t)
		file := filepath.Join(e["WHITECROSS_DATA_DIR"], "..", "checkpoints.log")
		e["WHITECROSS_AUDIT_CHECKPOINT_FILE"] = file
		e["WHITECROSS_AUDIT_CHECKPOINT_EVERY"] = "50ms"
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "kept", "--name", "Kept District")
		mustCLI(t, e, "lunchbox violin 47 harbor\n", "user", "create", "--tenant", "kept", "--email", "a@k.example", "--name", "A", "--role", "ADMIN", "--password-stdin")

		srv := startServe(t, e)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(file)
			return strings.Contains(string(b), audit.CheckpointMarker)
		}, 15*time.Second, 10*time.Millisecond)
		require.Equal(t, 0, srv.stop())
		require.Contains(t, srv.stderr.String(), audit.CheckpointMarker, "the line is in the log too")

		r := mustCLI(t, e, "", "audit", "verify", "--tenant", "kept", "--checkpoints", file)
		require.Regexp(t, `^OK: \d+ events, [1-9]\d* checkpoints\n$`, r.stdout)

		rewriteEvent2(t, openEnvDB(t, e))
		r = mustCLI(t, e, "", "audit", "verify", "--tenant", "kept")
		require.Contains(t, r.stdout, "OK:", "the rewritten chain links")
		r = cli(t, e, "", "audit", "verify", "--tenant", "kept", "--checkpoints", file)
		require.Equal(t, exitFailure, r.code)
		require.Contains(t, r.stdout, "BROKEN: event 2 does not have the hash checkpointed")

		other := make([]byte, 32)
		_, _ = rand.Read(other)
		key, err := vault.DeriveKey(other, "audit checkpoints")
		require.NoError(t, err)
		forged := audit.NewCheckpoint(key, "00000000-0000-0000-0000-000000000000", 1, []byte{1}, time.Now())
		forgedFile := filepath.Join(e["WHITECROSS_DATA_DIR"], "..", "forged.log")
		require.NoError(t, os.WriteFile(forgedFile, []byte(forged.Line()+"\n"), 0o600))
		r = cli(t, e, "", "audit", "verify", "--tenant", "kept", "--checkpoints", forgedFile)
		require.Equal(t, exitFailure, r.code)
		require.Contains(t, r.stdout, "is not signed with this master key")
	})
}

// rewriteEvent2 edits the tenant's event 2 and re-links every event after
// it, head included, as an attacker with write access to the database can.
func rewriteEvent2(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := t.Context()
	var tenantID string
	require.NoError(t, db.Reader().QueryRow(ctx, `SELECT id FROM tenants WHERE slug = 'kept'`).Scan(&tenantID))
	st := store.New(db, nil, nil)
	events, err := st.AuditEvents(ctx, tenantID, 0, 10_000)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(events), 2)
	events[1].Action = "user.deleted"
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		prev := events[0].Hash
		for _, ev := range events[1:] {
			ev.PrevHash, ev.Hash = prev, ev.ChainHash(prev)
			prev = ev.Hash
			if _, err := tx.Exec(ctx, `UPDATE audit_events SET action = $3, prev_hash = $4, hash = $5 WHERE tenant_id = $1 AND seq = $2`,
				tenantID, ev.Seq, ev.Action, ev.PrevHash, ev.Hash); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE audit_heads SET hash = $2 WHERE tenant_id = $1`, tenantID, prev)
		return err
	}))
}
