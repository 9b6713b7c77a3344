package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseDeadLetters is the conformance suite of the admin's dead-letter
// view: listing failed and bounced deliveries with their timelines, newest
// change first, and putting them back in the queue.
func exerciseDeadLetters(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"List", testDeadLettersList},
		{"Pages", testDeadLettersPages},
		{"AdminsOnly", testDeadLettersAdminsOnly},
		{"Retry", testDeadLettersRetry},
		{"RetryLimits", testDeadLettersRetryLimits},
		{"EmailSuppressions", testEmailSuppressions},
	})
}

// deadBundle is a district with a few deliveries that failed or bounced,
// made the way the pipeline would record them.
type deadBundle struct {
	*sendBundle
	other *District // another district in the same database
	// Deliveries by "<recipient label>/<channel>" of the medium message
	// (EMAIL, SMS to LincolnParent and AnnexParent) and "urgent/SMS" of an
	// URGENT message to LincolnParent.
	ids map[string]string
	// otherFailed is a FAILED delivery of the other district.
	otherFailed string
	medium      *whitecross.Message
	urgent      *whitecross.Message
}

func setupDeadLetters(t *testing.T, open Opener) *deadBundle {
	t.Helper()
	b := &deadBundle{sendBundle: setupSend(t, open, true), ids: map[string]string{}}
	d := b.d
	b.other = SeedDistrictSlug(t, b.st, "shelbyville")

	in := msg("Vision screening", d.LincolnParent, d.AnnexParent)
	in.Channels = []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}
	b.medium = b.send(t, d.LincolnNurse, in)
	in = msg("Lockdown drill", d.LincolnParent)
	in.Priority, in.Channels = whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelSMS}
	b.urgent = b.send(t, d.LincolnNurse, in)
	for _, m := range []*whitecross.Message{b.medium, b.urgent} {
		for _, dl := range deliveriesOf(t, b.db, m.ID) {
			key := d.Labels[dl.recipient] + "/" + dl.channel
			if m == b.urgent {
				key = "urgent/" + dl.channel
			}
			b.ids[key] = dl.id
		}
	}
	in = msg("Other district", b.other.LincolnParent)
	in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
	om, err := b.st.SendMessage(b.other.As(b.other.LincolnNurse), in)
	require.NoError(t, err)
	for _, dl := range deliveriesOf(t, b.db, om.ID) {
		if dl.channel == "EMAIL" {
			b.otherFailed = dl.id
		}
	}
	b.queue.takeDeliveries() // only the retry's jobs count below

	// Failures a minute apart: the urgent SMS last (newest), the two emails
	// at the same instant (ties are ordered by id).
	b.clock.Advance(time.Minute)
	b.fail(t, b.d.Tenant.ID, b.ids["LincolnParent/EMAIL"], whitecross.DeliveryFailed, "smtp", "550 mailbox unavailable", 3)
	b.fail(t, b.d.Tenant.ID, b.ids["AnnexParent/EMAIL"], whitecross.DeliveryBounced, "smtp", "hard bounce", 1)
	b.clock.Advance(time.Minute)
	b.fail(t, b.d.Tenant.ID, b.ids["LincolnParent/SMS"], whitecross.DeliveryFailed, "twilio", "21211 invalid number", 1)
	b.clock.Advance(time.Minute)
	b.fail(t, b.d.Tenant.ID, b.ids["urgent/SMS"], whitecross.DeliveryFailed, "twilio", "gave up after 12 attempts", 12)
	b.fail(t, b.other.Tenant.ID, b.otherFailed, whitecross.DeliveryFailed, "smtp", "550 mailbox unavailable", 1)
	// AnnexParent/SMS stays PENDING; mark it SENT so one delivery is neither.
	execSQL(t, b.db, `UPDATE deliveries SET status = 'SENT', provider = 'twilio', provider_id = 'SM1', sent_at = $2, updated_at = $2 WHERE id = $1`,
		b.ids["AnnexParent/SMS"], b.clock.Now())
	return b
}

// fail records a final failure of a delivery as the delivery worker or a
// provider callback does: status, reason, attempts, provider and a
// timeline event.
func (b *deadBundle) fail(t *testing.T, tenantID, id string, status whitecross.DeliveryStatus, provider, reason string, attempts int) {
	t.Helper()
	now := b.clock.Now()
	column := "failed_at"
	if status == whitecross.DeliveryBounced {
		column = "bounced_at"
	}
	execSQL(t, b.db, `UPDATE deliveries SET status = $2, error = $3, provider = $4, provider_id = $5, attempts = $6, `+column+` = $7, updated_at = $7
		WHERE id = $1`, id, string(status), reason, provider, "p-"+id, attempts, now)
	execSQL(t, b.db, `INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.Must(uuid.NewV7()).String(), tenantID, id, string(status), now, reason)
}

// deliveryRow is the part of a deliveries row the tests look at.
type deliveryRow struct {
	id, recipient, channel, status string
	attempts                       int
	err, providerID                *string
	provider                       string
	failedAt, bouncedAt            *time.Time
	updatedAt                      time.Time
}

func deliveriesOf(t *testing.T, db *store.DB, messageID string) []deliveryRow {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT id, recipient_id, channel, status, attempts, error, provider, provider_id,
		failed_at, bounced_at, updated_at FROM deliveries WHERE message_id = $1 AND channel <> 'IN_APP' ORDER BY recipient_id, channel`, messageID)
	require.NoError(t, err)
	defer rows.Close()
	var out []deliveryRow
	for rows.Next() {
		var r deliveryRow
		require.NoError(t, rows.Scan(&r.id, &r.recipient, &r.channel, &r.status, &r.attempts, &r.err, &r.provider, &r.providerID,
			&r.failedAt, &r.bouncedAt, &r.updatedAt))
		r.id, r.recipient = strings.ToLower(r.id), strings.ToLower(r.recipient)
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func deliveryByID(t *testing.T, db *store.DB, id string) deliveryRow {
	t.Helper()
	var messageID string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT message_id FROM deliveries WHERE id = $1`, id).Scan(&messageID))
	for _, r := range deliveriesOf(t, db, messageID) {
		if r.id == id {
			return r
		}
	}
	t.Fatalf("delivery %s not found", id)
	return deliveryRow{}
}

// deadIDs returns the ids of a page's items, in order.
func deadIDs(items []*whitecross.DeadLetter) []string {
	out := []string{}
	for _, dl := range items {
		out = append(out, dl.ID)
	}
	return out
}

// sameInstantOrder returns the two ids in the order a newest-first listing
// with an id tie-break gives them.
func sameInstantOrder(a, b string) []string {
	if a > b {
		return []string{a, b}
	}
	return []string{b, a}
}

func testDeadLettersList(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	d := b.d
	admin := d.As(d.Admin)

	page, err := b.st.ListDeadLetters(admin, whitecross.DeadLetterFilter{})
	require.NoError(t, err)
	require.Empty(t, page.NextCursor)
	want := append([]string{b.ids["urgent/SMS"], b.ids["LincolnParent/SMS"]},
		sameInstantOrder(b.ids["LincolnParent/EMAIL"], b.ids["AnnexParent/EMAIL"])...)
	require.Equal(t, want, deadIDs(page.Items), "FAILED and BOUNCED of this district only, newest change first")

	first := page.Items[0]
	require.Equal(t, b.urgent.ID, first.MessageID)
	require.Equal(t, d.LincolnParent.ID, first.RecipientID)
	require.Equal(t, d.LincolnParent.Name, first.RecipientName)
	require.Equal(t, whitecross.ChannelSMS, first.Channel)
	require.Equal(t, whitecross.DeliveryFailed, first.Status)
	require.Equal(t, "twilio", first.Provider)
	require.Equal(t, 12, first.Attempts)
	require.NotNil(t, first.Error)
	require.Equal(t, "gave up after 12 attempts", *first.Error)
	require.NotNil(t, first.FailedAt)
	require.True(t, first.FailedAt.Equal(b.clock.Now()))
	require.True(t, first.UpdatedAt.Equal(b.clock.Now()))
	require.Len(t, first.Timeline, 2, "queued, then failed")
	require.Equal(t, whitecross.DeliveryPending, first.Timeline[0].Status, "oldest event first")
	require.Equal(t, whitecross.DeliveryFailed, first.Timeline[1].Status)
	require.Equal(t, "gave up after 12 attempts", first.Timeline[1].Detail)
	require.True(t, first.Timeline[0].At.Before(first.Timeline[1].At))

	for _, dl := range page.Items {
		if dl.ID == b.ids["AnnexParent/EMAIL"] {
			require.Equal(t, whitecross.DeliveryBounced, dl.Status)
			require.Equal(t, d.AnnexParent.Name, dl.RecipientName)
			require.NotNil(t, dl.BouncedAt)
			require.Nil(t, dl.FailedAt)
			require.Len(t, dl.Timeline, 2)
		}
	}

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			f    whitecross.DeadLetterFilter
			want []string
		}{
			{whitecross.DeadLetterFilter{Status: whitecross.DeliveryBounced}, []string{b.ids["AnnexParent/EMAIL"]}},
			{whitecross.DeadLetterFilter{Status: whitecross.DeliveryFailed}, []string{b.ids["urgent/SMS"], b.ids["LincolnParent/SMS"], b.ids["LincolnParent/EMAIL"]}},
			{whitecross.DeadLetterFilter{Channel: whitecross.ChannelSMS}, []string{b.ids["urgent/SMS"], b.ids["LincolnParent/SMS"]}},
			{whitecross.DeadLetterFilter{Status: whitecross.DeliveryBounced, Channel: whitecross.ChannelSMS}, []string{}},
			{whitecross.DeadLetterFilter{Channel: whitecross.ChannelPush}, []string{}},
		} {
			page, err := b.st.ListDeadLetters(admin, tc.f)
			require.NoError(t, err)
			require.Equal(t, tc.want, deadIDs(page.Items), "%+v", tc.f)
		}
	})

	t.Run("bad filters name the parameter", func(t *testing.T) {
		for _, tc := range []struct {
			f     whitecross.DeadLetterFilter
			field string
		}{
			{whitecross.DeadLetterFilter{Status: whitecross.DeliveryPending}, "query.status"},
			{whitecross.DeadLetterFilter{Status: "LOST"}, "query.status"},
			{whitecross.DeadLetterFilter{Channel: whitecross.ChannelInApp}, "query.channel"},
			{whitecross.DeadLetterFilter{Channel: "FAX"}, "query.channel"},
			{whitecross.DeadLetterFilter{Limit: 101}, "query.limit"},
			{whitecross.DeadLetterFilter{Limit: -1}, "query.limit"},
			{whitecross.DeadLetterFilter{Cursor: "not a cursor"}, "query.cursor"},
			{whitecross.DeadLetterFilter{Cursor: "WyJ4IiwieSJd"}, "query.cursor"}, // ["x","y"]
		} {
			_, err := b.st.ListDeadLetters(admin, tc.f)
			requireCode(t, err, whitecross.EINVALID, tc.field)
		}
	})

	t.Run("the other district sees only its own", func(t *testing.T) {
		page, err := b.st.ListDeadLetters(b.other.As(b.other.Admin), whitecross.DeadLetterFilter{})
		require.NoError(t, err)
		require.Equal(t, []string{b.otherFailed}, deadIDs(page.Items))
	})
}

func testDeadLettersPages(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	admin := b.d.As(b.d.Admin)
	all, err := b.st.ListDeadLetters(admin, whitecross.DeadLetterFilter{})
	require.NoError(t, err)
	for _, limit := range []int{1, 2, 3} {
		f := whitecross.DeadLetterFilter{Limit: limit}
		got := allPages(t, limit, func() ([]*whitecross.DeadLetter, string, error) {
			page, err := b.st.ListDeadLetters(admin, f)
			if err != nil {
				return nil, "", err
			}
			for _, dl := range page.Items {
				require.NotEmpty(t, dl.Timeline, "every page carries its timelines")
			}
			f.Cursor = page.NextCursor
			return page.Items, page.NextCursor, nil
		})
		require.Equal(t, deadIDs(all.Items), deadIDs(got), "limit %d: no item skipped or repeated, even at a tie", limit)
	}

	// A delivery that fails while an admin pages through is newer than any
	// cursor: it shows on a fresh first page, never in the middle.
	f := whitecross.DeadLetterFilter{Limit: 2}
	page, err := b.st.ListDeadLetters(admin, f)
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	b.fail(t, b.d.Tenant.ID, b.ids["AnnexParent/SMS"], whitecross.DeliveryFailed, "twilio", "30003 unreachable", 2)
	f.Cursor = page.NextCursor
	rest, err := b.st.ListDeadLetters(admin, f)
	require.NoError(t, err)
	require.Equal(t, deadIDs(all.Items)[2:], deadIDs(rest.Items))
}

func testDeadLettersAdminsOnly(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	d := b.d
	for _, u := range []*whitecross.User{d.LincolnAdmin, d.LincolnNurse, d.LincolnStaff, d.LincolnParent} {
		_, err := b.st.ListDeadLetters(d.As(u), whitecross.DeadLetterFilter{})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
		_, err = b.st.RetryDeliveries(d.As(u), []string{b.ids["LincolnParent/EMAIL"]})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	_, err := b.st.ListDeadLetters(context.Background(), whitecross.DeadLetterFilter{})
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	require.Equal(t, "FAILED", deliveryByID(t, b.db, b.ids["LincolnParent/EMAIL"]).status, "a refused retry changes nothing")
}

func testDeadLettersRetry(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	d := b.d
	before := map[string]deliveryRow{}
	for k, id := range b.ids {
		before[k] = deliveryByID(t, b.db, id)
	}
	b.clock.Advance(time.Hour)
	now := b.clock.Now()
	auditBefore := len(auditEvents(t, b.st, d.Tenant.ID))

	n, err := b.st.RetryDeliveries(d.As(d.Admin), []string{
		strings.ToUpper(b.ids["LincolnParent/EMAIL"]), // ids in any case
		b.ids["AnnexParent/EMAIL"],                    // BOUNCED
		b.ids["urgent/SMS"],
		b.ids["urgent/SMS"],                    // a repeat counts once
		b.ids["AnnexParent/SMS"],               // SENT: skipped
		b.otherFailed,                          // another district's: skipped
		"not-a-delivery-id",                    // skipped
		"0190f0f0-0000-7000-8000-000000000000", // unknown: skipped
	})
	require.NoError(t, err)
	require.Equal(t, 3, n)

	requeued := []string{"LincolnParent/EMAIL", "AnnexParent/EMAIL", "urgent/SMS"}
	for _, k := range requeued {
		r := deliveryByID(t, b.db, b.ids[k])
		require.Equal(t, "PENDING", r.status, k)
		require.Nil(t, r.err, "%s: the error is cleared", k)
		require.Nil(t, r.failedAt, k)
		require.Nil(t, r.bouncedAt, k)
		require.Equal(t, "", r.provider, "%s: the next send is a new one", k)
		require.Nil(t, r.providerID, k)
		require.Equal(t, before[k].attempts, r.attempts, "%s: attempts keep counting the total", k)
		require.True(t, r.updatedAt.Equal(now), k)
	}
	require.Equal(t, "SENT", deliveryByID(t, b.db, b.ids["AnnexParent/SMS"]).status)
	require.Equal(t, "FAILED", deliveryByID(t, b.db, b.ids["LincolnParent/SMS"]).status, "not asked for: unchanged")
	require.Equal(t, "FAILED", deliveryByID(t, b.db, b.otherFailed).status, "another district's delivery is never touched")

	// Each requeued delivery's timeline says who asked; the earlier failure
	// stays in it.
	var events []string
	for _, e := range workTimeline(t, b.db, b.ids["AnnexParent/EMAIL"]) {
		events = append(events, string(e.Status)+" "+e.Detail)
	}
	require.Equal(t, []string{"PENDING ", "BOUNCED hard bounce", "PENDING retry requested by " + d.Admin.ID}, events)

	// One deliver job each, in the urgent lane for the URGENT message.
	jobs := b.queue.takeDeliveries()
	got := map[string]bool{}
	for _, j := range jobs {
		require.Equal(t, d.Tenant.ID, j.TenantID)
		got[j.DeliveryID] = j.Urgent
	}
	require.Equal(t, map[string]bool{b.ids["LincolnParent/EMAIL"]: false, b.ids["AnnexParent/EMAIL"]: false, b.ids["urgent/SMS"]: true}, got)

	// One audit event lists them.
	events2 := auditEvents(t, b.st, d.Tenant.ID)
	require.Len(t, events2, auditBefore+1)
	e := events2[len(events2)-1]
	require.Equal(t, whitecross.AuditDeliveriesRetried, e.Action)
	require.Equal(t, d.Admin.ID, e.ActorID)
	require.Equal(t, "3", e.Detail["requeued"])
	require.Equal(t, "8", e.Detail["requested"])
	for _, k := range requeued {
		require.Contains(t, e.Detail["delivery_ids"], b.ids[k])
	}

	// They left the dead-letter view; a second retry finds nothing to do.
	page, err := b.st.ListDeadLetters(d.As(d.Admin), whitecross.DeadLetterFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{b.ids["LincolnParent/SMS"]}, deadIDs(page.Items))
	n, err = b.st.RetryDeliveries(d.As(d.Admin), []string{b.ids["urgent/SMS"]})
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), auditBefore+1, "nothing requeued, nothing audited")
}

func testDeadLettersRetryLimits(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	admin := b.d.As(b.d.Admin)
	_, err := b.st.RetryDeliveries(admin, nil)
	requireCode(t, err, whitecross.EINVALID, "body.delivery_ids")
	tooMany := make([]string, store.MaxRetryDeliveries+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("0190f0f0-0000-7000-8000-%012d", i)
	}
	_, err = b.st.RetryDeliveries(admin, tooMany)
	requireCode(t, err, whitecross.EINVALID, "body.delivery_ids")

	// The most allowed at once, with one real failure among them.
	most := append(tooMany[:store.MaxRetryDeliveries-1], b.ids["LincolnParent/SMS"])
	n, err := b.st.RetryDeliveries(admin, most)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
