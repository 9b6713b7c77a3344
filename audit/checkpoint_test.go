package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"whitecross/audit"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestCheckpoints: the checkpointer writes a signed line per moved head
// (and nothing for a head that did not move); the lines parse back, also
// from inside a JSON log record; the chain holds them until it is
// truncated below one; a changed line or another key is refused.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st, tenantID := seedChain(t, db, 5)
		key := bytes.Repeat([]byte{7}, 32)
		var logs bytes.Buffer
		file := filepath.Join(t.TempDir(), "checkpoints")
		cp := &audit.Checkpointer{Store: st, Key: key, File: file, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
			Tenants: func(context.Context) ([]string, error) { return []string{tenantID}, nil }}
		if n, err := cp.WriteAll(ctx); err != nil || n != 1 {
			t.Fatalf("first round wrote %d, %v; want 1", n, err)
		}
		if n, err := cp.WriteAll(ctx); err != nil || n != 0 {
			t.Fatalf("unmoved head wrote %d, %v; want 0", n, err)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range []string{string(raw), logs.String()} {
			cps, err := audit.ParseCheckpoints(strings.NewReader(src), key)
			if err != nil || len(cps) != 1 || cps[0].Seq != 5 {
				t.Fatalf("parse %q: %v %v", src, cps, err)
			}
			if n, broken, err := audit.CheckCheckpoints(ctx, st, tenantID, cps); err != nil || broken != "" || n != 1 {
				t.Fatalf("intact chain: %d %q %v", n, broken, err)
			}
		}
		if _, err := audit.ParseCheckpoints(strings.NewReader(strings.Replace(string(raw), "seq=5", "seq=4", 1)), key); err == nil {
			t.Fatal("an edited line was accepted")
		}
		if _, err := audit.ParseCheckpoints(bytes.NewReader(raw), bytes.Repeat([]byte{8}, 32)); err == nil {
			t.Fatal("a line under another key was accepted")
		}

		// Truncate to event 3, head moved back: the chain verifies, the
		// checkpoint does not.
		exec(t, db, `DELETE FROM audit_events WHERE tenant_id = $1 AND seq > 3`, tenantID)
		exec(t, db, `UPDATE audit_heads SET seq = 3, hash = (SELECT hash FROM audit_events WHERE tenant_id = $1 AND seq = 3) WHERE tenant_id = $1`, tenantID)
		if rep, err := audit.Verify(ctx, st, tenantID); err != nil || !rep.OK {
			t.Fatalf("the truncated chain should link: %+v %v", rep, err)
		}
		cps, _ := audit.ParseCheckpoints(bytes.NewReader(raw), key)
		_, broken, err := audit.CheckCheckpoints(ctx, st, tenantID, cps)
		if err != nil || !strings.Contains(broken, "event 5, checkpointed at") || !strings.Contains(broken, "truncated") {
			t.Fatalf("truncation not caught: %q %v", broken, err)
		}
	})
}
