package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// Inbox benchmark data: benchMessages one-recipient messages from six staff
// senders; every benchInboxEvery-th goes to one guardian (the reader
// measured: 5,000 messages, a third of them read), the rest are spread over
// benchOtherUsers other guardians.
const (
	benchMessages   = 100000
	benchInboxEvery = 20
	benchOtherUsers = 500
)

// BenchmarkInboxPage measures one page of 50 of a guardian's inbox (and a
// few neighbours) in a store holding 100,000 messages.
//
// Seeding: SendMessage for 100,000 messages takes minutes, so the rows are
// inserted with batched raw SQL that mirrors what SendMessage and its
// inline dispatch write (messages with content sealed by the store's own
// sealContent under the tenant's data key; message_recipients with
// inbox_key and delivered_at; one IN_APP DELIVERED delivery per message).
// Delivery events and audit events are left out: no listing reads them.
func BenchmarkInboxPage(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			benchInbox(b, storetest.Open(b, d))
		})
	}
}

func benchInbox(b *testing.B, db *store.DB) {
	st := newTestStore(b, db)
	d := storetest.SeedDistrict(b, st)
	start := time.Now()
	seedInbox(b, db, st, d)
	b.Logf("seeded %d messages in %s", benchMessages, time.Since(start).Round(time.Millisecond))

	reader := d.As(d.LincolnParent)
	deep := whitecross.MessageFilter{}
	for range 50 { // 2,500 messages down
		page, err := st.ListMessages(reader, deep)
		if err != nil {
			b.Fatal(err)
		}
		deep.Cursor = page.NextCursor
	}
	cases := []struct {
		name string
		ctx  context.Context
		f    whitecross.MessageFilter
	}{
		{"inbox/first", reader, whitecross.MessageFilter{}},
		{"inbox/deep", reader, deep},
		{"inbox/unread", reader, whitecross.MessageFilter{Unread: true}},
		{"inbox/category", reader, whitecross.MessageFilter{Category: whitecross.CategoryMedication}},
		{"sent/first", d.As(d.LincolnNurse), whitecross.MessageFilter{Box: whitecross.BoxSent}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := st.ListMessages(c.ctx, c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != 50 {
					b.Fatalf("page has %d items, want 50", len(page.Items))
				}
			}
		})
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.CountMessages(reader); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedInbox inserts benchMessages messages as described on BenchmarkInboxPage.
func seedInbox(b *testing.B, db *store.DB, st *store.Store, d *storetest.District) {
	ctx := context.Background()
	tenant := d.Tenant.ID
	// One real message creates the tenant's data key.
	if _, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{
		Subject: "first", Body: "first", RecipientIDs: []string{d.LincolnParent.ID}}); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	others := make([]string, benchOtherUsers)
	execBatches(b, db, len(others), func(i int) []any {
		others[i] = uuid.Must(uuid.NewV7()).String()
		return []any{others[i], tenant, fmt.Sprintf("bench%d@bench.example", i), fmt.Sprintf("Bench Guardian %d", i), "GUARDIAN", base, base}
	}, `INSERT INTO users (id, tenant_id, email, name, role, created_at, updated_at) VALUES `)

	senders := []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.DistrictNurse, d.AnnexStaff, d.WashingtonNurse, d.Admin}
	categories := whitecross.Categories
	type msg struct {
		id, sender, recipient, category string
		at                              time.Time
		subject, body, att              []byte
		keyID                           string
		read                            bool
	}
	msgs := make([]msg, benchMessages)
	for i := range msgs {
		m := &msgs[i]
		m.id = uuid.Must(uuid.NewV7()).String()
		m.sender = senders[i%len(senders)].ID
		m.category = string(categories[(i/3)%len(categories)])
		m.at = base.Add(time.Duration(i) * time.Second)
		if i%benchInboxEvery == 0 {
			m.recipient = d.LincolnParent.ID
			m.read = i%(3*benchInboxEvery) == 0
		} else {
			m.recipient = others[i%len(others)]
		}
	}
	// Seal in parallel through the read pool, as many messages a second as
	// the machine allows.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(msgs); i += 8 {
				m := &msgs[i]
				var err error
				m.subject, m.body, m.att, m.keyID, err = st.SealContentForBench(ctx, tenant, m.id,
					"Bench subject "+m.id[:8], strings.Repeat("Bench body. ", 20))
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	execBatches(b, db, len(msgs), func(i int) []any {
		m := msgs[i]
		return []any{m.id, tenant, m.id, m.sender, m.subject, m.body, m.att, m.keyID, "PLAIN", m.category, "MEDIUM", "IN_APP",
			false, "SENT", 1, m.at, m.at, m.at}
	}, `INSERT INTO messages (id, tenant_id, thread_id, sender_id, subject_sealed, body_sealed, attachments_sealed, key_id,
		body_format, category, priority, channels, sensitive, status, recipient_count, sent_at, created_at, updated_at) VALUES `)
	execBatches(b, db, len(msgs), func(i int) []any {
		m := msgs[i]
		var read *time.Time
		if m.read {
			read = &m.at
		}
		return []any{tenant, m.id, m.recipient, uuid.Must(uuid.NewV7()).String(), m.at, read}
	}, `INSERT INTO message_recipients (tenant_id, message_id, user_id, inbox_key, delivered_at, read_at) VALUES `)
	execBatches(b, db, len(msgs), func(i int) []any {
		m := msgs[i]
		return []any{uuid.Must(uuid.NewV7()).String(), tenant, m.id, m.recipient, "IN_APP", "DELIVERED", m.at, m.at, m.at}
	}, `INSERT INTO deliveries (id, tenant_id, message_id, recipient_id, channel, status, queued_at, delivered_at, updated_at) VALUES `)
	// Fresh statistics and (PostgreSQL) visibility map, as autovacuum would
	// have on a live database; VACUUM cannot run inside a transaction.
	if pool := db.PgxPool(); pool != nil {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	} else if err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `ANALYZE`)
		return err
	}); err != nil {
		b.Fatal(err)
	}
}

// execBatches inserts n rows, each row's values from row(i), with insert
// the statement up to VALUES. Statements carry about 400 parameters on
// SQLite, whose driver binds parameters in time quadratic in their number,
// and 5,000 on PostgreSQL.
func execBatches(b *testing.B, db *store.DB, n int, row func(i int) []any, insert string) {
	ctx := context.Background()
	params := 5000
	if db.Dialect == store.SQLite {
		params = 400
	}
	cols := strings.Count(insert[:strings.Index(insert, ")")], ",") + 1
	batch := max(1, params/cols)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		var sb strings.Builder
		sb.WriteString(insert)
		var args []any
		for i := lo; i < hi; i++ {
			vals := row(i)
			if i > lo {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j, v := range vals {
				args = append(args, v)
				if j > 0 {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "$%d", len(args))
			}
			sb.WriteByte(')')
		}
		if err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, sb.String(), args...)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
