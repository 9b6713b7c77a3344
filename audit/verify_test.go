package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"whitecross"
	"whitecross/audit"
	"whitecross/store"
	"whitecross/store/storetest"
)

// seedChain creates a tenant with n audit events and returns its id.
func seedChain(t *testing.T, db *store.DB, n int) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st := store.New(db, nil, nil)
	tenantID := uuid.Must(uuid.NewV7()).String()
	err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, timezone, created_at) VALUES ($1, $2, 'T', 'UTC', $3)`,
			tenantID, "t-"+tenantID[len(tenantID)-8:], db.Now().UTC())
		return err
	})
	if err != nil {
		t.Fatalf("insert tenant: %v", err)
	}
	for i := range n {
		// Event 1 has no detail (stored as null); the others have two keys,
		// so that key order matters.
		var detail map[string]string
		if i > 0 {
			detail = map[string]string{"by": "seed", "n": string(rune('a' + i))}
		}
		e := &whitecross.AuditEvent{TenantID: tenantID, ActorID: "u1", Action: whitecross.AuditLoginSucceeded,
			TargetType: "user", TargetID: "u1", ClientIP: "127.0.0.1", Detail: detail}
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	return st, tenantID
}

func exec(t *testing.T, db *store.DB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { _, err := tx.Exec(ctx, sql, args...); return err }); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// notCanonical is the report of an event whose stored detail is not the
// canonical encoding that its hash covers.
const notCanonical = "event 3 detail is not in canonical form: it was edited"

// detail returns a tamper that stores raw as the detail of event 3.
func detail(raw string) func(t *testing.T, db *store.DB, tenantID string) {
	return func(t *testing.T, db *store.DB, id string) {
		exec(t, db, `UPDATE audit_events SET detail = $2 WHERE tenant_id = $1 AND seq = 3`, id, raw)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(t *testing.T, db *store.DB, tenantID string)
		want   string // substring of the report; "" means OK
	}{
		{"intact", func(*testing.T, *store.DB, string) {}, ""},
		{"edited", func(t *testing.T, db *store.DB, id string) {
			exec(t, db, `UPDATE audit_events SET outcome = 'FAILURE' WHERE tenant_id = $1 AND seq = 3`, id)
		}, "event 3 does not match its hash"},
		{"deleted", func(t *testing.T, db *store.DB, id string) {
			exec(t, db, `DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 3`, id)
		}, "event 4 follows event 2"},
		{"deleted newest", func(t *testing.T, db *store.DB, id string) {
			exec(t, db, `DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 5`, id)
		}, "chain head says 5 events but the log ends at event 4"},
		// Event 3 was logged with {"by":"seed","n":"c"}. Each detail below
		// decodes in Go to a map whose hash is that of the logged event, or
		// shows a reader of the raw row a value that was never logged.
		{"duplicate key, logged value last", detail(`{"by":"seed","n":"forged","n":"c"}`), notCanonical},
		{"duplicate key, logged value first", detail(`{"by":"seed","n":"c","n":"forged"}`), notCanonical},
		{"spacing", detail(`{"by": "seed", "n": "c"}`), notCanonical},
		{"key order", detail(`{"n":"c","by":"seed"}`), notCanonical},
		{"escaping", detail(`{"by":"seed","n":"\u0063"}`), notCanonical},
		{"not a string map", detail(`{"by":"seed","n":3}`), notCanonical},
		{"not JSON", detail(`{"by":"seed","n":"c"`), notCanonical},
		{"reordered", func(t *testing.T, db *store.DB, id string) {
			exec(t, db, `UPDATE audit_events SET seq = -1 WHERE tenant_id = $1 AND seq = 2`, id)
			exec(t, db, `UPDATE audit_events SET seq = 2 WHERE tenant_id = $1 AND seq = 3`, id)
			exec(t, db, `UPDATE audit_events SET seq = 3 WHERE tenant_id = $1 AND seq = -1`, id)
		}, "event 2 does not link to event 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
				st, tenantID := seedChain(t, db, 5)
				c.tamper(t, db, tenantID)
				rep, err := audit.Verify(context.Background(), st, tenantID)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if c.want == "" {
					if !rep.OK || rep.Events != 5 || rep.Broken != "" {
						t.Fatalf("intact chain reported %+v", rep)
					}
					return
				}
				if rep.OK || !strings.Contains(rep.Broken, c.want) {
					t.Fatalf("report %+v; want broken containing %q", rep, c.want)
				}
			})
		})
	}
}

func TestVerifyEmptyChainIsOK(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, tenantID := seedChain(t, db, 0)
		rep, err := audit.Verify(context.Background(), st, tenantID)
		if err != nil || !rep.OK || rep.Events != 0 {
			t.Fatalf("empty chain: %+v %v", rep, err)
		}
	})
}
