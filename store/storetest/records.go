package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// exerciseRecords is the conformance suite of a student's record: the
// students a message is about, the student's communication log and the
// accounting of disclosures.
func exerciseRecords(t *testing.T, open Opener) {
	tests := []subtest{
		{"SendStudentIDs", testRecordsSend},
		{"SendStudentIDsRefused", testRecordsSendRefused},
		{"LogWhoSeesWhat", testRecordsLog},
		{"LogPagesAndAudit", testRecordsLogPages},
		{"Disclosures", testRecordsDisclosures},
		{"DisclosuresRefused", testRecordsDisclosuresRefused},
	}
	runSubtests(t, open, tests)
}

// about is msg about students.
func about(subject string, students []*whitecross.Student, users ...*whitecross.User) *whitecross.MessageCreate {
	in := msg(subject, users...)
	for _, st := range students {
		in.StudentIDs = append(in.StudentIDs, st.ID)
	}
	return in
}

// studentLog reads one page of the student's log as u.
func (b *sendBundle) studentLog(t *testing.T, u *whitecross.User, st *whitecross.Student) []string {
	t.Helper()
	page, err := b.st.StudentMessages(b.d.As(u), st.ID, "", 100)
	require.NoError(t, err, "%s", b.d.Labels[u.ID])
	return messageIDs(page.Items)
}

func testRecordsSend(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	lily := d.LincolnStudent
	// Named twice and in upper case: stored once, canonical.
	in := about("Lily's inhaler", []*whitecross.Student{lily}, d.LincolnParent)
	in.StudentIDs = append(in.StudentIDs, strings.ToUpper(lily.ID))
	m := b.send(t, d.LincolnNurse, in)
	require.Equal(t, []string{lily.ID}, m.StudentIDs)

	// Every read carries them: detail, box, thread, realtime frames.
	got, err := b.st.FindMessageByID(d.As(d.LincolnParent), m.ID)
	require.NoError(t, err)
	require.Equal(t, []string{lily.ID}, got.StudentIDs)
	page, err := b.st.ListMessages(d.As(d.LincolnParent), whitecross.MessageFilter{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, []string{lily.ID}, page.Items[0].StudentIDs)
	frame, err := b.st.EventMessage(context.Background(), d.Tenant.ID, m.ID, false)
	require.NoError(t, err)
	require.Equal(t, []string{lily.ID}, frame.StudentIDs)

	// A reply carries the students of the message it answers.
	r, err := b.st.Reply(d.As(d.LincolnParent), m.ID, &whitecross.ReplyCreate{Body: "Thanks"})
	require.NoError(t, err)
	require.Equal(t, []string{lily.ID}, r.StudentIDs)
	thread, err := b.st.Thread(d.As(d.LincolnNurse), m.ID)
	require.NoError(t, err)
	require.Len(t, thread, 2)
	for _, tm := range thread {
		require.Equal(t, []string{lily.ID}, tm.StudentIDs)
	}

	// A message about nobody says so with [].
	plain := b.send(t, d.LincolnNurse, msg("Field trip", d.LincolnParent))
	require.NotNil(t, plain.StudentIDs)
	require.Empty(t, plain.StudentIDs)

	// A broadcast may be about students too.
	bc := &whitecross.MessageCreate{Subject: "Lice check", Body: "Grade 3", StudentIDs: []string{lily.ID, d.AnnexStudent.ID},
		Audience: &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}}
	sent := b.send(t, d.LincolnNurse, bc)
	require.ElementsMatch(t, []string{lily.ID, d.AnnexStudent.ID}, sent.StudentIDs)
}

func testRecordsSendRefused(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	before := sendCounts(t, b.db)
	tooMany := make([]*whitecross.Student, whitecross.MaxStudentIDs+1)
	for i := range tooMany {
		tooMany[i] = d.LincolnStudent
	}
	cases := []struct {
		name     string
		from     *whitecross.User
		to       *whitecross.User
		students []string
		field    string
	}{
		{"another school's student", d.LincolnNurse, d.LincolnParent, []string{d.LincolnStudent.ID, d.WashingtonStudent.ID}, "body.student_ids[1]"},
		{"another district's student", d.LincolnNurse, d.LincolnParent, []string{other.LincolnStudent.ID}, "body.student_ids[0]"},
		{"no such student", d.LincolnNurse, d.LincolnParent, []string{"0190a0a0-0000-7000-8000-000000000001"}, "body.student_ids[0]"},
		{"not a uuid", d.LincolnNurse, d.LincolnParent, []string{"lily"}, "body.student_ids[0]"},
		{"a guardian about another's child", d.LincolnParent, d.LincolnNurse, []string{d.AnnexStudent.ID}, "body.student_ids[0]"},
		{"a non-custodial contact", d.NonCustodialParent, d.LincolnNurse, []string{d.LincolnStudent.ID}, "body.student_ids[0]"},
		{"a nurse of another school", d.WashingtonNurse, d.WashingtonParent, []string{d.AnnexStudent.ID}, "body.student_ids[0]"},
		{"too many", d.LincolnNurse, d.LincolnParent, about("x", tooMany).StudentIDs, "body.student_ids"},
	}
	for _, tc := range cases {
		in := msg("About "+tc.name, tc.to)
		in.StudentIDs = tc.students
		_, err := b.st.SendMessage(d.As(tc.from), in)
		requireCode(t, err, whitecross.EINVALID, tc.field)
		// The same words for every student the caller may not see.
		if tc.field != "body.student_ids" {
			require.Contains(t, err.Error(), "Student not found.", tc.name)
		}
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused send stores nothing")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM message_students`))
}

// logWorld is the messages of testRecordsLog: m1 to the Lincoln parent
// about Lily (sensitive), the parent's reply r1, m2 to Lincoln staff about
// Lily, m3 to the parent about nobody, m4 to the Annex parent about Andy,
// and in another district a message about its own Lily.
type logWorld struct {
	b                  *sendBundle
	m1, r1, m2, m3, m4 *whitecross.Message
	other              *District
}

func setupLog(t *testing.T, open Opener) *logWorld {
	b := setupSend(t, open, false)
	d := b.d
	w := &logWorld{b: b}
	lily := []*whitecross.Student{d.LincolnStudent}
	in := about("Lily's medication", lily, d.LincolnParent)
	in.Category = whitecross.CategoryMedication
	w.m1 = b.send(t, d.LincolnNurse, in)
	b.clock.Advance(time.Minute)
	var err error
	w.r1, err = b.st.Reply(d.As(d.LincolnParent), w.m1.ID, &whitecross.ReplyCreate{Body: "Noted"})
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	w.m2 = b.send(t, d.LincolnNurse, about("Lily in class", lily, d.LincolnStaff))
	w.m3 = b.send(t, d.LincolnNurse, msg("Field trip", d.LincolnParent))
	w.m4 = b.send(t, d.LincolnNurse, about("Andy's cast", []*whitecross.Student{d.AnnexStudent}, d.AnnexParent))
	w.other = SeedDistrictSlug(t, b.st, "shelbyville")
	_, err = b.st.SendMessage(w.other.As(w.other.LincolnNurse), about("Their Lily", []*whitecross.Student{w.other.LincolnStudent}, w.other.LincolnParent))
	require.NoError(t, err)
	return w
}

func testRecordsLog(t *testing.T, open Opener) {
	w := setupLog(t, open)
	b, d := w.b, w.b.d
	all := []string{w.m2.ID, w.r1.ID, w.m1.ID}
	for _, u := range []*whitecross.User{d.Admin, d.LincolnNurse, d.DistrictNurse, d.LincolnAdmin} {
		require.Equal(t, all, b.studentLog(t, u, d.LincolnStudent), "%s keeps the record", d.Labels[u.ID])
	}
	require.Equal(t, []string{w.m2.ID}, b.studentLog(t, d.LincolnStaff, d.LincolnStudent), "staff: what they received")
	require.Equal(t, []string{w.r1.ID, w.m1.ID}, b.studentLog(t, d.LincolnParent, d.LincolnStudent), "guardian: what they sent or received")
	require.Equal(t, []string{w.m4.ID}, b.studentLog(t, d.AnnexParent, d.AnnexStudent))
	require.Equal(t, []string{}, b.studentLog(t, d.AnnexStaff, d.AnnexStudent), "staff who see the student but received nothing")

	// The log carries the full content, the sensitive body included.
	page, err := b.st.StudentMessages(d.As(d.DistrictNurse), d.LincolnStudent.ID, "", 10)
	require.NoError(t, err)
	first := page.Items[2]
	require.True(t, first.Sensitive)
	require.Equal(t, "Body of Lily's medication", first.Body)
	require.Equal(t, []string{d.LincolnStudent.ID}, first.StudentIDs)

	// A student the caller may not see is 404, alike for every reason.
	for _, tc := range []struct {
		u  *whitecross.User
		id string
	}{
		{d.WashingtonNurse, d.LincolnStudent.ID},
		{d.AnnexStaff, d.LincolnStudent.ID},
		{d.NonCustodialParent, d.LincolnStudent.ID},
		{d.AnnexParent, d.LincolnStudent.ID},
		{d.Admin, w.other.LincolnStudent.ID},
		{d.Admin, "not-a-uuid"},
	} {
		_, err := b.st.StudentMessages(d.As(tc.u), tc.id, "", 10)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
}

func testRecordsLogPages(t *testing.T, open Opener) {
	w := setupLog(t, open)
	b, d := w.b, w.b.d
	ctx := d.As(d.Admin)
	p1, err := b.st.StudentMessages(ctx, d.LincolnStudent.ID, "", 2)
	require.NoError(t, err)
	require.Equal(t, []string{w.m2.ID, w.r1.ID}, messageIDs(p1.Items))
	require.NotEmpty(t, p1.NextCursor)
	ev := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditMessageRead, ev.Action)
	require.Equal(t, "student", ev.TargetType)
	require.Equal(t, d.LincolnStudent.ID, ev.TargetID)
	require.Equal(t, d.Admin.ID, ev.ActorID)
	require.Equal(t, w.m2.ID+","+w.r1.ID, ev.Detail["message_ids"])

	// A message sent while paging shows on a fresh first page only.
	late := b.send(t, d.LincolnNurse, about("Later", []*whitecross.Student{d.LincolnStudent}, d.LincolnParent))
	p2, err := b.st.StudentMessages(ctx, d.LincolnStudent.ID, p1.NextCursor, 2)
	require.NoError(t, err)
	require.Equal(t, []string{w.m1.ID}, messageIDs(p2.Items))
	require.Empty(t, p2.NextCursor)
	require.Equal(t, w.m1.ID, lastAudit(t, b.st, d.Tenant.ID).Detail["message_ids"])
	require.Equal(t, late.ID, b.studentLog(t, d.Admin, d.LincolnStudent)[0])

	// A cursor of another student's log is refused; a bad limit too.
	_, err = b.st.StudentMessages(ctx, d.AnnexStudent.ID, p1.NextCursor, 2)
	requireCode(t, err, whitecross.EINVALID, "query.cursor")
	_, err = b.st.StudentMessages(ctx, d.LincolnStudent.ID, "", 101)
	requireCode(t, err, whitecross.EINVALID, "query.limit")

	// An empty page reads nothing and is not audited.
	n := len(auditEvents(t, b.st, d.Tenant.ID))
	require.Equal(t, []string{}, b.studentLog(t, d.Admin, d.WashingtonStudent))
	require.Len(t, auditEvents(t, b.st, d.Tenant.ID), n)
}

// discloseWorld: m1 to the Lincoln parent about Lily over IN_APP and EMAIL,
// its email sent at sentAt and read at readAt; m2 about Lily to Lincoln
// staff by email still PENDING; m3 about nobody, emailed and read; m4
// about Lily whose email FAILED; andy about Andy to his parent, emailed; and
// another district's message about its own Lily, emailed and read.
type discloseWorld struct {
	b              *sendBundle
	m1, andy       *whitecross.Message
	sentAt, readAt time.Time
	other          *District
}

func setupDisclose(t *testing.T, open Opener) *discloseWorld {
	b := setupSend(t, open, true)
	d := b.d
	w := &discloseWorld{b: b}
	lily := []*whitecross.Student{d.LincolnStudent}
	email := []whitecross.Channel{whitecross.ChannelInApp, whitecross.ChannelEmail}
	sendBy := func(dd *District, in *whitecross.MessageCreate) *whitecross.Message {
		in.Channels = email
		m, err := b.st.SendMessage(dd.As(dd.LincolnNurse), in)
		require.NoError(t, err)
		return m
	}
	outcome := func(dd *District, m *whitecross.Message, u *whitecross.User, s whitecross.DeliveryStatus) {
		_, err := b.st.RecordDeliveryOutcome(context.Background(), dd.Tenant.ID, deliveryID(t, b.db, m.ID, u.ID, whitecross.ChannelEmail),
			whitecross.DeliveryOutcome{Status: s, Error: "x"})
		require.NoError(t, err)
	}
	w.m1 = sendBy(d, about("Lily's medication", lily, d.LincolnParent))
	b.clock.Advance(time.Minute)
	w.sentAt = b.clock.Now()
	outcome(d, w.m1, d.LincolnParent, whitecross.DeliverySent)
	b.clock.Advance(time.Minute)
	w.readAt = b.clock.Now()
	require.NoError(t, b.st.SetRead(d.As(d.LincolnParent), w.m1.ID, true))
	b.clock.Advance(time.Minute)
	sendBy(d, about("Lily in class", lily, d.LincolnStaff))
	m3 := sendBy(d, msg("Field trip", d.LincolnParent))
	outcome(d, m3, d.LincolnParent, whitecross.DeliveryDelivered)
	require.NoError(t, b.st.SetRead(d.As(d.LincolnParent), m3.ID, true))
	m4 := sendBy(d, about("Lily again", lily, d.LincolnAdmin))
	outcome(d, m4, d.LincolnAdmin, whitecross.DeliveryFailed)
	w.andy = sendBy(d, about("Andy's cast", []*whitecross.Student{d.AnnexStudent}, d.AnnexParent))
	outcome(d, w.andy, d.AnnexParent, whitecross.DeliverySent)
	w.other = SeedDistrictSlug(t, b.st, "shelbyville")
	om := sendBy(w.other, about("Their Lily", []*whitecross.Student{w.other.LincolnStudent}, w.other.LincolnParent))
	outcome(w.other, om, w.other.LincolnParent, whitecross.DeliverySent)
	require.NoError(t, b.st.SetRead(w.other.As(w.other.LincolnParent), om.ID, true))
	return w
}

func testRecordsDisclosures(t *testing.T, open Opener) {
	w := setupDisclose(t, open)
	b, d := w.b, w.b.d
	ctx := d.As(d.Admin)
	got, err := b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: d.LincolnStudent.ID})
	require.NoError(t, err)
	want := []*whitecross.Disclosure{
		{At: w.sentAt, MessageID: w.m1.ID, ToUserID: d.LincolnParent.ID, Channel: whitecross.ChannelEmail, Kind: whitecross.DisclosureDelivered},
		{At: w.readAt, MessageID: w.m1.ID, ToUserID: d.LincolnParent.ID, Channel: whitecross.ChannelInApp, Kind: whitecross.DisclosureRead},
	}
	require.Equal(t, want, got)
	ev := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditDisclosuresListed, ev.Action)
	require.Equal(t, d.LincolnStudent.ID, ev.TargetID)
	require.Equal(t, "2", ev.Detail["count"])

	// since is inclusive, until exclusive.
	got, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: d.LincolnStudent.ID, Since: &w.readAt})
	require.NoError(t, err)
	require.Equal(t, want[1:], got)
	got, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: d.LincolnStudent.ID, Until: &w.readAt})
	require.NoError(t, err)
	require.Equal(t, want[:1], got)

	// Another student's disclosures are theirs alone.
	got, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: d.AnnexStudent.ID})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, w.andy.ID, got[0].MessageID)
	require.Equal(t, d.AnnexParent.ID, got[0].ToUserID)
	got, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: d.WashingtonStudent.ID})
	require.NoError(t, err)
	require.Empty(t, got)
}

func testRecordsDisclosuresRefused(t *testing.T, open Opener) {
	w := setupDisclose(t, open)
	b, d := w.b, w.b.d
	lily := d.LincolnStudent.ID
	for _, u := range []*whitecross.User{d.LincolnNurse, d.LincolnAdmin, d.LincolnParent} {
		_, err := b.st.Disclosures(d.As(u), whitecross.DisclosureFilter{StudentID: lily})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	ctx := d.As(d.Admin)
	_, err := b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: w.other.LincolnStudent.ID})
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{})
	requireCode(t, err, whitecross.EINVALID, "query.student_id")
	_, err = b.st.Disclosures(ctx, whitecross.DisclosureFilter{StudentID: lily, Since: &w.readAt, Until: &w.sentAt})
	requireCode(t, err, whitecross.EINVALID, "query.until")
}
