package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// sendDumpTable returns every byte of every column of every row of table,
// read through the dialect's native handle (raw bytes and decoded values),
// to search for plaintext.
func sendDumpTable(t *testing.T, db *store.DB, table string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	write := func(v any) {
		switch x := v.(type) {
		case []byte:
			b.Write(x)
		case string:
			b.WriteString(x)
		default:
			fmt.Fprint(&b, x)
		}
		b.WriteByte('|')
	}
	if db.Dialect == store.SQLite {
		rows, err := db.SQLWriter().QueryContext(ctx, `SELECT * FROM `+table)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				write(v)
			}
		}
		require.NoError(t, rows.Err())
		return b.String()
	}
	// Every tenant's rows: behind row-level security a bare pool query
	// would see none, and the check would pass for nothing.
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		rows, err := tx.PgxTx().Query(ctx, `SELECT * FROM `+table)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			for _, raw := range rows.RawValues() {
				write(raw)
			}
			vals, err := rows.Values()
			require.NoError(t, err)
			for _, v := range vals {
				write(v)
			}
		}
		return rows.Err()
	}))
	return b.String()
}

func testSendEncrypted(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ctx := context.Background()
	const subject, body, attName, attURL = "SUBJ-marker-q7", "BODY-marker-z9 about Lily's asthma", "ATTNAME-marker-k2", "https://files.example.org/ATTURL-marker-p5"
	m1 := b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: subject, Body: body, RecipientIDs: to(d.LincolnParent),
		Channels: []whitecross.Channel{whitecross.ChannelEmail}, Attachments: []whitecross.Attachment{{URL: attURL, Name: attName}}})
	m2 := b.send(t, d.LincolnNurse, msg("Second", d.LincolnParent))
	m3 := b.send(t, d.LincolnNurse, msg("Third", d.LincolnParent))

	for _, table := range append(sendTables, "tenant_keys") {
		dump := sendDumpTable(t, b.db, table)
		for _, marker := range []string{"SUBJ-marker", "BODY-marker", "asthma", "ATTNAME-marker", "ATTURL-marker"} {
			require.NotContains(t, dump, marker, "plaintext %q in table %s", marker, table)
		}
	}
	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), m1.ID)
	require.NoError(t, err)
	require.Equal(t, subject, got.Subject)
	require.Equal(t, body, got.Body)
	require.Equal(t, []whitecross.Attachment{{URL: attURL, Name: attName}}, got.Attachments)

	// A sealed value opens only on its own row and field: the same tenant
	// key sealed all three messages, yet a body moved to another message or
	// into the subject does not open.
	var keys int
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT COUNT(DISTINCT key_id) FROM messages`).Scan(&keys))
	require.Equal(t, 1, keys)
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE messages SET body_sealed = (SELECT body_sealed FROM messages WHERE id = $1) WHERE id = $2`, m1.ID, m2.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE messages SET subject_sealed = body_sealed WHERE id = $1`, m3.ID)
		return err
	}))
	for _, id := range []string{m2.ID, m3.ID} {
		got, err := b.st.FindMessageByID(d.As(d.LincolnNurse), id)
		require.Error(t, err)
		require.Nil(t, got)
		require.Equal(t, whitecross.EINTERNAL, whitecross.ErrorCode(err))
		require.NotContains(t, err.Error(), "BODY-marker")
	}
	_, err = b.st.FindMessageByID(d.As(d.LincolnNurse), m1.ID)
	require.NoError(t, err, "the original still opens")

	// Another master key opens nothing and seals nothing.
	stranger := store.New(b.db, testHasher{}, newTestVault(t))
	_, err = stranger.FindMessageByID(d.As(d.LincolnParent), m1.ID)
	require.Error(t, err)
	require.Equal(t, whitecross.EINTERNAL, whitecross.ErrorCode(err))
	before := sendCounts(t, b.db)
	_, err = stranger.SendMessage(d.As(d.LincolnNurse), msg("x", d.LincolnParent))
	require.Error(t, err)
	noKey := store.New(b.db, testHasher{}, nil)
	_, err = noKey.SendMessage(d.As(d.LincolnNurse), msg("x", d.LincolnParent))
	require.ErrorContains(t, err, "no sealer")
	require.Equal(t, before, sendCounts(t, b.db))
}

func testSendTenantKeys(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ctx := context.Background()
	other := SeedDistrictSlug(t, b.st, "shelbyville")

	// Concurrent first sends of a tenant create one key.
	senders := []*whitecross.User{d.LincolnNurse, d.LincolnStaff, d.LincolnParent, d.DistrictNurse, d.AnnexStaff, d.Admin}
	var wg sync.WaitGroup
	ids := make([]string, len(senders))
	errs := make([]error, len(senders))
	for i, u := range senders {
		wg.Go(func() {
			m, err := b.st.SendMessage(d.As(u), msg(fmt.Sprintf("First %d", i), d.LincolnAdmin))
			errs[i] = err
			if err == nil {
				ids[i] = m.ID
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "sender %d", i)
	}
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1`, d.Tenant.ID))
	for i, id := range ids {
		got, err := b.st.FindMessageByID(d.As(d.LincolnAdmin), id)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("First %d", i), got.Subject)
	}

	// Each tenant has its own key.
	om, err := b.st.SendMessage(other.As(other.LincolnNurse), msg("Other", other.LincolnParent))
	require.NoError(t, err)
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1`, other.Tenant.ID))
	var k1, k2 string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT key_id FROM messages WHERE id = $1`, ids[0]).Scan(&k1))
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT key_id FROM messages WHERE id = $1`, om.ID).Scan(&k2))
	require.NotEqual(t, k1, k2)

	// Once the key is retired the next message gets a new one; old
	// messages still open with the retired key (also in a fresh Store,
	// which has no cached keys).
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenant_keys SET retired_at = $1 WHERE tenant_id = $2`, b.clock.Now(), d.Tenant.ID)
		return err
	}))
	m := b.send(t, d.LincolnNurse, msg("After rotation", d.LincolnParent))
	var k3 string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT key_id FROM messages WHERE id = $1`, m.ID).Scan(&k3))
	require.NotEqual(t, k1, k3)
	require.Equal(t, 2, sendCount(t, b.db, `SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1`, d.Tenant.ID))
	fresh := store.New(b.db, testHasher{}, b.sealer)
	_, err = fresh.FindMessageByID(d.As(d.LincolnAdmin), ids[0])
	require.NoError(t, err)
	_, err = fresh.FindMessageByID(d.As(d.LincolnParent), m.ID)
	require.NoError(t, err)
	// A key is found only within its tenant.
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages SET key_id = $1 WHERE id = $2`, k1, om.ID)
		return err
	}))
	_, err = store.New(b.db, testHasher{}, b.sealer).FindMessageByID(other.As(other.LincolnParent), om.ID)
	require.Error(t, err)
}
