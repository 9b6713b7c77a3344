package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// testBroadcastReport: the sender's report counts who is reached (read,
// or sent by some external channel), keeps a failed channel of someone
// reached another way out of "failed", lists the unreached with why, and
// exports every delivery in pages.
func testBroadcastReport(t *testing.T, open Opener) {
	b := setupAudience(t, open, false)
	d := b.d
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Washington.ID, 400)
	m := b.send(t, d.Admin, &whitecross.MessageCreate{Subject: "Snow day", Body: "b", Channels: []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS},
		Audience: &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}, RecipientIDs: bulk})
	require.Equal(t, whitecross.MessageSent, m.Status)
	now := b.clock.Now()
	set := func(u *whitecross.User, channel whitecross.Channel, status whitecross.DeliveryStatus, reason any) {
		execSQL(t, b.db, `UPDATE deliveries SET status = $1, error = $2, updated_at = $3 WHERE message_id = $4 AND recipient_id = $5 AND channel = $6`,
			string(status), reason, now, m.ID, u.ID, string(channel))
		now = now.Add(time.Second)
	}
	// LincolnParent: email failed, then a text went: reached.
	set(d.LincolnParent, whitecross.ChannelEmail, whitecross.DeliveryFailed, "mailbox full")
	set(d.LincolnParent, whitecross.ChannelSMS, whitecross.DeliverySent, nil)
	// AnnexParent: both failed: not reached, the last failure says why.
	set(d.AnnexParent, whitecross.ChannelSMS, whitecross.DeliveryFailed, "no phone number")
	set(d.AnnexParent, whitecross.ChannelEmail, whitecross.DeliveryBounced, "address rejected")
	// KParent: email failed, but read it in the app: reached.
	set(b.kParent, whitecross.ChannelEmail, whitecross.DeliveryFailed, "mailbox full")
	execSQL(t, b.db, `UPDATE message_recipients SET first_read_at = $1 WHERE message_id = $2 AND user_id = $3`, now, m.ID, b.kParent.ID)
	// The bulk staff: their deliveries still wait.

	ctx := d.As(d.Admin)
	rep, err := b.st.Report(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, len(bulk)+3, rep.RecipientCount)
	require.Equal(t, len(bulk)+3, rep.InApp)
	require.Equal(t, 1, rep.Read)
	require.Equal(t, len(bulk)+1, rep.NotReached)
	require.Equal(t, whitecross.ChannelProgress{Pending: len(bulk), Failed: 1, FellBack: 2}, rep.Channels[whitecross.ChannelEmail])
	require.Equal(t, whitecross.ChannelProgress{Pending: len(bulk) + 1, Sent: 1, Failed: 1}, rep.Channels[whitecross.ChannelSMS])

	var seen []*whitecross.Unreached
	for cursor := ""; ; {
		page, err := b.st.Unreached(ctx, m.ID, cursor, 100)
		require.NoError(t, err)
		seen = append(seen, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Len(t, seen, len(bulk)+1)
	for _, u := range seen {
		want := "EMAIL: waiting to be sent."
		if u.UserID == d.AnnexParent.ID {
			want = "EMAIL: address rejected"
		}
		require.Equal(t, want, u.Reason, d.Labels[u.UserID])
	}

	var rows []*whitecross.DeliveryRow
	require.NoError(t, b.st.ExportDeliveries(ctx, m.ID, func(r *whitecross.DeliveryRow) error {
		rows = append(rows, r)
		return nil
	}))
	require.Len(t, rows, 3*(len(bulk)+3), "every recipient and channel, across pages")
	for i := 1; i < len(rows); i++ {
		prev, cur := rows[i-1], rows[i]
		require.True(t, prev.RecipientID < cur.RecipientID || (prev.RecipientID == cur.RecipientID && prev.Channel < cur.Channel), "ordered, never repeated")
	}
	for _, r := range rows {
		if r.RecipientID == b.kParent.ID {
			require.NotNil(t, r.ReadAt)
		}
	}

	// Only the sender and admins: a recipient is refused, others see nothing.
	_, err = b.st.Report(d.As(d.LincolnParent), m.ID)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.Report(d.As(d.WashingtonNurse), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	err = b.st.ExportDeliveries(d.As(d.LincolnNurse), m.ID, func(*whitecross.DeliveryRow) error { return nil })
	requireCode(t, err, whitecross.ENOTFOUND, "")
}
