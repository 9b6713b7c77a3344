package store_test

import (
	"context"
	"testing"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkTenantReads measures what row-level security costs a read on
// PostgreSQL (docs/performance.md): a user by id (one statement outside a
// transaction), an inbox page of 50 (the list's statements), and a
// one-statement read in a transaction. Run it on a commit before
// migration 00028 and after; the code is the same on both.
func BenchmarkTenantReads(b *testing.B) {
	db := storetest.Open(b, store.Postgres)
	st := newTestStore(b, db)
	d := storetest.SeedDistrict(b, st)
	storetest.SeedDistrictSlug(b, st, "other") // a second district's rows to hide
	nurse, parent := d.As(d.LincolnNurse), d.As(d.LincolnParent)
	for range 60 {
		if _, err := st.SendMessage(nurse, &whitecross.MessageCreate{
			RecipientIDs: []string{d.LincolnParent.ID}, Subject: "Flu clinic", Body: "Thursday."}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("user", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.FindUserByID(nurse, d.LincolnParent.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inbox", func(b *testing.B) {
		for b.Loop() {
			page, err := st.ListMessages(parent, whitecross.MessageFilter{})
			if err != nil || len(page.Items) != 50 {
				b.Fatal(err)
			}
		}
	})
	// The scope's own cost: the same statement alone (no scope: it sees
	// no tenant rows) and batched with its set_config.
	for name, ctx := range map[string]context.Context{"select/alone": context.Background(), "select/scoped": nurse} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var n int
				if err := db.Reader().QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1`, d.LincolnParent.ID).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("tx", func(b *testing.B) {
		for b.Loop() {
			if err := db.InTx(nurse, func(tx *store.Tx) error {
				var n int
				return tx.QueryRow(nurse, `SELECT count(*) FROM users WHERE tenant_id = $1`, d.Tenant.ID).Scan(&n)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
