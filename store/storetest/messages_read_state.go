package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

func testReadState(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	m := b.send(t, d.LincolnNurse, "Picture day", d.LincolnParent, d.AnnexParent)
	p := d.As(d.LincolnParent)
	mine := func() *whitecross.Message {
		t.Helper()
		got, err := b.st.FindMessageByID(p, m.ID)
		require.NoError(t, err)
		return got
	}
	audits := len(auditEvents(t, b.st, d.Tenant.ID))

	// Read keeps the first read time; unread clears it.
	b.clock.Advance(time.Minute)
	t1 := b.clock.Now()
	require.NoError(t, b.st.SetRead(p, m.ID, true))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SetRead(p, upper(m.ID), true))
	require.NoError(t, b.st.SetRead(d.As(d.LincolnParent), m.ID, true))
	require.True(t, mine().ReadAt.Equal(t1), "marking read twice keeps the first read_at")
	require.NoError(t, b.st.SetRead(p, m.ID, false))
	require.NoError(t, b.st.SetRead(p, m.ID, false))
	require.Nil(t, mine().ReadAt)
	b.clock.Advance(time.Minute)
	t2 := b.clock.Now()
	require.NoError(t, b.st.SetRead(p, m.ID, true))
	require.True(t, mine().ReadAt.Equal(t2))

	// Archive likewise; it does not touch read state.
	b.clock.Advance(time.Minute)
	t3 := b.clock.Now()
	require.NoError(t, b.st.SetArchived(p, m.ID, true))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SetArchived(p, m.ID, true))
	got := mine()
	require.True(t, got.ArchivedAt.Equal(t3))
	require.Equal(t, time.UTC, got.ArchivedAt.Location())
	require.True(t, got.ReadAt.Equal(t2))
	require.NoError(t, b.st.SetArchived(p, m.ID, false))
	require.Nil(t, mine().ArchivedAt)
	require.True(t, mine().ReadAt.Equal(t2))

	// State is per recipient.
	other, err := b.st.FindMessageByID(d.As(d.AnnexParent), m.ID)
	require.NoError(t, err)
	require.Nil(t, other.ReadAt)
	require.Nil(t, other.ArchivedAt)

	// State changes are not audited (the views above are).
	viewed := 0
	for _, e := range auditEvents(t, b.st, d.Tenant.ID)[audits:] {
		require.Equal(t, whitecross.AuditMessageRead, e.Action)
		viewed++
	}
	require.Equal(t, 7, viewed)

	// Who may not: the sender and an admin see it but did not receive it;
	// everyone else does not see it.
	for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin} {
		requireCode(t, b.st.SetRead(d.As(u), m.ID, true), whitecross.ECONFLICT, "")
		requireCode(t, b.st.SetArchived(d.As(u), m.ID, false), whitecross.ECONFLICT, "")
	}
	requireCode(t, b.st.SetRead(d.System(), m.ID, true), whitecross.ECONFLICT, "")
	for _, u := range []*whitecross.User{d.WashingtonParent, d.NonCustodialParent, d.LincolnAdmin} {
		err := b.st.SetRead(d.As(u), m.ID, true)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		require.Equal(t, "Message not found.", whitecross.ErrorMessage(err))
		requireCode(t, b.st.SetArchived(d.As(u), m.ID, true), whitecross.ENOTFOUND, "")
	}
	requireCode(t, b.st.SetRead(p, "not-a-uuid", true), whitecross.ENOTFOUND, "")
	requireCode(t, b.st.SetRead(p, "00000000-0000-0000-0000-000000000000", true), whitecross.ENOTFOUND, "")
	elsewhere := SeedDistrictSlug(t, b.st, "shelbyville")
	requireCode(t, b.st.SetRead(elsewhere.As(elsewhere.Admin), m.ID, true), whitecross.ENOTFOUND, "")
	require.Nil(t, other.ReadAt)
}

func testReadThread(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	reply := func(u *whitecross.User, id, body string) *whitecross.Message {
		t.Helper()
		b.clock.Advance(time.Minute)
		m, err := b.st.Reply(d.As(u), id, &whitecross.ReplyCreate{Body: body})
		require.NoError(t, err)
		return m
	}
	root := b.send(t, d.LincolnNurse, "Field trip forms", d.LincolnParent, d.AnnexParent)
	r1 := reply(d.LincolnParent, root.ID, "Signed, Pat")
	r2 := reply(d.AnnexParent, root.ID, "Private question from Abby")
	r3 := reply(d.LincolnParent, root.ID, "One more thing")
	unrelated := b.send(t, d.LincolnNurse, "Other", d.LincolnParent)

	thread := func(u *whitecross.User, id string) []*whitecross.Message {
		t.Helper()
		msgs, err := b.st.Thread(d.As(u), id)
		require.NoError(t, err, d.Labels[u.ID])
		return msgs
	}
	// A recipient sees the root and their own conversation, oldest first,
	// never another recipient's reply.
	got := thread(d.LincolnParent, root.ID)
	require.Equal(t, []string{root.ID, r1.ID, r3.ID}, messageIDs(got))
	require.Equal(t, "Signed, Pat", got[1].Body)
	require.Equal(t, root.ID, got[1].ThreadID)
	require.Equal(t, root.ID, *got[1].ReplyToID)
	require.Equal(t, []string{d.LincolnParent.ID}, got[0].RecipientIDs)
	require.Equal(t, []string{d.LincolnNurse.ID}, got[1].RecipientIDs)
	require.Equal(t, []string{root.ID, r1.ID, r3.ID}, messageIDs(thread(d.LincolnParent, r3.ID)))
	require.Equal(t, []string{root.ID, r2.ID}, messageIDs(thread(d.AnnexParent, root.ID)))
	_, err := b.st.Thread(d.As(d.LincolnParent), r2.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// The sender of the root receives every reply; admins see everything.
	got = thread(d.LincolnNurse, r2.ID)
	require.Equal(t, []string{root.ID, r1.ID, r2.ID, r3.ID}, messageIDs(got))
	require.Equal(t, sortedUserIDs(d.LincolnParent, d.AnnexParent), got[0].RecipientIDs)
	require.Equal(t, []string{d.LincolnNurse.ID}, got[2].RecipientIDs)
	require.Equal(t, "Private question from Abby", got[2].Body)
	require.Equal(t, []string{root.ID, r1.ID, r2.ID, r3.ID}, messageIDs(thread(d.Admin, root.ID)))
	require.Equal(t, []string{unrelated.ID}, messageIDs(thread(d.LincolnParent, unrelated.ID)))

	// Viewing a thread is a view of PHI.
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditMessageRead, e.Action)
	require.Equal(t, unrelated.ID, e.TargetID)
	require.Equal(t, d.LincolnParent.ID, e.ActorID)

	for _, u := range []*whitecross.User{d.WashingtonParent, d.LincolnAdmin, d.LincolnStaff} {
		_, err := b.st.Thread(d.As(u), root.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	_, err = b.st.Thread(d.As(d.LincolnNurse), "nope")
	requireCode(t, err, whitecross.ENOTFOUND, "")
}

func testReadReports(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	m := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Forms", Body: "Due Friday",
		Channels: []whitecross.Channel{whitecross.ChannelEmail}}, d.LincolnParent, d.AnnexParent)

	for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin} {
		rep, err := b.st.Deliveries(d.As(u), m.ID)
		require.NoError(t, err, d.Labels[u.ID])
		require.Len(t, rep.Summary, len(whitecross.DeliveryStatuses), "every status is in the summary")
		total := 0
		for _, st := range whitecross.DeliveryStatuses {
			n, ok := rep.Summary[st]
			require.True(t, ok, "summary lacks %s", st)
			total += n
		}
		require.Equal(t, len(rep.Items), total)
		require.Len(t, rep.Items, 4, "one delivery per recipient and channel")
		for i, item := range rep.Items {
			require.Contains(t, []string{d.LincolnParent.ID, d.AnnexParent.ID}, item.RecipientID)
			require.Equal(t, m.ID, item.MessageID)
			require.Contains(t, whitecross.DeliveryStatuses, item.Status)
			require.Equal(t, time.UTC, item.QueuedAt.Location())
			if i > 0 {
				prev := rep.Items[i-1]
				require.True(t, prev.RecipientID < item.RecipientID ||
					(prev.RecipientID == item.RecipientID && prev.Channel < item.Channel), "ordered by recipient then channel")
			}
		}
	}

	p := d.As(d.LincolnParent)
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SetRead(p, m.ID, true))
	require.NoError(t, b.st.SetArchived(p, m.ID, true))
	receipts, err := b.st.Receipts(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	require.Len(t, receipts, 2)
	// Ordered by name: Abby before Pat.
	require.Equal(t, d.AnnexParent.ID, receipts[0].UserID)
	require.Equal(t, d.AnnexParent.Name, receipts[0].Name)
	require.Equal(t, whitecross.RoleGuardian, receipts[0].Role)
	require.NotNil(t, receipts[0].DeliveredAt)
	require.Nil(t, receipts[0].ReadAt)
	require.Equal(t, d.LincolnParent.ID, receipts[1].UserID)
	require.True(t, receipts[1].ReadAt.Equal(b.clock.Now()))
	require.Equal(t, time.UTC, receipts[1].ReadAt.Location())
	_, err = b.st.Receipts(d.As(d.Admin), m.ID)
	require.NoError(t, err)

	// A recipient may see the message but not the report; others not even that.
	_, err = b.st.Deliveries(p, m.ID)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	require.Equal(t, "Only the sender can see delivery status.", whitecross.ErrorMessage(err))
	_, err = b.st.Receipts(p, m.ID)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	elsewhere := SeedDistrictSlug(t, b.st, "shelbyville")
	for _, u := range []*whitecross.User{d.WashingtonParent, d.LincolnAdmin, d.LincolnStaff} {
		_, err = b.st.Deliveries(d.As(u), m.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.Receipts(d.As(u), m.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	_, err = b.st.Deliveries(elsewhere.As(elsewhere.Admin), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Receipts(elsewhere.As(elsewhere.Admin), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Deliveries(d.As(d.LincolnNurse), "bad")
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// A scheduled message has recipients but nothing delivered yet.
	at := b.clock.Now().Add(time.Hour)
	s := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "later", Body: "x", ScheduledAt: &at}, d.LincolnParent)
	receipts, err = b.st.Receipts(d.As(d.LincolnNurse), s.ID)
	require.NoError(t, err)
	require.Len(t, receipts, 1)
	require.Nil(t, receipts[0].DeliveredAt)
	rep, err := b.st.Deliveries(d.As(d.LincolnNurse), s.ID)
	require.NoError(t, err)
	require.Empty(t, rep.Items)
	for _, st := range whitecross.DeliveryStatuses {
		require.Equal(t, 0, rep.Summary[st])
	}
	// Its recipient cannot see it at all yet: not found, not forbidden.
	_, err = b.st.Deliveries(p, s.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
}
