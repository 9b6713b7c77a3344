package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// retentionBundle is a district with messages sent 40 days ago and today,
// and another district with its own old message.
type retentionBundle struct {
	*sendBundle
	other *District
	// Old messages: expired, purged unless held.
	old, oldReply *whitecross.Message
	// heldSent is sent by the person under a hold, heldRecv received by
	// one (among others); both are old.
	heldSent, heldRecv *whitecross.Message
	// aboutHeld is about the student under a hold, aboutOther about
	// another student; both old, from the district admin.
	aboutHeld, aboutOther *whitecross.Message
	// Today's: a message and a reply to the old one.
	fresh, freshReply *whitecross.Message
	otherOld          *whitecross.Message
}

// keyedTables are every table that holds rows keyed to a message, with the
// condition finding the rows of the messages bound at $1 (a JSON array on
// SQLite, uuid[] on PostgreSQL) — written here independently of the store.
func keyedTables(db *store.DB) map[string]string {
	in := func(col string) string {
		if db.Dialect == store.SQLite {
			return col + ` IN (SELECT value FROM json_each($1))`
		}
		return col + ` = ANY(CAST($1 AS UUID[]))`
	}
	return map[string]string{
		"messages":           in("id"),
		"message_recipients": in("message_id"),
		"deliveries":         in("message_id"),
		"delivery_events":    `delivery_id IN (SELECT id FROM deliveries WHERE ` + in("message_id") + `)`,
		"idempotency_keys":   in("message_id"),
		"user_events":        in("message_id"),
		"message_students":   in("message_id"),
	}
}

func setupRetention(t *testing.T, open Opener) *retentionBundle {
	t.Helper()
	b := &retentionBundle{sendBundle: setupSend(t, open, true)}
	d := b.d
	b.other = SeedDistrictSlug(t, b.st, "shelbyville")
	email := func(in *whitecross.MessageCreate, key string) *whitecross.MessageCreate {
		in.Channels, in.IdempotencyKey, in.RequestHash = []whitecross.Channel{whitecross.ChannelEmail}, key, []byte(key)
		return in
	}
	b.old = b.send(t, d.LincolnNurse, email(msg("Field trip forms", d.LincolnParent), "k-old"))
	reply, err := b.st.Reply(d.As(d.LincolnParent), b.old.ID, &whitecross.ReplyCreate{Body: "Signed.", IdempotencyKey: "r1", RequestHash: []byte("r1")})
	require.NoError(t, err)
	b.oldReply = reply
	require.NoError(t, b.st.SetRead(d.As(d.LincolnNurse), reply.ID, true))
	b.heldSent = b.send(t, d.DistrictNurse, email(msg("Flu clinic", d.LincolnParent), "k-sent"))
	b.heldRecv = b.send(t, d.LincolnNurse, email(msg("Lice check", d.LincolnParent, d.AnnexParent), "k-recv"))
	about := func(subject string, st *whitecross.Student) *whitecross.MessageCreate {
		in := email(msg(subject, d.LincolnParent), "k-"+subject)
		in.StudentIDs = []string{st.ID}
		return in
	}
	b.aboutHeld = b.send(t, d.Admin, about("Incident report", d.LincolnStudent))
	b.aboutOther = b.send(t, d.Admin, about("Bus schedule", d.AnnexStudent))
	otherOld, err := b.st.SendMessage(b.other.As(b.other.LincolnNurse), email(msg("Theirs", b.other.LincolnParent), "k-other"))
	require.NoError(t, err)
	b.otherOld = otherOld
	b.clock.Advance(40 * 24 * time.Hour)
	b.fresh = b.send(t, d.LincolnNurse, email(msg("Picture day", d.LincolnParent), "k-new"))
	b.freshReply, err = b.st.Reply(d.As(d.LincolnParent), b.old.ID, &whitecross.ReplyCreate{Body: "One more thing."})
	require.NoError(t, err)
	b.setRetention(t, d, 30)
	return b
}

// setRetention sets d's retention_days as its admin.
func (b *retentionBundle) setRetention(t *testing.T, d *District, days int) {
	t.Helper()
	tn, err := b.st.CurrentTenant(d.As(d.Admin))
	require.NoError(t, err)
	tn.Settings.RetentionDays = days
	_, err = b.st.UpdateTenantSettings(d.As(d.Admin), tn.Settings)
	require.NoError(t, err)
}

// rowsOf counts, per keyed table, the rows of the messages ids.
func rowsOf(t *testing.T, db *store.DB, ids ...string) map[string]int {
	t.Helper()
	arg := idsParam(t, db, ids)
	out := map[string]int{}
	for table, where := range keyedTables(db) {
		out[table] = sendCount(t, db, `SELECT COUNT(*) FROM `+table+` WHERE `+where, arg)
	}
	return out
}

// idsParam binds ids as keyedTables reads them.
func idsParam(t *testing.T, db *store.DB, ids []string) any {
	t.Helper()
	if db.Dialect == store.SQLite {
		b, err := json.Marshal(ids)
		require.NoError(t, err)
		return string(b)
	}
	return ids
}

// requireNoOrphans checks that no row anywhere names a message (or a
// delivery) that no longer exists.
func requireNoOrphans(t *testing.T, db *store.DB) {
	t.Helper()
	for _, q := range []string{
		`SELECT COUNT(*) FROM message_recipients WHERE message_id NOT IN (SELECT id FROM messages)`,
		`SELECT COUNT(*) FROM deliveries WHERE message_id NOT IN (SELECT id FROM messages)`,
		`SELECT COUNT(*) FROM delivery_events WHERE delivery_id NOT IN (SELECT id FROM deliveries)`,
		`SELECT COUNT(*) FROM idempotency_keys WHERE message_id NOT IN (SELECT id FROM messages)`,
		`SELECT COUNT(*) FROM user_events WHERE message_id NOT IN (SELECT id FROM messages)`,
		`SELECT COUNT(*) FROM message_students WHERE message_id NOT IN (SELECT id FROM messages)`,
		`SELECT COUNT(*) FROM messages WHERE reply_to_id IS NOT NULL AND reply_to_id NOT IN (SELECT id FROM messages)`,
	} {
		require.Zero(t, sendCount(t, db, q), q)
	}
}

// tenantMessageIDs lists the ids of the tenant's messages.
func tenantMessageIDs(t *testing.T, db *store.DB, tenantID string) []string {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT id FROM messages WHERE tenant_id = $1`, tenantID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(t, rows.Err())
	return out
}

// testRetentionPurge purges a district 30 days back in batches of two: the
// old messages go with every row keyed to them, held ones (sent by or
// received by a held person, about a held student) and today's stay, a released hold protects
// nothing, the other district is untouched, a dry run first counts the
// same and changes nothing, and the run is one audit event with counts.
func testRetentionPurge(t *testing.T, open Opener) {
	b := setupRetention(t, open)
	d, ctx := b.d, context.Background()
	admin := d.As(d.Admin)
	_, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: d.DistrictNurse.ID, Reason: "Sent"})
	require.NoError(t, err)
	_, err = b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: d.AnnexParent.ID, Reason: "Received"})
	require.NoError(t, err)
	_, err = b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{StudentID: d.LincolnStudent.ID, Reason: "About"})
	require.NoError(t, err)
	released, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: d.LincolnNurse.ID, Reason: "Over"})
	require.NoError(t, err)
	_, err = b.st.ReleaseLegalHold(admin, released.ID)
	require.NoError(t, err)

	purged := []string{b.old.ID, b.oldReply.ID, b.aboutOther.ID}
	want := rowsOf(t, b.db, purged...)
	require.Equal(t, 3, want["messages"])
	for _, table := range []string{"message_recipients", "deliveries", "delivery_events", "idempotency_keys", "user_events", "message_students"} {
		require.NotZero(t, want[table], "the old messages have rows in %s", table)
	}
	kept := []string{b.heldSent.ID, b.heldRecv.ID, b.aboutHeld.ID, b.fresh.ID, b.freshReply.ID, b.otherOld.ID}
	keptBefore := rowsOf(t, b.db, kept...)
	require.Equal(t, 1, keptBefore["message_students"])
	auditsBefore := len(auditEvents(t, b.st, d.Tenant.ID))

	dry, err := b.st.PurgeExpired(ctx, store.PurgeOptions{DryRun: true, Batch: 2})
	require.NoError(t, err)
	require.Len(t, dry, 1, "only the district with a retention runs")
	require.Equal(t, want, rowsOf(t, b.db, purged...), "a dry run deletes nothing")
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), auditsBefore, "nor audits")

	runs, err := b.st.PurgeExpired(ctx, store.PurgeOptions{Batch: 2})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	run := runs[0]
	require.Equal(t, d.Tenant.ID, run.TenantID)
	require.Equal(t, b.clock.Now().UTC().Add(-30*24*time.Hour), run.Before)
	counts := map[string]int{"messages": int(run.Messages), "message_recipients": int(run.Recipients), "deliveries": int(run.Deliveries),
		"delivery_events": int(run.DeliveryEvents), "idempotency_keys": int(run.IdempotencyKeys), "user_events": int(run.Events),
		"message_students": int(run.Students)}
	require.Equal(t, want, counts, "the counts are the rows of the old messages")
	require.Equal(t, dry[0].PurgeCounts, run.PurgeCounts, "the dry run counted the same")
	require.Equal(t, int64(3), run.Held, "sent by, received by and about the held")
	require.Equal(t, int64(3), dry[0].Held)
	for table, n := range rowsOf(t, b.db, purged...) {
		require.Zero(t, n, table)
	}
	require.Equal(t, keptBefore, rowsOf(t, b.db, kept...), "held, fresh and the other district's messages keep every row")
	require.ElementsMatch(t, []string{b.heldSent.ID, b.heldRecv.ID, b.aboutHeld.ID, b.fresh.ID, b.freshReply.ID}, tenantMessageIDs(t, b.db, d.Tenant.ID))
	requireNoOrphans(t, b.db)

	ev := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditRetentionPurged, ev.Action)
	require.Equal(t, d.Tenant.ID, ev.TargetID)
	require.Empty(t, ev.ActorID, "the system purges")
	require.Equal(t, "3", ev.Detail["messages"])
	require.Equal(t, "3", ev.Detail["held"])
	require.Equal(t, "1", ev.Detail["students"])
	require.Equal(t, "30", ev.Detail["retention_days"])
	require.Equal(t, itoa(want["delivery_events"]), ev.Detail["delivery_events"])
	require.Equal(t, itoa(want["message_recipients"]), ev.Detail["recipients"])
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), auditsBefore+1, "one event for the run, not one per batch")
	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), b.freshReply.ID)
	require.NoError(t, err, "a kept reply to a purged message still reads")
	require.Equal(t, b.freshReply.ID, got.ID)

	// Releasing the holds lets the next run take what they kept.
	for _, h := range mustHolds(t, b.st, admin) {
		if h.ReleasedAt == nil {
			_, err := b.st.ReleaseLegalHold(admin, h.ID)
			require.NoError(t, err)
		}
	}
	runs, err = b.st.PurgeExpired(ctx, store.PurgeOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(3), runs[0].Messages)
	require.Zero(t, runs[0].Held)
	require.ElementsMatch(t, []string{b.fresh.ID, b.freshReply.ID}, tenantMessageIDs(t, b.db, d.Tenant.ID))
	require.Len(t, tenantMessageIDs(t, b.db, b.other.Tenant.ID), 1)
	requireNoOrphans(t, b.db)
}

// testRetentionKeepsByDefault: with retention_days 0 (the default) nothing
// is purged, however old, and no run is recorded.
func testRetentionKeepsByDefault(t *testing.T, open Opener) {
	b := setupRetention(t, open)
	b.setRetention(t, b.d, 0)
	all := []string{b.old.ID, b.oldReply.ID, b.aboutOther.ID, b.otherOld.ID}
	before := rowsOf(t, b.db, all...)
	runs, err := b.st.PurgeExpired(context.Background(), store.PurgeOptions{})
	require.NoError(t, err)
	require.Empty(t, runs)
	require.Equal(t, before, rowsOf(t, b.db, all...))
	require.NotEqual(t, whitecross.AuditRetentionPurged, lastAudit(t, b.st, b.d.Tenant.ID).Action)
}

// testRetentionTenantAndBudget runs one district by slug, refuses an
// unknown slug, and stops after a batch once its budget is spent.
func testRetentionTenantAndBudget(t *testing.T, open Opener) {
	b := setupRetention(t, open)
	ctx := context.Background()
	b.setRetention(t, b.other, 30)
	_, err := b.st.PurgeExpired(ctx, store.PurgeOptions{TenantSlug: "nowhere"})
	requireCode(t, err, whitecross.ENOTFOUND, "")

	runs, err := b.st.PurgeExpired(ctx, store.PurgeOptions{TenantSlug: "shelbyville"})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, int64(1), runs[0].Messages)
	require.Empty(t, tenantMessageIDs(t, b.db, b.other.Tenant.ID))
	require.Len(t, tenantMessageIDs(t, b.db, b.d.Tenant.ID), 8, "the district not named is untouched")

	// A spent budget stops after one batch, the rest left for the next
	// run; a batch takes messages up to Recipients recipients (here one).
	runs, err = b.st.PurgeExpired(ctx, store.PurgeOptions{TenantSlug: "springfield", Recipients: 1, Budget: time.Nanosecond})
	require.NoError(t, err)
	require.True(t, runs[0].More)
	require.Equal(t, int64(1), runs[0].Messages)
	runs, err = b.st.PurgeExpired(ctx, store.PurgeOptions{TenantSlug: "springfield", Batch: 1})
	require.NoError(t, err)
	require.False(t, runs[0].More)
	require.Equal(t, int64(5), runs[0].Messages, "the other old messages (no holds here)")
	requireNoOrphans(t, b.db)
}

func mustHolds(t *testing.T, st *store.Store, ctx context.Context) []*whitecross.LegalHold {
	t.Helper()
	holds, err := st.ListLegalHolds(ctx)
	require.NoError(t, err)
	return holds
}

func itoa(n int) string { return store.PurgeCounts{Messages: int64(n)}.Detail()["messages"] }
