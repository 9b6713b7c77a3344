package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// senderView is what the sender of m sees of its read state: the read
// count of the message (detail and sent box alike) and each recipient's
// receipt time by user id.
func senderView(t *testing.T, b *readBundle, sender *whitecross.User, m *whitecross.Message) (detail, listed int, receipts map[string]*time.Time) {
	t.Helper()
	got, err := b.st.FindMessageByID(b.d.As(sender), m.ID)
	require.NoError(t, err)
	require.NotNil(t, got.ReadCount)
	listed = -1
	for _, item := range listAllMessages(t, b, sender, whitecross.MessageFilter{Box: whitecross.BoxSent}) {
		if item.ID == m.ID {
			require.NotNil(t, item.ReadCount)
			listed = *item.ReadCount
		}
	}
	rs, err := b.st.Receipts(b.d.As(sender), m.ID)
	require.NoError(t, err)
	receipts = map[string]*time.Time{}
	for _, r := range rs {
		receipts[r.UserID] = r.ReadAt
	}
	return *got.ReadCount, listed, receipts
}

// testReadReceiptsStay: a read receipt records that the person read the
// message and never goes back. Marking it unread changes only the reader's
// own box (read_at, the unread filter and count); the sender keeps "read by
// 1" and the first read time, and reading it again changes neither.
func testReadReceiptsStay(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	m := b.send(t, d.LincolnNurse, "Hearing screening", d.LincolnParent)
	p := d.As(d.LincolnParent)

	b.clock.Advance(time.Minute)
	first := b.clock.Now()
	require.NoError(t, b.st.SetRead(p, m.ID, true))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SetRead(p, m.ID, false))

	detail, listed, receipts := senderView(t, b, d.LincolnNurse, m)
	require.Equal(t, 1, detail, "marking unread does not take the receipt back")
	require.Equal(t, 1, listed)
	require.NotNil(t, receipts[d.LincolnParent.ID])
	require.True(t, receipts[d.LincolnParent.ID].Equal(first))
	// The reader's own box says unread.
	own, err := b.st.FindMessageByID(p, m.ID)
	require.NoError(t, err)
	require.Nil(t, own.ReadAt)
	requireList(t, b, d.LincolnParent, whitecross.MessageFilter{Unread: true}, m.ID)
	counts, err := b.st.CountMessages(p)
	require.NoError(t, err)
	require.Equal(t, 1, counts[whitecross.BoxInbox].Unread)

	// Reading again is the reader's box state; the receipt keeps its time.
	b.clock.Advance(time.Minute)
	again := b.clock.Now()
	require.NoError(t, b.st.SetRead(p, m.ID, true))
	own, err = b.st.FindMessageByID(p, m.ID)
	require.NoError(t, err)
	require.True(t, own.ReadAt.Equal(again))
	detail, listed, receipts = senderView(t, b, d.LincolnNurse, m)
	require.Equal(t, []int{1, 1}, []int{detail, listed})
	require.True(t, receipts[d.LincolnParent.ID].Equal(first), "the receipt is the first read")
}

// testReadReplyIsReading: a recipient who replies has read the message,
// whether or not they marked it read, and it reads as read in their box.
func testReadReplyIsReading(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	m := b.send(t, d.LincolnNurse, "Permission slip", d.LincolnParent, d.AnnexParent)

	b.clock.Advance(time.Minute)
	at := b.clock.Now()
	_, err := b.st.Reply(d.As(d.AnnexParent), m.ID, &whitecross.ReplyCreate{Body: "Signed."})
	require.NoError(t, err)

	detail, listed, receipts := senderView(t, b, d.LincolnNurse, m)
	require.Equal(t, []int{1, 1}, []int{detail, listed}, "a reply counts as reading")
	require.NotNil(t, receipts[d.AnnexParent.ID])
	require.True(t, receipts[d.AnnexParent.ID].Equal(at))
	require.Nil(t, receipts[d.LincolnParent.ID])
	own, err := b.st.FindMessageByID(d.As(d.AnnexParent), m.ID)
	require.NoError(t, err)
	require.NotNil(t, own.ReadAt)
	require.True(t, own.ReadAt.Equal(at))

	// A second reply, after marking it unread, keeps the first receipt and
	// marks it read again in the replier's box.
	require.NoError(t, b.st.SetRead(d.As(d.AnnexParent), m.ID, false))
	b.clock.Advance(time.Minute)
	_, err = b.st.Reply(d.As(d.AnnexParent), m.ID, &whitecross.ReplyCreate{Body: "And a question."})
	require.NoError(t, err)
	detail, _, receipts = senderView(t, b, d.LincolnNurse, m)
	require.Equal(t, 1, detail)
	require.True(t, receipts[d.AnnexParent.ID].Equal(at))
	own, err = b.st.FindMessageByID(d.As(d.AnnexParent), m.ID)
	require.NoError(t, err)
	require.True(t, own.ReadAt.Equal(b.clock.Now()))

	// The sender's reply to a one-to-one message reads nothing for them.
	one := b.send(t, d.LincolnNurse, "Follow-up", d.LincolnParent)
	_, err = b.st.Reply(d.As(d.LincolnNurse), one.ID, &whitecross.ReplyCreate{Body: "One more thing."})
	require.NoError(t, err)
	detail, _, _ = senderView(t, b, d.LincolnNurse, one)
	require.Equal(t, 0, detail)
}
