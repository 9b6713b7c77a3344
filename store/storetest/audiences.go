package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseAudiences is the conformance suite of broadcasts: who is in an
// audience (each dimension, combinations, custody, deactivated users, the
// sender's reach), what is refused and stores nothing, the preview's
// counts, and resolution at dispatch (queued, batched, scheduled).
func exerciseAudiences(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"Membership", testAudienceMembership},
		{"SenderReach", testAudienceSenderReach},
		{"Refusals", testAudienceRefusals},
		{"Preview", testAudiencePreview},
		{"QueuedAndBatched", testAudienceQueuedBatched},
		{"ResolvedWhenDispatched", testAudienceScheduled},
		{"Approval", testAudienceApproval},
		{"Report", testBroadcastReport},
		{"Recipients", testMessageRecipients},
		{"BulkGuardians", testBulkGuardians},
	})
}

// audienceBundle is a sending bundle whose district also has a
// kindergartner at Lincoln (KParent, custody) and a second Lincoln child
// of LincolnParent, so grades can be told apart and a guardian matches
// twice.
type audienceBundle struct {
	*sendBundle
	kParent *whitecross.User
}

func setupAudience(t *testing.T, open Opener, withQueue bool) *audienceBundle {
	t.Helper()
	b := &audienceBundle{sendBundle: setupSend(t, open, withQueue)}
	d, sys := b.d, b.d.System()
	var err error
	b.kParent, err = b.st.CreateUser(sys, &whitecross.UserCreate{Email: "kparent@springfield.example", Name: "Kim K-Parent",
		Role: whitecross.RoleGuardian, Phone: "+15555550101"})
	require.NoError(t, err)
	d.Labels[b.kParent.ID] = "KParent"
	require.NoError(t, b.st.CreateStudent(sys, &whitecross.Student{Name: "Kai Kinder", LocationID: d.Lincoln.ID, Grade: "K",
		Guardians: []whitecross.Guardianship{{UserID: b.kParent.ID, Custody: true}, {UserID: d.NonCustodialParent.ID}}}))
	require.NoError(t, b.st.CreateStudent(sys, &whitecross.Student{Name: "Lou Lincoln-Sibling", LocationID: d.Lincoln.ID, Grade: "3",
		Guardians: []whitecross.Guardianship{{UserID: d.LincolnParent.ID, Custody: true}}}))
	return b
}

// sendTo sends a broadcast from u to aud (with the named recipients),
// dispatches it to the end and returns the labels of its recipients.
func (b *audienceBundle) sendTo(t *testing.T, from *whitecross.User, aud *whitecross.Audience, named ...*whitecross.User) []string {
	t.Helper()
	in := &whitecross.MessageCreate{Subject: "Broadcast", Body: "b", Audience: aud, RecipientIDs: to(named...)}
	m := b.send(t, from, in)
	b.dispatchAll(t, m.ID)
	return b.recipientLabels(t, m.ID)
}

// dispatchAll runs the message's dispatch until it is done.
func (b *audienceBundle) dispatchAll(t *testing.T, id string) {
	t.Helper()
	for range 100 {
		done, err := b.st.DispatchMessage(context.Background(), store.DispatchJob{TenantID: b.d.Tenant.ID, MessageID: id})
		require.NoError(t, err)
		if done {
			return
		}
	}
	t.Fatal("dispatch did not finish in 100 steps")
}

// recipientLabels returns the sorted labels of the message's recipients.
func (b *audienceBundle) recipientLabels(t *testing.T, id string) []string {
	t.Helper()
	rows, err := b.db.Reader().Query(store.AllTenants(context.Background()), `SELECT user_id FROM message_recipients WHERE message_id = $1`, id)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		require.NoError(t, rows.Scan(&u))
		label := b.d.Labels[u]
		if label == "" {
			label = u
		}
		out = append(out, label)
	}
	require.NoError(t, rows.Err())
	slices.Sort(out)
	return out
}

func labels(ls ...string) []string {
	slices.Sort(ls)
	return ls
}

func testAudienceMembership(t *testing.T, open Opener) {
	b := setupAudience(t, open, false)
	d := b.d
	guardian := whitecross.RoleGuardian
	cases := []struct {
		name string
		aud  whitecross.Audience
		want []string
	}{
		{"everyone: all active users but the sender, never a non-custodial guardian", whitecross.Audience{Everyone: true},
			labels("DistrictNurse", "LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexStaff", "WashingtonAdmin",
				"WashingtonNurse", "LincolnParent", "AnnexParent", "WashingtonParent", "KParent")},
		{"roles", whitecross.Audience{Roles: []whitecross.Role{whitecross.RoleNurse, whitecross.RoleSchoolAdmin}},
			labels("DistrictNurse", "LincolnNurse", "WashingtonNurse", "LincolnAdmin", "WashingtonAdmin")},
		{"a location includes those below it; guardians through their students", whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}},
			labels("LincolnAdmin", "LincolnNurse", "LincolnStaff", "AnnexStaff", "LincolnParent", "AnnexParent", "KParent")},
		{"location and role", whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{guardian}},
			labels("LincolnParent", "AnnexParent", "KParent")},
		{"grades alone are guardians of those grades, in any case", whitecross.Audience{Grades: []string{"k"}},
			labels("KParent")},
		{"grade at a location: the same student", whitecross.Audience{Grades: []string{"3"}, LocationIDs: []string{d.Washington.ID}},
			labels("WashingtonParent")},
		{"grades, location and role", whitecross.Audience{Grades: []string{"K", "3"}, LocationIDs: []string{d.Annex.ID, d.Washington.ID},
			Roles: []whitecross.Role{guardian}}, labels("AnnexParent", "WashingtonParent")},
		{"two locations", whitecross.Audience{LocationIDs: []string{d.Annex.ID, d.Washington.ID}, Roles: []whitecross.Role{whitecross.RoleStaff, whitecross.RoleNurse}},
			labels("AnnexStaff", "WashingtonNurse")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := b.sendTo(t, d.Admin, &c.aud)
			require.Equal(t, c.want, got)
			p, err := b.st.PreviewAudience(d.As(d.Admin), &c.aud)
			require.NoError(t, err)
			require.Equal(t, len(c.want), p.Count, "the preview counts what dispatch resolves")
		})
	}
	t.Run("a user who matches twice is a recipient once", func(t *testing.T) {
		// LincolnParent has two children at Lincoln and is also named.
		aud := &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID, d.Annex.ID}, Roles: []whitecross.Role{guardian}}
		got := b.sendTo(t, d.Admin, aud, d.LincolnParent, d.WashingtonParent)
		require.Equal(t, labels("LincolnParent", "AnnexParent", "KParent", "WashingtonParent"), got)
		p, err := b.st.PreviewAudience(d.As(d.Admin), aud)
		require.NoError(t, err)
		require.Equal(t, 3, p.Count)
	})
}

func testAudienceSenderReach(t *testing.T, open Opener) {
	b := setupAudience(t, open, false)
	d := b.d
	// A school's staff reach within their locations (and staff above
	// them), and guardians of the students there.
	require.Equal(t, labels("DistrictNurse", "LincolnAdmin", "LincolnStaff", "AnnexStaff", "LincolnParent", "AnnexParent", "KParent"),
		b.sendTo(t, d.LincolnNurse, &whitecross.Audience{Everyone: true}))
	require.Equal(t, labels("AnnexParent"),
		b.sendTo(t, d.LincolnAdmin, &whitecross.Audience{LocationIDs: []string{d.Annex.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}))
	require.Equal(t, labels("WashingtonParent"),
		b.sendTo(t, d.WashingtonNurse, &whitecross.Audience{Roles: []whitecross.Role{whitecross.RoleGuardian}}))
}

func testAudienceRefusals(t *testing.T, open Opener) {
	b := setupAudience(t, open, true)
	d := b.d
	before := sendCounts(t, b.db)
	cases := []struct {
		name        string
		from        *whitecross.User
		aud         whitecross.Audience
		code, field string
	}{
		{"a guardian never sends to an audience", d.LincolnParent, whitecross.Audience{Everyone: true}, whitecross.EFORBIDDEN, "body.audience"},
		{"no dimension", d.Admin, whitecross.Audience{}, whitecross.EINVALID, "body.audience"},
		{"everyone with another dimension", d.Admin, whitecross.Audience{Everyone: true, Roles: []whitecross.Role{whitecross.RoleGuardian}},
			whitecross.EINVALID, "body.audience.everyone"},
		{"unknown role", d.Admin, whitecross.Audience{Roles: []whitecross.Role{"PARENT"}}, whitecross.EINVALID, "body.audience.roles[0]"},
		{"grades without GUARDIAN", d.Admin, whitecross.Audience{Grades: []string{"3"}, Roles: []whitecross.Role{whitecross.RoleNurse}},
			whitecross.EINVALID, "body.audience.grades"},
		{"blank grade", d.Admin, whitecross.Audience{Grades: []string{"3", " "}}, whitecross.EINVALID, "body.audience.grades[1]"},
		{"malformed location", d.Admin, whitecross.Audience{LocationIDs: []string{"lincoln"}}, whitecross.EINVALID, "body.audience.location_ids[0]"},
		{"another district's or unknown location", d.Admin, whitecross.Audience{LocationIDs: []string{d.Lincoln.ID, "0190a0a0-0000-7000-8000-000000000001"}},
			whitecross.EINVALID, "body.audience.location_ids[1]"},
		{"a location outside the sender's", d.LincolnNurse, whitecross.Audience{LocationIDs: []string{d.Washington.ID}},
			whitecross.EFORBIDDEN, "body.audience.location_ids[0]"},
		{"a location above the sender's", d.LincolnAdmin, whitecross.Audience{LocationIDs: []string{d.District.ID}},
			whitecross.EFORBIDDEN, "body.audience.location_ids[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.st.SendMessage(d.As(c.from), &whitecross.MessageCreate{Subject: "s", Body: "b", Audience: &c.aud})
			requireCode(t, err, c.code, c.field)
			_, err = b.st.PreviewAudience(d.As(c.from), &c.aud)
			requireCode(t, err, c.code, c.field)
		})
	}
	require.Equal(t, before, sendCounts(t, b.db), "a refused broadcast stores nothing")
	require.Empty(t, b.queue.take())
}

func testAudiencePreview(t *testing.T, open Opener) {
	b := setupAudience(t, open, false)
	d := b.d
	// Contact points: every seeded user has an email; KParent has a phone.
	// Suppress one email, opt one phone out and give one guardian a
	// working push subscription and another a disabled one.
	now := b.clock.Now()
	execSQL(t, b.db, `UPDATE users SET phone = '+15555550102' WHERE id = $1`, d.AnnexParent.ID)
	execSQL(t, b.db, `INSERT INTO phone_opt_outs (phone, opted_out_at, source) VALUES ('+15555550102', $1, 'STOP')`, now)
	execSQL(t, b.db, `INSERT INTO email_suppressions (email, reason, created_at) VALUES ($1, 'bounce', $2)`, d.WashingtonParent.Email, now)
	execSQL(t, b.db, `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, created_at)
		VALUES ($1, $2, $3, 'https://push.example/1', 'k', 'a', $4)`, uuid.NewString(), d.Tenant.ID, d.LincolnParent.ID, now)
	execSQL(t, b.db, `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, created_at, disabled_at)
		VALUES ($1, $2, $3, 'https://push.example/2', 'k', 'a', $4, $4)`, uuid.NewString(), d.Tenant.ID, d.AnnexParent.ID, now)
	p, err := b.st.PreviewAudience(d.As(d.Admin), &whitecross.Audience{Roles: []whitecross.Role{whitecross.RoleGuardian, whitecross.RoleNurse}})
	require.NoError(t, err)
	require.Equal(t, 7, p.Count)
	require.Equal(t, map[whitecross.Role]int{whitecross.RoleGuardian: 4, whitecross.RoleNurse: 3}, p.ByRole)
	require.Equal(t, map[whitecross.Channel]int{whitecross.ChannelEmail: 6, whitecross.ChannelSMS: 1, whitecross.ChannelVoice: 2,
		whitecross.ChannelPush: 1}, p.Reachable)

	// Nobody matching is a preview of zero, not an error.
	p, err = b.st.PreviewAudience(d.As(d.WashingtonNurse), &whitecross.Audience{Grades: []string{"12"}})
	require.NoError(t, err)
	require.Equal(t, 0, p.Count)
	require.Empty(t, p.ByRole)
}

func testAudienceQueuedBatched(t *testing.T, open Opener) {
	b := setupAudience(t, open, true)
	d := b.d
	bulk := BulkStaff(t, b.db, d.Tenant.ID, d.Annex.ID, store.AudienceBatchSize+1)
	before := sendCounts(t, b.db)
	m := b.send(t, d.LincolnAdmin, &whitecross.MessageCreate{Subject: "Lockdown drill", Body: "b", Category: whitecross.CategoryEmergency,
		Audience: &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleStaff}}})
	// Accepting it is one message row and one job, whatever its size.
	require.Equal(t, whitecross.MessageSending, m.Status)
	require.Equal(t, 0, m.RecipientCount)
	require.Equal(t, &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleStaff}}, m.Audience)
	after := sendCounts(t, b.db)
	require.Equal(t, before["messages"]+1, after["messages"])
	require.Equal(t, before["message_recipients"], after["message_recipients"])
	jobs := b.queue.take()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Urgent)

	// The first step resolves the audience among the district's first
	// AudienceBatchSize users and fills no inbox yet.
	done, err := b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	require.False(t, done)
	first := sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1`, m.ID)
	require.Greater(t, first, store.AudienceBatchSize-50, "most of the first users are the bulk staff")
	require.Less(t, first, len(bulk)+2, "and some are left for the next step")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND delivered_at IS NOT NULL`, m.ID))

	// The following steps resume from the recorded progress.
	b.dispatchAll(t, m.ID)
	want := len(bulk) + 2 // LincolnStaff and AnnexStaff
	require.Equal(t, want, sendCount(t, b.db, `SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND delivered_at IS NOT NULL`, m.ID))
	got, err := b.st.FindMessageByID(d.As(d.LincolnAdmin), m.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageSent, got.Status)
	require.Equal(t, want, got.RecipientCount)
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2`,
		whitecross.AuditMessageAudienceResolved, m.ID))
}

func testAudienceScheduled(t *testing.T, open Opener) {
	b := setupAudience(t, open, true)
	d := b.d
	at := b.clock.Now().Add(time.Hour)
	m := b.send(t, d.Admin, &whitecross.MessageCreate{Subject: "Picture day", Body: "b", ScheduledAt: &at,
		Audience: &whitecross.Audience{Grades: []string{"3"}}})
	require.Equal(t, whitecross.MessageScheduled, m.Status)
	jobs := b.queue.take()
	require.Len(t, jobs, 1)

	// Between sending and dispatch, a family joins and one leaves.
	sys := d.System()
	newcomer, err := b.st.CreateUser(sys, &whitecross.UserCreate{Email: "new@springfield.example", Name: "Nia Newcomer", Role: whitecross.RoleGuardian})
	require.NoError(t, err)
	d.Labels[newcomer.ID] = "Newcomer"
	require.NoError(t, b.st.CreateStudent(sys, &whitecross.Student{Name: "Ned Newcomer", LocationID: d.Washington.ID, Grade: "3",
		Guardians: []whitecross.Guardianship{{UserID: newcomer.ID, Custody: true}}}))
	require.NoError(t, b.st.DeactivateUser(sys, d.AnnexParent.ID))

	b.clock.Advance(time.Hour)
	done, err := b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	if !done {
		b.dispatchAll(t, m.ID)
	}
	require.Equal(t, labels("LincolnParent", "WashingtonParent", "Newcomer"), b.recipientLabels(t, m.ID))
}
