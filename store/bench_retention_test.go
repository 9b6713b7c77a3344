package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// Sizes of BenchmarkPurge: expired messages, each to purgeRecipients
// people by email (a recipient row, a delivery and its events each).
const (
	purgeMessages   = 20000
	purgeRecipients = 5
)

// BenchmarkPurge measures PurgeExpired deleting 20,000 expired messages of
// 5 recipients each (100,000 recipient rows, 100,000 deliveries and their
// events) in batches of store.DefaultPurgeRecipients recipients. Each iteration seeds afresh, outside the timer; run it with
// -benchtime=1x. batch_ms is the mean time of one batch's transaction
// (here 200 messages of 1,000 recipients in all), how long SQLite's
// writer is held at a time.
func BenchmarkPurge(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			st := newTestStore(b, db)
			st.SetDispatchQueue(acceptQueue{})
			dist := storetest.SeedDistrict(b, st)
			staff := storetest.BulkStaff(b, db, dist.Tenant.ID, dist.Lincoln.ID, purgeRecipients)
			if _, err := st.UpdateTenantSettings(dist.As(dist.Admin), whitecross.TenantSettings{RetentionDays: 30}); err != nil {
				b.Fatal(err)
			}
			start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			var runs []*store.PurgeRun
			for b.Loop() {
				b.StopTimer()
				db.Now = func() time.Time { return start }
				seedExpired(b, st, db, dist, staff)
				analyze(b, db)
				db.Now = func() time.Time { return start.Add(40 * 24 * time.Hour) }
				b.StartTimer()
				var err error
				if runs, err = st.PurgeExpired(context.Background(), store.PurgeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			if runs[0].Messages != purgeMessages+1 {
				b.Fatalf("purged %d messages, want %d", runs[0].Messages, purgeMessages+1)
			}
			perOp := float64(b.Elapsed().Milliseconds()) / float64(b.N)
			b.ReportMetric(float64(purgeMessages)/(perOp/1000), "msgs/s")
			perBatch := min(store.DefaultPurgeBatch, store.DefaultPurgeRecipients/purgeRecipients)
			b.ReportMetric(perOp/float64((purgeMessages+perBatch-1)/perBatch), "batch_ms")
		})
	}
}

// seedExpired sends one message to staff and clones it, with its rows,
// purgeMessages times at the store's current time, set-based; the clones
// left by an earlier iteration are gone by then (purged).
func seedExpired(b *testing.B, st *store.Store, db *store.DB, dist *storetest.District, staff []string) {
	b.Helper()
	ctx := context.Background()
	tmpl, err := st.SendMessage(dist.As(dist.DistrictNurse), &whitecross.MessageCreate{Subject: "Benchmark", Body: "Old news.",
		RecipientIDs: staff, Channels: []whitecross.Channel{whitecross.ChannelEmail}})
	if err != nil {
		b.Fatal(err)
	}
	msgID := cloneID(db, "s.n")
	series := fmt.Sprintf(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) `, purgeMessages)
	statements := []string{
		series + cloneInto(b, db, "messages", map[string]string{"id": msgID, "thread_id": msgID}, `FROM s, messages t WHERE t.id = $1`),
		series + cloneInto(b, db, "message_recipients", map[string]string{"message_id": msgID}, `FROM s, message_recipients t WHERE t.message_id = $1`),
		series + cloneInto(b, db, "deliveries", map[string]string{"id": randomID(db), "message_id": msgID}, `FROM s, deliveries t WHERE t.message_id = $1`),
		cloneInto(b, db, "delivery_events", map[string]string{"id": randomID(db), "delivery_id": "d.id"},
			`FROM deliveries d JOIN deliveries o ON o.message_id = $1 AND o.recipient_id = d.recipient_id AND o.channel = d.channel JOIN delivery_events t ON t.delivery_id = o.id
			 WHERE d.message_id <> $1`),
	}
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		for _, q := range statements {
			if _, err := tx.Exec(ctx, q, tmpl.ID); err != nil {
				return fmt.Errorf("%w: %s", err, q)
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// analyze refreshes the planner's statistics after the bulk seed, as a
// database in service has them (PostgreSQL's autovacuum would, later).
func analyze(b *testing.B, db *store.DB) {
	b.Helper()
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, `ANALYZE`); return err }); err != nil {
		b.Fatal(err)
	}
}

// cloneInto is an INSERT … SELECT copying every column of table from the
// rows t of from, but those over gives an expression of.
func cloneInto(b *testing.B, db *store.DB, table string, over map[string]string, from string) string {
	b.Helper()
	q := `SELECT name FROM pragma_table_info('` + table + `')`
	if db.Dialect == store.Postgres {
		q = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '` + table + `' ORDER BY ordinal_position`
	}
	rows, err := db.Reader().Query(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var cols, exprs []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		cols = append(cols, c)
		if e, ok := over[c]; ok {
			exprs = append(exprs, e)
		} else {
			exprs = append(exprs, "t."+c)
		}
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) SELECT ` + strings.Join(exprs, ", ") + ` ` + from
}

// cloneID is a UUID made of the number n, in the dialect's type.
func cloneID(db *store.DB, n string) string {
	if db.Dialect == store.Postgres {
		return `CAST('00000000-0000-7000-8000-' || lpad(CAST(` + n + ` AS TEXT), 12, '0') AS UUID)`
	}
	return `'00000000-0000-7000-8000-' || substr('000000000000' || ` + n + `, -12, 12)`
}

// randomID is a random UUID per row.
func randomID(db *store.DB) string {
	if db.Dialect == store.Postgres {
		return `gen_random_uuid()`
	}
	return `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-8' ||
		substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`
}
