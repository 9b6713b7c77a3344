package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// The limits of administrators (issue 11, defects 4 and 6): nobody sets
// another person's password through the API, turning a guardian into staff
// (or back) is an ADMIN's decision, a non-custodial contact becomes staff
// near their child only by an audited ADMIN decision, a student is linked
// only to guardians the caller may see, and non-custodial contacts see
// nothing of the student.

// testAdminsSetNoPassword: an administrator who could set a guardian's
// password — on an existing account or on one they create — could sign in
// as them and read what the guardian may read.
func testAdminsSetNoPassword(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	const pw = "a password the admin chose"
	before := passwordHash(t, b.db, d.LincolnParent.ID)

	for _, tc := range []struct {
		caller *whitecross.User
		target *whitecross.User
		set    string
	}{
		{d.LincolnAdmin, d.LincolnParent, pw},
		{d.LincolnAdmin, d.NonCustodialParent, pw},
		{d.LincolnAdmin, d.LincolnNurse, pw},
		{d.LincolnAdmin, d.LincolnParent, ""}, // clearing it locks the person out: also theirs to decide
		{d.Admin, d.LincolnParent, pw},
		{d.Admin, d.LincolnAdmin, pw},
		{d.WashingtonAdmin, d.LincolnParent, pw}, // not even visible: still never theirs to set
	} {
		requireCode(t, b.st.SetPassword(d.As(tc.caller), tc.target.ID, tc.set), whitecross.EFORBIDDEN, "body.password")
	}
	require.Equal(t, before, passwordHash(t, b.db, d.LincolnParent.ID), "a refused change changes nothing")

	// Nor on an account they create: they would know the first password.
	for _, caller := range []*whitecross.User{d.Admin, d.LincolnAdmin} {
		_, err := b.st.CreateUser(d.As(caller), &whitecross.UserCreate{Email: "new." + caller.ID[:8] + "@x.example", Name: "New Parent",
			Role: whitecross.RoleGuardian, LocationIDs: []string{}, Password: pw})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.password")
	}
	_, err := b.st.CreateUser(d.As(d.Admin), &whitecross.UserCreate{Email: "nopw@x.example", Name: "New Parent", Role: whitecross.RoleGuardian})
	require.NoError(t, err, "without a password the account is created")

	// Their own password (AuthService.ChangePassword has checked the
	// current one), and the operator's (the system: the CLI), are fine.
	for _, u := range []*whitecross.User{d.LincolnAdmin, d.Admin} {
		require.NoError(t, b.st.SetPassword(d.As(u), u.ID, pw))
		require.True(t, verifies(passwordHash(t, b.db, u.ID), pw))
	}
	require.NoError(t, b.st.SetPassword(d.System(), d.LincolnParent.ID, pw))
	require.True(t, verifies(passwordHash(t, b.db, d.LincolnParent.ID), pw))
	requireCode(t, b.st.SetPassword(d.System(), d.LincolnParent.ID, "password1234"), whitecross.EINVALID, "body.password")
	requireCode(t, b.st.SetPassword(d.System(), d.LincolnParent.ID, d.LincolnParent.Email), whitecross.EINVALID, "body.password")
	require.True(t, verifies(passwordHash(t, b.db, d.LincolnParent.ID), pw), "a refused password changes nothing")
}

// testGuardianStaffRoleChange: a SCHOOL_ADMIN who could turn a
// non-custodial parent into staff at their school would give them reach to
// the custodial parent. Guardian <-> staff is an ADMIN's decision, and an
// ADMIN's decision that places a non-custodial contact near their child is
// recorded as an override.
func testGuardianStaffRoleChange(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	sa := d.As(d.LincolnAdmin)
	toStaff := func(loc ...string) *whitecross.UserUpdate {
		return &whitecross.UserUpdate{Role: ptr(whitecross.RoleStaff), LocationIDs: &loc}
	}

	t.Run("school admin may not turn a guardian into staff or back", func(t *testing.T) {
		for _, g := range []*whitecross.User{d.NonCustodialParent, d.LincolnParent, d.AnnexParent} {
			_, err := b.st.UpdateUser(sa, g.ID, toStaff(d.Lincoln.ID))
			requireCode(t, err, whitecross.EFORBIDDEN, "body.role")
			_, err = b.st.UpdateUser(sa, g.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleNurse), LocationIDs: &[]string{d.Annex.ID}})
			requireCode(t, err, whitecross.EFORBIDDEN, "body.role")
		}
		_, err := b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleGuardian)})
		requireCode(t, err, whitecross.EFORBIDDEN, "body.role")
		got, err := b.st.FindUserByID(sa, d.NonCustodialParent.ID)
		require.NoError(t, err)
		require.Equal(t, whitecross.RoleGuardian, got.Role, "a refused update changes nothing")
		reach, err := b.st.FilterMessageable(d.As(d.NonCustodialParent), []string{d.LincolnParent.ID, d.LincolnNurse.ID})
		require.NoError(t, err)
		require.Empty(t, reach, "the non-custodial parent still reaches nobody")

		// Staff roles among themselves stay the school admin's.
		_, err = b.st.UpdateUser(sa, d.LincolnStaff.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleNurse)})
		require.NoError(t, err)
	})

	t.Run("an ADMIN decides, and an override of a non-custodial link is audited", func(t *testing.T) {
		// Away from the child's school: an ordinary change.
		u, err := b.st.UpdateUser(d.As(d.Admin), d.NonCustodialParent.ID, toStaff(d.Washington.ID))
		require.NoError(t, err)
		require.Equal(t, whitecross.RoleStaff, u.Role)
		e := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, map[string]string{"fields": "location_ids,role"}, e.Detail)

		// A SCHOOL_ADMIN over the whole district may manage them, but not
		// bring them near the child: the school, the campus below it, or the
		// district above it.
		wide, err := b.st.CreateUser(d.As(d.Admin), &whitecross.UserCreate{Email: "wide@springfield.example", Name: "Wide Admin",
			Role: whitecross.RoleSchoolAdmin, LocationIDs: []string{d.District.ID}})
		require.NoError(t, err)
		for _, near := range []string{d.Lincoln.ID, d.Annex.ID, d.District.ID} {
			_, err := b.st.UpdateUser(d.As(wide), d.NonCustodialParent.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Washington.ID, near}})
			requireCode(t, err, whitecross.EFORBIDDEN, "body.location_ids")
		}
		_, err = b.st.UpdateUser(d.As(wide), d.NonCustodialParent.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleNurse)})
		require.NoError(t, err, "a change that brings them nowhere near the child is the school admin's")
		reach, err := b.st.FilterMessageable(d.As(d.NonCustodialParent), []string{d.LincolnParent.ID})
		require.NoError(t, err)
		require.Empty(t, reach)

		// The ADMIN may, and the audit says what was overridden.
		_, err = b.st.UpdateUser(d.As(d.Admin), d.NonCustodialParent.ID, &whitecross.UserUpdate{LocationIDs: &[]string{d.Washington.ID, d.Lincoln.ID}})
		require.NoError(t, err)
		e = lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, whitecross.AuditUserUpdated, e.Action)
		require.Equal(t, d.Admin.ID, e.ActorID)
		require.Equal(t, map[string]string{"fields": "location_ids", "overrides_non_custodial": d.LincolnStudent.ID}, e.Detail)

		// Straight from guardian to staff at the child's school: the same.
		_, err = b.st.UpdateUser(d.As(d.Admin), d.NonCustodialParent.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleGuardian)})
		require.NoError(t, err)
		_, err = b.st.UpdateUser(d.As(d.Admin), d.NonCustodialParent.ID, toStaff(d.Annex.ID))
		require.NoError(t, err)
		e = lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, map[string]string{"fields": "location_ids,role", "overrides_non_custodial": d.LincolnStudent.ID}, e.Detail)

		// A custodial parent becoming staff at their child's school is no override.
		_, err = b.st.UpdateUser(d.As(d.Admin), d.LincolnParent.ID, toStaff(d.Lincoln.ID))
		require.NoError(t, err)
		require.Equal(t, map[string]string{"fields": "location_ids,role"}, lastAudit(t, b.st, d.Tenant.ID).Detail)
	})
}

// testLinkGuardianVisibility: a school admin who could link another
// school's guardian to a new student would gain reach to them. A guardian
// the caller may not see is refused exactly like an unknown id.
func testLinkGuardianVisibility(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	sa := d.As(d.LincolnAdmin)
	student := func(guardians ...string) *whitecross.Student {
		s := &whitecross.Student{Name: "Linked Later", LocationID: d.Lincoln.ID, Grade: "2"}
		for _, g := range guardians {
			s.Guardians = append(s.Guardians, whitecross.Guardianship{UserID: g, Custody: true})
		}
		return s
	}

	unknown := b.st.CreateStudent(sa, student(d.LincolnParent.ID, uuid.NewString()))
	requireCode(t, unknown, whitecross.EINVALID, "body.guardians[1].user_id")
	for _, hidden := range []string{d.WashingtonParent.ID, other.LincolnParent.ID} {
		err := b.st.CreateStudent(sa, student(d.LincolnParent.ID, hidden))
		requireCode(t, err, whitecross.EINVALID, "body.guardians[1].user_id")
		require.Equal(t, whitecross.ErrorMessage(unknown), whitecross.ErrorMessage(err), "indistinguishable from an unknown id")
	}
	list, err := b.st.ListStudents(d.As(d.WashingtonParent))
	require.NoError(t, err)
	require.Len(t, list, 1, "nothing was stored")
	reach, err := b.st.FilterMessageable(sa, []string{d.WashingtonParent.ID})
	require.NoError(t, err)
	require.Empty(t, reach)

	// Guardians the school admin may see: their school's families, and one
	// they placed at their school themselves.
	placed, err := b.st.CreateUser(sa, &whitecross.UserCreate{Email: "new.parent@springfield.example", Name: "New Parent",
		Role: whitecross.RoleGuardian, LocationIDs: []string{d.Lincoln.ID}})
	require.NoError(t, err)
	require.NoError(t, b.st.CreateStudent(sa, student(d.AnnexParent.ID, placed.ID)))
	// The ADMIN sees every family.
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), student(d.WashingtonParent.ID)))
}

// testCustodyNearNonCustodial: custody of a student places the guardian at
// the student's school, so a SCHOOL_ADMIN who could give a non-custodial
// parent custody of another child at (or near) their child's school would
// put them in that school's reach and audiences. Giving it is an ADMIN's
// decision, recorded in the audit as an override.
func testCustodyNearNonCustodial(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	student := func(at *whitecross.Location, custody bool) *whitecross.Student {
		return &whitecross.Student{Name: "A Sibling", LocationID: at.ID, Grade: "1", Guardians: []whitecross.Guardianship{
			{UserID: d.AnnexParent.ID, Custody: true}, {UserID: d.NonCustodialParent.ID, Custody: custody}}}
	}
	// Lincoln, where their child is, and the Annex below it are near.
	for _, at := range []*whitecross.Location{d.Lincoln, d.Annex} {
		err := b.st.CreateStudent(d.As(d.LincolnAdmin), student(at, true))
		requireCode(t, err, whitecross.EFORBIDDEN, "body.guardians[1].custody")
	}
	list, err := b.st.ListStudents(d.As(d.Admin))
	require.NoError(t, err)
	require.Len(t, list, 3, "nothing was stored")

	// Without custody it is only another non-custodial link; elsewhere in
	// the district it places them nowhere near their child.
	require.NoError(t, b.st.CreateStudent(d.As(d.LincolnAdmin), student(d.Lincoln, false)))
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), student(d.Washington, true)))
	require.Equal(t, map[string]string{"location_id": d.Washington.ID}, lastAudit(t, b.st, d.Tenant.ID).Detail)

	sibling := student(d.Lincoln, true)
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), sibling))
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditStudentCreated, e.Action)
	require.Equal(t, map[string]string{"location_id": d.Lincoln.ID, "overrides_non_custodial": d.NonCustodialParent.ID}, e.Detail)
}

// testNonCustodialSeesNoStudent: a non-custodial contact learns nothing of
// the student through the students API, not even that they exist.
func testNonCustodialSeesNoStudent(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	ctx := d.As(d.NonCustodialParent)
	_, err := b.st.FindStudentByID(ctx, d.LincolnStudent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	list, err := b.st.ListStudents(ctx)
	require.NoError(t, err)
	require.Empty(t, list)

	// A parent with custody of one child and not of another sees the first only.
	s := &whitecross.Student{Name: "Half Sibling", LocationID: d.Washington.ID, Grade: "5",
		Guardians: []whitecross.Guardianship{{UserID: d.NonCustodialParent.ID, Custody: true}}}
	require.NoError(t, b.st.CreateStudent(d.As(d.Admin), s))
	list, err = b.st.ListStudents(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, s.ID, list[0].ID)
	_, err = b.st.FindStudentByID(ctx, d.LincolnStudent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	// Washington staff may now message that parent (custody of the half
	// sibling), and the directory's location filter must not tell them
	// where the parent's non-custodial child goes to school.
	for _, u := range listAllUsers(t, b.st, d.As(d.WashingtonNurse), whitecross.UserFilter{LocationID: d.Lincoln.ID}) {
		require.NotEqual(t, d.NonCustodialParent.ID, u.ID, "a non-custodial link places nobody at a location")
	}
	require.Contains(t, d.labels(listAllUsers(t, b.st, d.As(d.WashingtonNurse), whitecross.UserFilter{LocationID: d.Washington.ID})),
		"NonCustodialParent", "their custodial link does place them")
}

// userSession signs u in at the store level: a session with one refresh
// token, returned with the token's hash.
func (b *directoryBundle) userSession(t *testing.T, d *District, u *whitecross.User) (*whitecross.Session, []byte) {
	t.Helper()
	sess := &whitecross.Session{TenantID: d.Tenant.ID, UserID: u.ID}
	first := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: b.clock.Now().Add(time.Hour)}
	require.NoError(t, b.st.CreateSession(context.Background(), sess, first))
	return sess, first.Hash
}

// refreshes reports whether the refresh token still rotates, returning the
// successor's hash.
func (b *directoryBundle) refreshes(t *testing.T, hash []byte) ([]byte, bool) {
	t.Helper()
	next := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: b.clock.Now().Add(time.Hour)}
	_, err := b.st.RotateRefreshToken(context.Background(), hash, next)
	if err != nil {
		requireCode(t, err, whitecross.EUNAUTHORIZED, "")
		return nil, false
	}
	return next.Hash, true
}

// sessionLive reports whether the session still authenticates requests.
func (b *directoryBundle) sessionLive(t *testing.T, d *District, sess *whitecross.Session) bool {
	t.Helper()
	return sessionLive(t, b.st, d.Tenant.ID, sess.ID)
}

// sessionLive reports whether SessionActor finds the session (ENOTFOUND is
// false; any other error fails the test). SessionActors, the realtime
// gateway's batched check, must answer the same, with the same actor.
func sessionLive(t *testing.T, st *store.Store, tenant, session string) bool {
	t.Helper()
	batch, err := st.SessionActors(context.Background(), []string{uuid.NewString(), strings.ToUpper(session), "not-a-uuid"})
	require.NoError(t, err)
	require.LessOrEqual(t, len(batch), 1)
	inBatch := batch[strings.ToLower(session)]
	a, err := st.SessionActor(context.Background(), tenant, session)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		// SessionActors is not scoped by tenant: the caller compares it.
		require.True(t, inBatch == nil || inBatch.TenantID != tenant, "SessionActors finds a session SessionActor does not")
		return false
	}
	require.NoError(t, err)
	require.Equal(t, session, a.SessionID)
	require.Equal(t, tenant, a.TenantID)
	require.Equal(t, a, inBatch)
	return true
}

// testSessionActorCurrentRole (defect 5): the per-request session check
// returns the user as they are now, so a demotion, a deactivation or a
// revocation applies on the next request whatever the token says.
func testSessionActorCurrentRole(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	ctx := context.Background()
	sess, _ := b.userSession(t, d, d.LincolnAdmin)

	a, err := b.st.SessionActor(ctx, d.Tenant.ID, sess.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.Actor{UserID: d.LincolnAdmin.ID, TenantID: d.Tenant.ID, Role: whitecross.RoleSchoolAdmin, SessionID: sess.ID}, *a)

	_, err = b.st.UpdateUser(d.As(d.Admin), d.LincolnAdmin.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleStaff)})
	require.NoError(t, err)
	a, err = b.st.SessionActor(ctx, d.Tenant.ID, sess.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.RoleStaff, a.Role, "the demotion applies to the live session at once")

	for _, tc := range []struct{ tenant, session string }{
		{other.Tenant.ID, sess.ID}, {d.Tenant.ID, uuid.NewString()}, {d.Tenant.ID, "nope"}, {"nope", sess.ID},
	} {
		_, err := b.st.SessionActor(ctx, tc.tenant, tc.session)
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	require.NoError(t, b.st.DeactivateUser(d.As(d.Admin), d.LincolnAdmin.ID))
	_, err = b.st.SessionActor(ctx, d.Tenant.ID, sess.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
}

// testPasswordChangeEndsSessions (defect 5): a new password ends every
// other session at once, in the transaction that sets it: the changer's own
// session stays on a self-change; an operator's reset ends all of them.
func testPasswordChangeEndsSessions(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	const pw = "a brand new password"

	mine, mineTok := b.userSession(t, d, d.LincolnAdmin)
	stolen, stolenTok := b.userSession(t, d, d.LincolnAdmin)
	self := whitecross.NewContextWithActor(context.Background(),
		&whitecross.Actor{UserID: d.LincolnAdmin.ID, TenantID: d.Tenant.ID, Role: d.LincolnAdmin.Role, SessionID: mine.ID})
	bystander, bystanderTok := b.userSession(t, d, d.LincolnNurse)

	// A change that is not the password ends nothing.
	_, err := b.st.UpdateUser(self, d.LincolnAdmin.ID, &whitecross.UserUpdate{Name: ptr("Lena Renamed")})
	require.NoError(t, err)
	require.True(t, b.sessionLive(t, d, stolen))

	require.NoError(t, b.st.SetPassword(self, d.LincolnAdmin.ID, pw))
	require.False(t, b.sessionLive(t, d, stolen), "the other session's access token is refused at once")
	_, ok := b.refreshes(t, stolenTok)
	require.False(t, ok, "and its refresh token")
	require.True(t, b.sessionLive(t, d, mine), "the changer's own session stays")
	_, ok = b.refreshes(t, mineTok)
	require.True(t, ok)
	require.True(t, b.sessionLive(t, d, bystander), "other users' sessions stay")

	// The operator's reset (the system, e.g. the CLI) ends every session.
	second, secondTok := b.userSession(t, d, d.LincolnNurse)
	require.NoError(t, b.st.SetPassword(d.System(), d.LincolnNurse.ID, pw))
	for _, s := range []*whitecross.Session{bystander, second} {
		require.False(t, b.sessionLive(t, d, s))
	}
	for _, tok := range [][]byte{bystanderTok, secondTok} {
		_, ok := b.refreshes(t, tok)
		require.False(t, ok)
	}
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditUserUpdated, e.Action)
	require.Equal(t, map[string]string{"fields": "password", "sessions_ended": "2"}, e.Detail)
}
