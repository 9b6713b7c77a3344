package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseAcks is the conformance suite of acknowledgement and escalation
// (API.md, "Acknowledgement and escalation").
func exerciseAcks(t *testing.T, open Opener) {
	tests := []subtest{
		{"Validation", testAckValidation},
		{"FirstAcknowledgementKept", testAckFirstKept},
		{"OnlyRecipientsAcknowledge", testAckOnlyRecipients},
		{"Summary", testAckSummary},
		{"ListingFiltersAndPages", testAckListing},
		{"EscalationContactsOnlyThoseWhoDidNotAcknowledge", testEscalationContactsPending},
		{"EscalationStopsWhenEveryoneAcknowledged", testEscalationStops},
		{"EscalationBringsInOtherCustodialGuardians", testEscalationOtherGuardians},
		{"EscalationInBatches", testEscalationBatches},
	}
	runSubtests(t, open, tests)
}

// ackMsg is a valid request to users that asks for acknowledgement.
func ackMsg(subject string, users ...*whitecross.User) *whitecross.MessageCreate {
	in := msg(subject, users...)
	in.AckRequested = true
	return in
}

// auditCount counts the tenant's audit events of one action on a target.
func auditCount(t *testing.T, db *store.DB, action, target string) int {
	t.Helper()
	return sendCount(t, db, `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2`, action, target)
}

func testAckValidation(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	esc := func(mod func(e *whitecross.Escalation)) *whitecross.MessageCreate {
		in := ackMsg("Lockdown drill", d.LincolnParent)
		in.Escalation = &whitecross.Escalation{AfterMinutes: 10, Channels: []whitecross.Channel{whitecross.ChannelSMS}, Repeat: 2}
		mod(in.Escalation)
		return in
	}
	before := sendCounts(t, b.db)
	cases := []struct {
		in    *whitecross.MessageCreate
		field string
	}{
		{func() *whitecross.MessageCreate {
			in := esc(func(*whitecross.Escalation) {})
			in.AckRequested = false
			return in
		}(), "body.escalation"},
		{esc(func(e *whitecross.Escalation) { e.AfterMinutes = 0 }), "body.escalation.after_minutes"},
		{esc(func(e *whitecross.Escalation) { e.AfterMinutes = whitecross.MaxEscalationAfterMinutes + 1 }), "body.escalation.after_minutes"},
		{esc(func(e *whitecross.Escalation) { e.Repeat = -1 }), "body.escalation.repeat"},
		{esc(func(e *whitecross.Escalation) { e.Repeat = whitecross.MaxEscalationRepeat + 1 }), "body.escalation.repeat"},
		{esc(func(e *whitecross.Escalation) { e.Channels = nil }), "body.escalation.channels"},
		{esc(func(e *whitecross.Escalation) { e.Channels = []whitecross.Channel{"SMS", "IN_APP"} }), "body.escalation.channels[1]"},
		{esc(func(e *whitecross.Escalation) { e.Channels = []whitecross.Channel{"FAX"} }), "body.escalation.channels[0]"},
	}
	for _, c := range cases {
		_, err := b.st.SendMessage(d.As(d.LincolnNurse), c.in)
		requireCode(t, err, whitecross.EINVALID, c.field)
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused request stores nothing")
	// A channel the district does not allow is refused like body.channels.
	_, err := b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{
		AllowedChannels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}})
	require.NoError(t, err)
	before = sendCounts(t, b.db)
	_, err = b.st.SendMessage(d.As(d.LincolnNurse), esc(func(e *whitecross.Escalation) { e.Channels = []whitecross.Channel{"SMS", "VOICE"} }))
	requireCode(t, err, whitecross.EINVALID, "body.escalation.channels[1]")
	require.Equal(t, before, sendCounts(t, b.db), "a refused request stores nothing")

	// The limits themselves are accepted, repeats count once, and the
	// message says what it asks.
	m := b.send(t, d.LincolnNurse, esc(func(e *whitecross.Escalation) {
		e.AfterMinutes, e.Repeat = whitecross.MaxEscalationAfterMinutes, whitecross.MaxEscalationRepeat
		e.Channels = []whitecross.Channel{"SMS", "EMAIL", "SMS"}
	}))
	require.True(t, m.AckRequested)
	require.Equal(t, &whitecross.Escalation{AfterMinutes: whitecross.MaxEscalationAfterMinutes, Repeat: whitecross.MaxEscalationRepeat,
		Channels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS}}, m.Escalation)
	plain := b.send(t, d.LincolnNurse, msg("No ack", d.LincolnParent))
	require.False(t, plain.AckRequested)
	require.Nil(t, plain.Escalation)
	require.Nil(t, plain.AckSummary)
}

func testAckFirstKept(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	ctx := context.Background()
	m := b.send(t, d.LincolnNurse, ackMsg("Shelter in place", d.LincolnParent, d.LincolnStaff))
	b.clock.Advance(time.Minute)
	first := b.clock.Now()
	require.NoError(t, b.st.Acknowledge(d.As(d.LincolnParent), m.ID))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.Acknowledge(d.As(d.LincolnParent), m.ID), "acknowledging again is fine")

	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	require.NoError(t, err)
	require.True(t, got.AckRequested)
	require.NotNil(t, got.AckedAt)
	require.True(t, got.AckedAt.Equal(first), "the first acknowledgement is kept: %s", got.AckedAt)
	require.NotNil(t, got.ReadAt, "acknowledging reads it")
	require.Nil(t, got.AckSummary, "a recipient sees no counts")
	other, err := b.st.FindMessageByID(d.As(d.LincolnStaff), m.ID)
	require.NoError(t, err)
	require.Nil(t, other.AckedAt, "acked_at is the caller's own")

	require.Equal(t, 1, auditCount(t, b.db, whitecross.AuditMessageAcknowledged, m.ID), "audited once")
	evs, err := b.st.ReadEvents(ctx, d.Tenant.ID, d.LincolnNurse.ID, 0, 100)
	require.NoError(t, err)
	var acks []whitecross.Event
	for _, e := range evs {
		if e.Type == whitecross.EventAckReceived {
			acks = append(acks, e)
		}
	}
	require.Len(t, acks, 1, "the sender hears of it once")
	require.Equal(t, m.ID, acks[0].MessageID)
	require.Equal(t, d.LincolnParent.ID, acks[0].ActorID)
	require.True(t, acks[0].At.Equal(first))
}

func testAckOnlyRecipients(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	m := b.send(t, d.LincolnNurse, ackMsg("Early dismissal", d.LincolnParent))
	for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin, d.LincolnStaff, d.AnnexParent} {
		requireCode(t, b.st.Acknowledge(d.As(u), m.ID), whitecross.ENOTFOUND, "")
	}
	requireCode(t, b.st.Acknowledge(d.As(d.LincolnParent), "not-a-uuid"), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.Acknowledge(d.System(), m.ID), whitecross.ENOTFOUND, "")
	// Another district's user with the same id space sees nothing.
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	requireCode(t, b.st.Acknowledge(other.As(other.LincolnParent), m.ID), whitecross.ENOTFOUND, "")

	plain := b.send(t, d.LincolnNurse, msg("No ack asked", d.LincolnParent))
	requireCode(t, b.st.Acknowledge(d.As(d.LincolnParent), plain.ID), whitecross.ECONFLICT, "")

	// A scheduled message has not reached its recipients yet.
	at := b.clock.Now().Add(time.Hour)
	later := ackMsg("Picture day", d.LincolnParent)
	later.ScheduledAt = &at
	nq := b.send(t, d.LincolnNurse, later)
	requireCode(t, b.st.Acknowledge(d.As(d.LincolnParent), nq.ID), whitecross.ENOTFOUND, "")
	require.Equal(t, 0, auditCount(t, b.db, whitecross.AuditMessageAcknowledged, m.ID))
}

func testAckSummary(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	m := b.send(t, d.LincolnNurse, ackMsg("Water main break", d.LincolnParent, d.AnnexParent, d.LincolnStaff))
	require.Equal(t, &whitecross.AckSummary{Requested: 3, Acked: 0}, m.AckSummary)
	require.NoError(t, b.st.Acknowledge(d.As(d.AnnexParent), m.ID))
	require.NoError(t, b.st.Acknowledge(d.As(d.LincolnStaff), m.ID))
	for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin} {
		got, err := b.st.FindMessageByID(d.As(u), m.ID)
		require.NoError(t, err)
		require.Equal(t, &whitecross.AckSummary{Requested: 3, Acked: 2}, got.AckSummary, d.Labels[u.ID])
	}
	page, err := b.st.ListMessages(d.As(d.LincolnNurse), whitecross.MessageFilter{Box: whitecross.BoxSent})
	require.NoError(t, err)
	require.Equal(t, m.ID, page.Items[0].ID)
	require.Equal(t, &whitecross.AckSummary{Requested: 3, Acked: 2}, page.Items[0].AckSummary, "lists carry it too")
	inbox, err := b.st.ListMessages(d.As(d.AnnexParent), whitecross.MessageFilter{})
	require.NoError(t, err)
	require.True(t, inbox.Items[0].AckRequested)
	require.NotNil(t, inbox.Items[0].AckedAt)
	require.Nil(t, inbox.Items[0].AckSummary)
	ev, err := b.st.EventMessage(context.Background(), d.Tenant.ID, m.ID, true)
	require.NoError(t, err)
	require.Equal(t, &whitecross.AckSummary{Requested: 3, Acked: 2}, ev.AckSummary, "the sender's live frame")
}

func testAckListing(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, 5) // all named "Bulk Staff": the id breaks ties
	in := &whitecross.MessageCreate{Subject: "Boil water", Body: "b", AckRequested: true,
		RecipientIDs: append(slices.Clone(bulk), d.LincolnStaff.ID, d.AnnexStaff.ID)}
	m := b.send(t, d.LincolnNurse, in)
	acked := []string{bulk[1], d.AnnexStaff.ID}
	for _, id := range acked {
		require.NoError(t, b.st.Acknowledge(d.As(&whitecross.User{ID: id, Role: whitecross.RoleStaff}), m.ID))
	}
	all := func(status whitecross.AckStatus, limit int) []*whitecross.Ack {
		var out []*whitecross.Ack
		f := whitecross.AckFilter{Status: status, Limit: limit}
		for range 20 {
			page, err := b.st.ListAcks(d.As(d.LincolnNurse), m.ID, f)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Items), limit)
			out = append(out, page.Items...)
			if page.NextCursor == "" {
				return out
			}
			f.Cursor = page.NextCursor
		}
		t.Fatal("the pages never end")
		return nil
	}
	ids := func(as []*whitecross.Ack) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.UserID)
		}
		return out
	}
	everyone := all("", 2)
	require.Len(t, everyone, 7, "every recipient once across pages of 2")
	require.Equal(t, []string{d.AnnexStaff.Name, "Bulk Staff"}, []string{everyone[0].Name, everyone[1].Name}, "by name")
	sortedBulk := slices.Sorted(slices.Values(bulk))
	require.Equal(t, sortedBulk, ids(everyone[1:6]), "then by id")
	require.Equal(t, everyone, all("", 100), "pages change nothing")

	page, err := b.st.ListAcks(d.As(d.LincolnNurse), m.ID, whitecross.AckFilter{Status: whitecross.AckStatusPending, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, whitecross.AckSummary{Requested: 7, Acked: 2}, page.Summary, "a page carries the message's counts")
	got := all(whitecross.AckStatusAcked, 1)
	require.ElementsMatch(t, acked, ids(got))
	for _, a := range got {
		require.NotNil(t, a.AckedAt)
	}
	pending := all("PENDING", 3)
	require.Len(t, pending, 5)
	for _, a := range pending {
		require.Nil(t, a.AckedAt)
		require.NotContains(t, acked, a.UserID)
	}

	_, err = b.st.ListAcks(d.As(d.Admin), m.ID, whitecross.AckFilter{})
	require.NoError(t, err, "admins see it")
	_, err = b.st.ListAcks(d.As(d.LincolnNurse), m.ID, whitecross.AckFilter{Status: "maybe"})
	requireCode(t, err, whitecross.EINVALID, "query.status")
	_, err = b.st.ListAcks(d.As(d.LincolnNurse), m.ID, whitecross.AckFilter{Cursor: "garbage"})
	requireCode(t, err, whitecross.EINVALID, "query.cursor")
	_, err = b.st.ListAcks(d.As(d.LincolnNurse), m.ID, whitecross.AckFilter{Limit: 101})
	requireCode(t, err, whitecross.EINVALID, "query.limit")
	_, err = b.st.ListAcks(d.As(d.LincolnStaff), m.ID, whitecross.AckFilter{})
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.ListAcks(d.As(d.LincolnParent), m.ID, whitecross.AckFilter{})
	requireCode(t, err, whitecross.ENOTFOUND, "")
	plain := b.send(t, d.LincolnNurse, msg("No ack asked", d.LincolnParent))
	_, err = b.st.ListAcks(d.As(d.LincolnNurse), plain.ID, whitecross.AckFilter{})
	requireCode(t, err, whitecross.ECONFLICT, "")
}
