package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
)

func testSendValidation(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	now := b.clock.Now()
	before := sendCounts(t, b.db)
	valid := func() *whitecross.MessageCreate { return msg("Hello", d.LincolnParent) }
	ptr := func(tm time.Time) *time.Time { return &tm }
	manyIDs := make([]string, whitecross.MaxRecipientIDs+1)
	for i := range manyIDs {
		manyIDs[i] = uuid.NewString()
	}
	manyGroups := make([]string, whitecross.MaxGroupIDs+1)
	for i := range manyGroups {
		manyGroups[i] = uuid.NewString()
	}
	att := func(url, name string) []whitecross.Attachment {
		return []whitecross.Attachment{{URL: "https://x.example/a", Name: "a"}, {URL: url, Name: name}}
	}
	tests := []struct {
		name   string
		edit   func(in *whitecross.MessageCreate)
		field  string
		code   string
		echoes string // a value the error must not carry
	}{
		{"no subject", func(in *whitecross.MessageCreate) { in.Subject = "   " }, "body.subject", whitecross.EINVALID, ""},
		{"long subject", func(in *whitecross.MessageCreate) { in.Subject = strings.Repeat("é", 201) }, "body.subject", whitecross.EINVALID, "é"},
		{"two-line subject", func(in *whitecross.MessageCreate) { in.Subject = "a\nb" }, "body.subject", whitecross.EINVALID, ""},
		{"no body", func(in *whitecross.MessageCreate) { in.Body = " \n\t" }, "body.body", whitecross.EINVALID, ""},
		{"long body", func(in *whitecross.MessageCreate) { in.Body = strings.Repeat("ü", 20001) }, "body.body", whitecross.EINVALID, "ü"},
		{"bad format", func(in *whitecross.MessageCreate) { in.BodyFormat = "HTML" }, "body.body_format", whitecross.EINVALID, ""},
		{"bad category", func(in *whitecross.MessageCreate) { in.Category = "GOSSIP" }, "body.category", whitecross.EINVALID, ""},
		{"bad priority", func(in *whitecross.MessageCreate) { in.Priority = "ASAP" }, "body.priority", whitecross.EINVALID, ""},
		{"bad channel", func(in *whitecross.MessageCreate) { in.Channels = []whitecross.Channel{"EMAIL", "FAX"} }, "body.channels[1]", whitecross.EINVALID, ""},
		{"too many attachments", func(in *whitecross.MessageCreate) {
			in.Attachments = make([]whitecross.Attachment, 11)
		}, "body.attachments", whitecross.EINVALID, ""},
		{"http attachment", func(in *whitecross.MessageCreate) { in.Attachments = att("http://x.example/b", "b") }, "body.attachments[1].url", whitecross.EINVALID, ""},
		{"relative attachment", func(in *whitecross.MessageCreate) { in.Attachments = att("/b.pdf", "b") }, "body.attachments[1].url", whitecross.EINVALID, ""},
		{"hostless attachment", func(in *whitecross.MessageCreate) { in.Attachments = att("https:///b.pdf", "b") }, "body.attachments[1].url", whitecross.EINVALID, ""},
		{"attachment with password", func(in *whitecross.MessageCreate) { in.Attachments = att("https://u:secret@x.example/b", "b") }, "body.attachments[1].url", whitecross.EINVALID, "secret"},
		{"long attachment url", func(in *whitecross.MessageCreate) {
			in.Attachments = att("https://x.example/"+strings.Repeat("a", 2048), "b")
		}, "body.attachments[1].url", whitecross.EINVALID, ""},
		{"no attachment name", func(in *whitecross.MessageCreate) { in.Attachments = att("https://x.example/b", " ") }, "body.attachments[1].name", whitecross.EINVALID, ""},
		{"long attachment name", func(in *whitecross.MessageCreate) {
			in.Attachments = att("https://x.example/b", strings.Repeat("n", 256))
		}, "body.attachments[1].name", whitecross.EINVALID, ""},
		{"no recipients", func(in *whitecross.MessageCreate) { in.RecipientIDs = nil }, "body.recipient_ids", whitecross.EINVALID, ""},
		{"too many recipients", func(in *whitecross.MessageCreate) { in.RecipientIDs = manyIDs }, "body.recipient_ids", whitecross.EINVALID, ""},
		{"too many groups", func(in *whitecross.MessageCreate) { in.GroupIDs = manyGroups }, "body.group_ids", whitecross.EINVALID, ""},
		{"malformed recipient", func(in *whitecross.MessageCreate) {
			in.RecipientIDs = []string{d.LincolnStaff.ID, "nope"}
		}, "body.recipient_ids[1]", whitecross.EINVALID, ""},
		{"malformed group", func(in *whitecross.MessageCreate) { in.GroupIDs = []string{"nope"} }, "body.group_ids[0]", whitecross.EINVALID, ""},
		{"unknown group", func(in *whitecross.MessageCreate) { in.GroupIDs = []string{uuid.NewString()} }, "body.group_ids[0]", whitecross.EINVALID, ""},
		{"too far ahead", func(in *whitecross.MessageCreate) { in.ScheduledAt = ptr(now.AddDate(1, 0, 1)) }, "body.scheduled_at", whitecross.EINVALID, ""},
		{"long idempotency key", func(in *whitecross.MessageCreate) { in.IdempotencyKey = strings.Repeat("k", 256) }, "header.Idempotency-Key", whitecross.EINVALID, ""},
		{"only the sender", func(in *whitecross.MessageCreate) { in.RecipientIDs = []string{d.LincolnNurse.ID} }, "body.recipient_ids", whitecross.EINVALID, ""},
	}
	for _, tc := range tests {
		in := valid()
		tc.edit(in)
		_, err := b.st.SendMessage(d.As(d.LincolnNurse), in)
		requireCode(t, err, tc.code, tc.field)
		if tc.echoes != "" {
			require.NotContains(t, err.Error(), tc.echoes, tc.name)
		}
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused message stores nothing")
	require.Empty(t, b.queue.take(), "a refused message enqueues nothing")

	// The limits themselves are accepted; a time in the past sends now.
	in := valid()
	in.Subject = strings.Repeat("é", 200)
	in.Body = strings.Repeat("ü", 20000)
	in.Attachments = make([]whitecross.Attachment, 10)
	for i := range in.Attachments {
		in.Attachments[i] = whitecross.Attachment{URL: "https://x.example/" + strings.Repeat("a", 2048-len("https://x.example/")), Name: strings.Repeat("n", 255)}
	}
	in.ScheduledAt = ptr(now.Add(-time.Hour))
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, whitecross.MessageSent, m.Status)
	require.Nil(t, m.ScheduledAt)
	require.Equal(t, in.Subject, m.Subject)
	require.Len(t, m.Attachments, 10)
	in = valid()
	in.ScheduledAt = ptr(now.AddDate(1, 0, 0))
	require.Equal(t, whitecross.MessageScheduled, b.send(t, d.LincolnNurse, in).Status)
}

func testSendRefusals(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	g := &whitecross.Group{Name: "Shelbyville staff", MemberIDs: to(other.LincolnStaff)}
	require.NoError(t, b.st.CreateGroup(other.As(other.Admin), g))
	before := sendCounts(t, b.db)
	tests := []struct {
		name  string
		from  *whitecross.User
		ids   []string
		code  string
		field string
	}{
		{"out of reach", d.LincolnNurse, to(d.LincolnStaff, d.WashingtonParent, d.AnnexStaff), whitecross.EFORBIDDEN, "body.recipient_ids[1]"},
		{"non-custodial parent", d.LincolnNurse, to(d.NonCustodialParent), whitecross.EFORBIDDEN, "body.recipient_ids[0]"},
		{"guardian to another school", d.LincolnParent, to(d.LincolnNurse, d.WashingtonNurse), whitecross.EFORBIDDEN, "body.recipient_ids[1]"},
		{"guardian to guardian", d.LincolnParent, to(d.AnnexParent), whitecross.EFORBIDDEN, "body.recipient_ids[0]"},
		{"unknown user", d.LincolnNurse, []string{d.LincolnStaff.ID, uuid.NewString()}, whitecross.EINVALID, "body.recipient_ids[1]"},
		{"other tenant", d.Admin, []string{d.LincolnStaff.ID, other.LincolnStaff.ID}, whitecross.EINVALID, "body.recipient_ids[1]"},
		{"deactivated", d.LincolnNurse, to(d.LincolnStaff, d.FormerStaff), whitecross.EINVALID, "body.recipient_ids[1]"},
		// An unknown id is reported before one out of reach, wherever it is.
		{"unknown after forbidden", d.LincolnNurse, []string{d.WashingtonNurse.ID, uuid.NewString()}, whitecross.EINVALID, "body.recipient_ids[1]"},
		// A repeat is named at its first position.
		{"repeated", d.LincolnNurse, to(d.WashingtonNurse, d.LincolnStaff, d.WashingtonNurse), whitecross.EFORBIDDEN, "body.recipient_ids[0]"},
	}
	for _, tc := range tests {
		in := &whitecross.MessageCreate{Subject: "Private", Body: "Content", RecipientIDs: tc.ids, IdempotencyKey: "k-" + tc.name}
		_, err := b.st.SendMessage(d.As(tc.from), in)
		requireCode(t, err, tc.code, tc.field)
		require.NotContains(t, err.Error(), "Private", tc.name)
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused message stores nothing")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM tenant_keys`), "not even a data key")
	require.Empty(t, b.queue.take())

	// Another tenant's group is unknown too.
	_, err := b.st.SendMessage(d.As(d.Admin), &whitecross.MessageCreate{Subject: "s", Body: "b", GroupIDs: []string{g.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.group_ids[0]")
	require.Equal(t, before, sendCounts(t, b.db))
}

func testSendGroups(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	sys := d.System()
	sender := d.LincolnAdmin
	lincoln := &whitecross.Group{Name: "Lincoln staff", MemberIDs: to(d.LincolnStaff, d.AnnexStaff, d.LincolnNurse, d.LincolnAdmin)}
	require.NoError(t, b.st.CreateGroup(d.As(sender), lincoln))
	parents := &whitecross.Group{Name: "Lincoln parents", MemberIDs: to(d.LincolnParent, d.AnnexParent)}
	require.NoError(t, b.st.CreateGroup(d.As(sender), parents))

	// Groups and ids combine without repeats and without the sender.
	m := b.send(t, sender, &whitecross.MessageCreate{Subject: "All hands", Body: "b",
		RecipientIDs: to(d.LincolnStaff, d.DistrictNurse), GroupIDs: []string{lincoln.ID, parents.ID, strings.ToUpper(lincoln.ID)}})
	require.Equal(t, 6, m.RecipientCount)
	require.ElementsMatch(t, to(d.LincolnStaff, d.DistrictNurse, d.AnnexStaff, d.LincolnNurse, d.LincolnParent, d.AnnexParent), m.RecipientIDs)
	for _, u := range []*whitecross.User{d.AnnexStaff, d.AnnexParent} {
		_, err := b.st.FindMessageByID(d.As(u), m.ID)
		require.NoError(t, err, d.Labels[u.ID])
	}

	// Members who left (deactivated) or moved out of reach are left out
	// silently; the creator still sees the group.
	require.NoError(t, b.st.DeactivateUser(sys, d.AnnexStaff.ID))
	washington := []string{d.Washington.ID}
	_, err := b.st.UpdateUser(sys, d.LincolnStaff.ID, &whitecross.UserUpdate{LocationIDs: &washington})
	require.NoError(t, err)
	m = b.send(t, sender, &whitecross.MessageCreate{Subject: "Again", Body: "b", GroupIDs: []string{lincoln.ID}})
	require.Equal(t, []string{d.LincolnNurse.ID}, m.RecipientIDs)

	// A group the caller may not message is unknown; a group with nobody
	// left is refused.
	self := &whitecross.Group{Name: "Just me", MemberIDs: to(d.LincolnNurse)}
	require.NoError(t, b.st.CreateGroup(d.As(d.Admin), self))
	before := sendCounts(t, b.db)
	_, err = b.st.SendMessage(d.As(d.WashingtonNurse), &whitecross.MessageCreate{Subject: "s", Body: "b", GroupIDs: []string{parents.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.group_ids[0]")
	_, err = b.st.SendMessage(d.As(d.LincolnParent), &whitecross.MessageCreate{Subject: "s", Body: "b", GroupIDs: []string{parents.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.group_ids[0]")
	_, err = b.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "s", Body: "b", GroupIDs: []string{self.ID}})
	requireCode(t, err, whitecross.EINVALID, "body.recipient_ids")
	require.Equal(t, before, sendCounts(t, b.db))
}
