package store_test

import (
	"context"
	"testing"

	"whitecross/store"
	"whitecross/store/storetest"
)

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.OpenUnmigrated(t, d)
			n, err := db.Migrate(ctx)
			if err != nil || n == 0 {
				t.Fatalf("first migrate applied %d, err %v", n, err)
			}
			n, err = db.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d, err %v; want 0", n, err)
			}
			st, err := db.MigrationStatuses(ctx)
			if err != nil || len(st) == 0 {
				t.Fatalf("status: %v %v", st, err)
			}
			for _, s := range st {
				if !s.Applied {
					t.Errorf("migration %d not applied", s.Version)
				}
			}
			if err := db.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
			_ = store.SQLite
		})
	}
}
