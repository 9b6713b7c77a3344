package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

func testSendReplies(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	ctx := context.Background()

	// A recipient's reply to a broadcast goes to its sender only.
	in := msg("Flu clinic", d.LincolnParent, d.AnnexParent, d.LincolnStaff)
	in.Category, in.Priority, in.Sensitive = whitecross.CategoryImmunization, whitecross.PriorityHigh, new(true)
	in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
	root := b.send(t, d.LincolnNurse, in)
	b.clock.Advance(time.Minute)
	r, err := b.st.Reply(d.As(d.LincolnParent), root.ID, &whitecross.ReplyCreate{Body: "Can Lily go at 10?", BodyFormat: whitecross.BodyMarkdown})
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnNurse.ID}, r.RecipientIDs)
	require.Equal(t, 1, r.RecipientCount)
	require.Equal(t, root.ID, r.ThreadID)
	require.Equal(t, root.ID, *r.ReplyToID)
	require.Equal(t, d.LincolnParent.ID, r.Sender.ID)
	require.Equal(t, "Re: Flu clinic", r.Subject)
	require.Equal(t, "Can Lily go at 10?", r.Body)
	require.Equal(t, whitecross.BodyMarkdown, r.BodyFormat)
	require.Equal(t, whitecross.CategoryImmunization, r.Category)
	require.Equal(t, whitecross.PriorityHigh, r.Priority)
	require.True(t, r.Sensitive)
	require.Equal(t, []whitecross.Channel{whitecross.ChannelInApp}, r.Channels)
	require.Equal(t, whitecross.MessageSent, r.Status, "replies are dispatched inline, even with a queue")
	require.Empty(t, b.queue.take())
	got, err := b.st.FindMessageByID(d.As(d.LincolnNurse), r.ID)
	require.NoError(t, err)
	require.Equal(t, "Can Lily go at 10?", got.Body)
	for _, u := range []*whitecross.User{d.AnnexParent, d.LincolnStaff} {
		_, err := b.st.FindMessageByID(d.As(u), r.ID)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	var detail string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT detail FROM audit_events WHERE action = $1 AND target_id = $2`,
		whitecross.AuditMessageSent, r.ID).Scan(&detail))
	require.Contains(t, detail, `"reply":"true"`)
	require.NotContains(t, detail, "Lily")

	// The sender may not answer a broadcast with a reply.
	_, err = b.st.Reply(d.As(d.LincolnNurse), root.ID, &whitecross.ReplyCreate{Body: "x"})
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Contains(t, err.Error(), "3 people")

	// The sender answers the reply (one-to-one); "Re:" is not doubled and
	// the thread stays the root's.
	r2, err := b.st.Reply(d.As(d.LincolnNurse), r.ID, &whitecross.ReplyCreate{Body: "Yes."})
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnParent.ID}, r2.RecipientIDs)
	require.Equal(t, "Re: Flu clinic", r2.Subject)
	require.Equal(t, root.ID, r2.ThreadID)
	require.Equal(t, r.ID, *r2.ReplyToID)
	r3, err := b.st.Reply(d.As(d.LincolnParent), r2.ID, &whitecross.ReplyCreate{Body: "Thanks!"})
	require.NoError(t, err)
	require.Equal(t, root.ID, r3.ThreadID)
	require.Equal(t, []string{d.LincolnNurse.ID}, r3.RecipientIDs)

	// The sender of a one-to-one message replies to its recipient; subjects
	// are cut to the limit.
	long := strings.Repeat("s", whitecross.MaxSubjectChars)
	one := b.send(t, d.LincolnNurse, msg(long, d.LincolnStaff))
	r4, err := b.st.Reply(d.As(d.LincolnNurse), one.ID, &whitecross.ReplyCreate{Body: "Follow-up"})
	require.NoError(t, err)
	require.Equal(t, []string{d.LincolnStaff.ID}, r4.RecipientIDs)
	require.Equal(t, "Re: "+long[:whitecross.MaxSubjectChars-4], r4.Subject)
	re := b.send(t, d.LincolnNurse, msg("RE: already", d.LincolnStaff))
	r5, err := b.st.Reply(d.As(d.LincolnStaff), re.ID, &whitecross.ReplyCreate{Body: "ok"})
	require.NoError(t, err)
	require.Equal(t, "RE: already", r5.Subject)
}

func testSendReplyRules(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	reply := &whitecross.ReplyCreate{Body: "Reply"}

	// Replying needs no reach: the ADMIN has no location, so a guardian
	// could not write to them, but may answer them.
	m := b.send(t, d.Admin, msg("District notice", d.LincolnParent))
	_, err := b.st.SendMessage(d.As(d.LincolnParent), msg("x", d.Admin))
	requireCode(t, err, whitecross.EFORBIDDEN, "body.recipient_ids[0]")
	r, err := b.st.Reply(d.As(d.LincolnParent), m.ID, reply)
	require.NoError(t, err)
	require.Equal(t, []string{d.Admin.ID}, r.RecipientIDs)

	before := sendCounts(t, b.db)
	// Invalid body, unknown message, someone who cannot see it, an admin
	// who can see it but is not part of it.
	_, err = b.st.Reply(d.As(d.LincolnParent), m.ID, &whitecross.ReplyCreate{Body: " "})
	requireCode(t, err, whitecross.EINVALID, "body.body")
	_, err = b.st.Reply(d.As(d.LincolnParent), m.ID, &whitecross.ReplyCreate{Body: "x", BodyFormat: "HTML"})
	requireCode(t, err, whitecross.EINVALID, "body.body_format")
	_, err = b.st.Reply(d.As(d.LincolnParent), "nope", reply)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Reply(d.As(d.AnnexParent), m.ID, reply)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	require.Equal(t, before, sendCounts(t, b.db))
	nurseMsg := b.send(t, d.LincolnNurse, msg("Private", d.LincolnParent))
	before = sendCounts(t, b.db)
	_, err = b.st.Reply(d.As(d.Admin), nurseMsg.ID, reply)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.Reply(d.System(), nurseMsg.ID, reply)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	require.Equal(t, before, sendCounts(t, b.db))

	// A scheduled message cannot be answered yet, by anyone.
	at := b.clock.Now().Add(time.Hour)
	in := msg("Later", d.LincolnParent)
	in.ScheduledAt = &at
	sched := b.send(t, d.LincolnNurse, in)
	b.queue.take()
	before = sendCounts(t, b.db)
	_, err = b.st.Reply(d.As(d.LincolnNurse), sched.ID, reply)
	requireCode(t, err, whitecross.ECONFLICT, "")
	_, err = b.st.Reply(d.As(d.LincolnParent), sched.ID, reply)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	require.Equal(t, before, sendCounts(t, b.db))

	// The other party left.
	require.NoError(t, b.st.DeactivateUser(d.System(), d.LincolnNurse.ID))
	before = sendCounts(t, b.db)
	_, err = b.st.Reply(d.As(d.LincolnParent), nurseMsg.ID, reply)
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Equal(t, before, sendCounts(t, b.db), "refused replies store nothing")
}

// testSendTenThousand sends to 10,000 recipient ids (the limit) through a
// queue: the send is accepted (SENDING) with every recipient stored and one
// job, and the time it took is logged.
func testSendTenThousand(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Lincoln.ID, whitecross.MaxRecipientIDs)
	in := &whitecross.MessageCreate{Subject: "District-wide", Body: "b", RecipientIDs: bulk}
	start := time.Now()
	m := b.send(t, d.DistrictNurse, in)
	elapsed := time.Since(start)
	t.Logf("%s: 10,000-recipient send accepted in %v", b.db.Dialect, elapsed)
	require.Equal(t, whitecross.MessageSending, m.Status)
	require.Equal(t, whitecross.MaxRecipientIDs, m.RecipientCount)
	require.Equal(t, whitecross.MaxRecipientIDs, sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1`, m.ID))
	require.Len(t, b.queue.take(), 1)
	// No time bound: under -race the pure-Go SQLite is tens of times
	// slower. BenchmarkSend measures the real figure.
}
