package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"

	"whitecross"
	"whitecross/store"
)

// insertBareTenant adds a tenant row without going through the tenant
// service, for tests of lower layers.
func insertBareTenant(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, timezone, created_at) VALUES ($1, $2, 'Bare', 'UTC', $3)`,
			id, "bare-"+id[len(id)-12:], db.Now().UTC())
		return err
	})
	if err != nil {
		t.Fatalf("insert tenant: %v", err)
	}
	return id
}

func exerciseAudit(t *testing.T, open Opener) {
	t.Run("ChainsArePerTenantAndGapless", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		a, b := insertBareTenant(t, db), insertBareTenant(t, db)
		for i := range 3 {
			for _, tenant := range []string{a, b, a} {
				e := &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLogout, ActorID: "x", Detail: map[string]string{"i": string(rune('0' + i))}}
				if err := st.AppendAudit(ctx, e); err != nil {
					t.Fatalf("append: %v", err)
				}
			}
		}
		for tenant, want := range map[string]int64{a: 6, b: 3} {
			events, err := st.AuditEvents(ctx, tenant, 0, 100)
			if err != nil {
				t.Fatalf("events: %v", err)
			}
			if int64(len(events)) != want {
				t.Fatalf("tenant has %d events, want %d", len(events), want)
			}
			prev := []byte{}
			for i, e := range events {
				if e.Seq != int64(i+1) || e.TenantID != tenant || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ChainHash(prev)) {
					t.Fatalf("event %d breaks the chain: %+v", i+1, e)
				}
				prev = e.Hash
			}
			head, err := st.AuditHead(ctx, tenant)
			if err != nil || head.Seq != want || !bytes.Equal(head.Hash, prev) {
				t.Fatalf("head %+v, err %v; want seq %d", head, err, want)
			}
		}
		// Paging with afterSeq returns only newer events.
		events, err := st.AuditEvents(ctx, a, 4, 100)
		if err != nil || len(events) != 2 || events[0].Seq != 5 {
			t.Fatalf("after 4: %d events, err %v", len(events), err)
		}
	})

	t.Run("ConcurrentAppendsStayGapless", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				errs <- st.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLoginFailed})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		events, err := st.AuditEvents(ctx, tenant, 0, 1000)
		if err != nil || len(events) != n {
			t.Fatalf("%d events, err %v; want %d", len(events), err, n)
		}
		prev := []byte{}
		for i, e := range events {
			if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) {
				t.Fatalf("event %d breaks the chain under concurrency", i+1)
			}
			prev = e.Hash
		}
	})

	t.Run("EventsCarryTheStoredDetail", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		for _, d := range []map[string]string{nil, {"reason": "<a&b>", "at": "x"}} {
			if err := st.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLogout, Detail: d}); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		events, err := st.AuditEvents(ctx, tenant, 0, 10)
		if err != nil || len(events) != 2 {
			t.Fatalf("%d events, err %v", len(events), err)
		}
		if got := string(events[0].StoredDetail); got != "null" || events[0].Detail != nil {
			t.Fatalf("no detail stored as %q, read as %v", got, events[0].Detail)
		}
		if got, want := string(events[1].StoredDetail), `{"at":"x","reason":"\u003ca\u0026b\u003e"}`; got != want || events[1].Detail["reason"] != "<a&b>" {
			t.Fatalf("detail stored as %s, want %s; read as %v", got, want, events[1].Detail)
		}
		// A detail edited into something that does not decode is returned
		// as stored, for the verifier to report, instead of failing the read.
		const raw = `{"at": 1}`
		if err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE audit_events SET detail = $2 WHERE tenant_id = $1 AND seq = 2`, tenant, raw)
			return err
		}); err != nil {
			t.Fatalf("tamper: %v", err)
		}
		events, err = st.AuditEvents(ctx, tenant, 1, 10)
		if err != nil || len(events) != 1 || string(events[0].StoredDetail) != raw || events[0].Detail != nil {
			t.Fatalf("tampered detail read as %+v, err %v", events, err)
		}
	})

	t.Run("UnknownTenantHasEmptyChain", func(t *testing.T) {
		t.Parallel()
		st := store.New(open(t), nil, nil)
		head, err := st.AuditHead(context.Background(), uuid.Must(uuid.NewV7()).String())
		if err != nil || head.Seq != 0 {
			t.Fatalf("head %+v err %v", head, err)
		}
	})
}
