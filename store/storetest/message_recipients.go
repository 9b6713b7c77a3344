package storetest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// testMessageRecipients: a message's detail carries the first
// MaxDetailRecipientIDs recipient ids (and the total), and the recipients
// listing pages through all of them by id, each with its receipt, for the
// sender only.
func testMessageRecipients(t *testing.T, open Opener) {
	b := setupAudience(t, open, false)
	d := b.d
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Washington.ID, whitecross.MaxDetailRecipientIDs+150)
	m := b.send(t, d.Admin, &whitecross.MessageCreate{Subject: "Staff meeting", Body: "b", RecipientIDs: bulk})
	b.dispatchAll(t, m.ID)
	reader := slices.Min(bulk)
	execSQL(t, b.db, `UPDATE message_recipients SET first_read_at = $1 WHERE message_id = $2 AND user_id = $3`,
		b.clock.Now(), m.ID, reader)

	ctx := d.As(d.Admin)
	got, err := b.st.FindMessageByID(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, len(bulk), got.RecipientCount)
	sorted := slices.Sorted(slices.Values(bulk))
	require.Equal(t, sorted[:whitecross.MaxDetailRecipientIDs], got.RecipientIDs, "the first ids, by id")

	var seen []*whitecross.Receipt
	pages := 0
	for cursor := ""; ; pages++ {
		page, err := b.st.Recipients(ctx, m.ID, cursor, 100)
		require.NoError(t, err)
		seen = append(seen, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	require.Equal(t, (len(bulk)+99)/100-1, pages)
	ids := make([]string, len(seen))
	for i, r := range seen {
		ids[i] = r.UserID
		require.NotNil(t, r.DeliveredAt)
		require.Equal(t, whitecross.RoleStaff, r.Role)
		require.Equal(t, r.UserID == reader, r.ReadAt != nil)
	}
	require.Equal(t, sorted, ids, "every recipient once, by id")

	_, err = b.st.Recipients(ctx, m.ID, "not-a-cursor", 10)
	require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err))
	_, err = b.st.Recipients(d.As(d.LincolnParent), m.ID, "", 10)
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "not the sender's, not an admin")
}
