package storetest

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/roster"
	"whitecross/store"
)

// exerciseRoster is the conformance suite of the OneRoster import
// (API.md, "Roster import").
func exerciseRoster(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"CreateThenNothingChanges", testRosterCreate},
		{"UpdateAndDeactivate", testRosterUpdate},
		{"BadRowsSkippedWithLines", testRosterBadRows},
		{"DryRunChangesNothing", testRosterDryRun},
		{"AdminsOnlyOneAtATime", testRosterAccess},
	})
}

const (
	rosterOrgsHeader  = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
	rosterUsersHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)

// rosterOrgs is orgs.csv of the district of the tests: the district and
// one new school.
const rosterOrgs = rosterOrgsHeader +
	"d-1,,,Springfield Public Schools,district,,\n" +
	"s-oak,,,Oak Elementary,school,,d-1\n"

// rosterUsers is users.csv: two students, two parents (one through each
// side's agentSourcedIds), a relative, a teacher and a principal.
var rosterUsers = []string{
	"stu-1,,,true,s-oak,student,,,Sofia,Garcia,,,,,,\"par-1,rel-1\",KG,",
	"stu-2,,,true,s-oak,student,,,Liam,Nguyen,,,,,,,03,",
	"par-1,,,true,s-oak,parent,,,Ana,Garcia,,,ana.garcia@family.example,(555) 201-3344,,,,",
	"par-2,,,true,s-oak,guardian,,,Minh,Nguyen,,,,+15552019999,,stu-2,,",
	"rel-1,,,true,s-oak,relative,,,Rosa,Garcia,,,rosa@family.example,,,,,",
	"tea-1,,,true,s-oak,teacher,,,Mia,Jones,,,mia.jones@oak.example,,,,,",
	"adm-1,,,true,s-oak,administrator,,,Sam,Lee,,,sam.lee@oak.example,,,,,",
}

// rosterBundle imports roster files into the seeded district.
type rosterBundle struct {
	*sendBundle
	dir string
}

func setupRoster(t *testing.T, open Opener) *rosterBundle {
	t.Helper()
	return &rosterBundle{sendBundle: setupSend(t, open, false), dir: t.TempDir()}
}

// write replaces the roster files with orgs and the users rows.
func (b *rosterBundle) write(t *testing.T, orgs string, users []string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "orgs.csv"), []byte(orgs), 0o600))
	body := rosterUsersHeader + strings.Join(users, "\n") + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "users.csv"), []byte(body), 0o600))
}

// run imports the files as the district's ADMIN.
func (b *rosterBundle) run(t *testing.T, dryRun bool) *whitecross.RosterImport {
	t.Helper()
	ctx := b.d.As(b.d.Admin)
	imp, err := b.st.StartRosterImport(ctx, dryRun)
	require.NoError(t, err)
	src, err := roster.Open(b.dir)
	require.NoError(t, err)
	defer src.Close()
	set, err := roster.Read(src)
	require.NoError(t, err)
	done, err := b.st.RunRosterImport(ctx, imp.ID, set)
	require.NoError(t, err)
	require.NotNil(t, done)
	require.Equal(t, whitecross.RosterDone, done.Status, "failure: %s", done.Failure)
	return done
}

// personByExternal reads an imported user's fields and custody links.
type importedUser struct {
	ID, Name, Email, Phone, Role string
	Active                       bool
}

func (b *rosterBundle) user(t *testing.T, sourcedID string) importedUser {
	t.Helper()
	var u importedUser
	var deactivated *string
	err := b.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id, name, email, phone, role, CAST(deactivated_at AS TEXT)
		FROM users WHERE tenant_id = $1 AND external_id = $2`, b.d.Tenant.ID, sourcedID).
		Scan(&u.ID, &u.Name, &u.Email, &u.Phone, &u.Role, &deactivated)
	require.NoError(t, err, sourcedID)
	u.Active = deactivated == nil
	return u
}

// student reads an imported student as the ADMIN sees it.
func (b *rosterBundle) student(t *testing.T, sourcedID string) *whitecross.Student {
	t.Helper()
	var id string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()),
		`SELECT id FROM students WHERE tenant_id = $1 AND external_id = $2`, b.d.Tenant.ID, sourcedID).Scan(&id), sourcedID)
	st, err := b.st.FindStudentByID(b.d.As(b.d.Admin), id)
	require.NoError(t, err)
	return st
}

func testRosterCreate(t *testing.T, open Opener) {
	b := setupRoster(t, open)
	b.write(t, rosterOrgs, rosterUsers)
	imp := b.run(t, false)
	require.Equal(t, whitecross.RosterCounts{
		Locations: whitecross.RosterLocationCounts{Created: 1, Updated: 1}, // the district's own root takes the roster's name and id
		Users:     whitecross.RosterPersonCounts{Created: 5},
		Students:  whitecross.RosterPersonCounts{Created: 2},
	}, imp.Counts)
	require.NotNil(t, imp.Errors, "no skipped rows is an empty list, not null")
	require.Empty(t, imp.Errors)

	par1 := b.user(t, "par-1")
	require.Equal(t, importedUser{ID: par1.ID, Name: "Ana Garcia", Email: "ana.garcia@family.example", Phone: "+15552013344",
		Role: "GUARDIAN", Active: true}, par1)
	require.Equal(t, "SCHOOL_ADMIN", b.user(t, "adm-1").Role)
	require.Equal(t, "STAFF", b.user(t, "tea-1").Role)
	par2 := b.user(t, "par-2")
	require.Empty(t, par2.Email, "a guardian with a phone only")
	rel1 := b.user(t, "rel-1")

	sofia := b.student(t, "stu-1")
	require.Equal(t, "K", sofia.Grade)
	require.ElementsMatch(t, []whitecross.Guardianship{{UserID: par1.ID, Custody: true, Imported: true}, {UserID: rel1.ID, Custody: false, Imported: true}}, sofia.Guardians)
	liam := b.student(t, "stu-2")
	require.Equal(t, "3", liam.Grade)
	require.Equal(t, sofia.LocationID, liam.LocationID)
	require.Equal(t, []whitecross.Guardianship{{UserID: par2.ID, Custody: true, Imported: true}}, liam.Guardians, "linked from the guardian's row")

	// The teacher is at Oak and may message Sofia's parent; the relative
	// (no custody) is not reachable about her.
	tea := b.user(t, "tea-1")
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM user_locations WHERE user_id = $1 AND location_id = $2`, tea.ID, sofia.LocationID))
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM contact_points WHERE user_id = $1 AND kind = 'PHONE' AND address = '+15552013344'`, par1.ID))
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM locations WHERE tenant_id = $1 AND kind = 'DISTRICT'`, b.d.Tenant.ID),
		"the district's root was adopted, not doubled")
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM locations WHERE id = $1 AND parent_id IS NULL AND external_id = 'd-1'`, b.d.District.ID),
		"and stays the root")
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM locations WHERE id = $1 AND parent_id = $2 AND name = 'Oak Elementary'`,
		sofia.LocationID, b.d.District.ID), "the new school hangs from the district")
	require.Equal(t, 1, auditCount(t, b.db, whitecross.AuditRosterImported, imp.ID))

	again := b.run(t, false)
	require.Equal(t, whitecross.RosterCounts{}, again.Counts, "a re-import of the same files changes nothing")
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM roster_rows`), "staged rows are dropped")
}

func testRosterUpdate(t *testing.T, open Opener) {
	b := setupRoster(t, open)
	b.write(t, rosterOrgs, rosterUsers)
	b.run(t, false)
	before := b.student(t, "stu-1")

	users := append([]string(nil), rosterUsers...)
	users[0] = "stu-1,,,true,s-oak,student,,,Sofia,Garcia-Lopez,,,,,,par-1,01,"                       // renamed, grade 1, relative dropped
	users[2] = "par-1,,,true,s-oak,parent,,,Ana,Garcia,,,ana.garcia@family.example,,555-201-7777,,,," // new phone
	users = without(users, 1)                                                                         // Liam left the district
	users[len(users)-1] = "adm-1,,,false,s-oak,administrator,,,Sam,Lee,,,sam.lee@oak.example,,,,,"    // disabled
	b.write(t, rosterOrgs, users)
	imp := b.run(t, false)
	require.Equal(t, whitecross.RosterCounts{
		Users:    whitecross.RosterPersonCounts{Updated: 2, Deactivated: 0},
		Students: whitecross.RosterPersonCounts{Updated: 1, Deactivated: 1},
	}, imp.Counts, "adm-1 disabled counts as updated; Liam missing is deactivated")

	sofia := b.student(t, "stu-1")
	require.Equal(t, "Sofia Garcia-Lopez", sofia.Name)
	require.Equal(t, "1", sofia.Grade)
	par1 := b.user(t, "par-1")
	require.Equal(t, []whitecross.Guardianship{{UserID: par1.ID, Custody: true, Imported: true}}, sofia.Guardians)
	require.Len(t, before.Guardians, 2)
	require.Equal(t, "+15552017777", par1.Phone)
	require.Equal(t, 0, sendCount(t, b.db, `SELECT COUNT(*) FROM contact_points WHERE user_id = $1 AND address = '+15552013344'`, par1.ID),
		"the old number is no longer a contact point")
	require.False(t, b.user(t, "adm-1").Active)
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM students WHERE external_id = 'stu-2' AND deactivated_at IS NOT NULL`))
	// A deactivated student is gone from lists and audiences: their
	// guardian is no longer a guardian at Oak.
	listed, err := b.st.ListStudents(b.d.As(b.d.Admin))
	require.NoError(t, err)
	for _, st := range listed {
		require.NotEqual(t, "Liam Nguyen", st.Name)
	}
	preview, err := b.st.PreviewAudience(b.d.As(b.d.Admin), &whitecross.Audience{LocationIDs: []string{sofia.LocationID},
		Roles: []whitecross.Role{whitecross.RoleGuardian}})
	require.NoError(t, err)
	require.Equal(t, 1, preview.Count, "Sofia's parent only (her relative has no custody, Liam's guardian no student)")
	// Nor may Oak's staff message Liam's guardian through him.
	teacher := b.user(t, "tea-1")
	par2 := b.user(t, "par-2")
	ctx := b.d.As(&whitecross.User{ID: teacher.ID, Role: whitecross.RoleStaff})
	reachable, err := b.st.FilterMessageable(ctx, []string{par2.ID, par1.ID})
	require.NoError(t, err)
	require.True(t, reachable[par1.ID], "Sofia's parent")
	require.False(t, reachable[par2.ID], "Liam's guardian, Liam deactivated")

	// Dropping par-2 from the file deactivates them; hand-made users stay.
	b.write(t, rosterOrgs, without(users, 2))
	imp = b.run(t, false)
	require.Equal(t, 1, imp.Counts.Users.Deactivated)
	require.False(t, b.user(t, "par-2").Active)
	for _, u := range b.d.Users() {
		got, err := b.st.FindUserByID(b.d.System(), u.ID)
		require.NoError(t, err)
		require.Equal(t, u.Active(), got.Active(), "hand-made %s untouched", b.d.Labels[u.ID])
		require.Equal(t, u.Name, got.Name)
	}
}

// without returns s without element i (a copy).
func without(s []string, i int) []string {
	out := append([]string(nil), s[:i]...)
	return append(out, s[i+1:]...)
}

func testRosterBadRows(t *testing.T, open Opener) {
	b := setupRoster(t, open)
	users := append([]string(nil), rosterUsers...)
	users = append(users,
		"par-9,,,true,s-oak,parent,,,Copy,Cat,,,"+b.d.LincolnParent.Email+",,,,,", // line 9: a hand-made user's email
		"tea-1,,,true,s-oak,teacher,,,Mia,Again,,,mia2@oak.example,,,,,",          // line 10: the same sourcedId
		"par-8,,,true,s-oak,parent,,,Dup,Mail,,,rosa@family.example,,,,,",         // line 11: an email on line 6
		"stu-9,,,true,s-nowhere,student,,,Lost,Child,,,,,,,02,",                   // line 12: no such school
		"par-7,,,true,s-oak,parent,,,No,Way,,,,,,,,",                              // line 13: unreachable
	)
	b.write(t, rosterOrgs, users)
	imp := b.run(t, false)
	require.Equal(t, 5, imp.Counts.Users.Created, "the good rows go in")
	require.Equal(t, 2, imp.Counts.Students.Created)
	require.Equal(t, 5, imp.ErrorCount)
	lines := map[int]string{}
	for _, e := range imp.Errors {
		require.Equal(t, "users.csv", e.File)
		lines[e.Line] = e.Message
	}
	require.Contains(t, lines[9], "already belongs to another user")
	require.Contains(t, lines[10], "is on an earlier line too")
	require.Contains(t, lines[11], "is on an earlier row of users.csv too")
	require.Contains(t, lines[12], "names no school")
	require.Contains(t, lines[13], "needs an email or a phone number")
	require.Len(t, lines, 5)
	got, err := b.st.FindUserByID(b.d.System(), b.d.LincolnParent.ID)
	require.NoError(t, err)
	require.Equal(t, b.d.LincolnParent.Name, got.Name, "the hand-made user is untouched")

	// A bad row of someone imported before does not deactivate them.
	users[2] = "par-1,,,true,s-oak,parent,,,Ana,Garcia,,,not-an-email,,,,,"
	b.write(t, rosterOrgs, users)
	imp = b.run(t, false)
	require.Zero(t, imp.Counts.Users.Deactivated)
	require.True(t, b.user(t, "par-1").Active)
}

func testRosterDryRun(t *testing.T, open Opener) {
	b := setupRoster(t, open)
	b.write(t, rosterOrgs, rosterUsers)
	count := func() int {
		return sendCount(t, b.db, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM students) + (SELECT COUNT(*) FROM locations)
			+ (SELECT COUNT(*) FROM guardianships) + (SELECT COUNT(*) FROM contact_points)`)
	}
	before := count()
	dry := b.run(t, true)
	require.True(t, dry.DryRun)
	require.Equal(t, before, count(), "a dry run changes nothing")
	real := b.run(t, false)
	require.Equal(t, dry.Counts, real.Counts, "the dry run reports what the import does")
}

func testRosterAccess(t *testing.T, open Opener) {
	b := setupRoster(t, open)
	for _, u := range []*whitecross.User{b.d.LincolnAdmin, b.d.LincolnNurse, b.d.LincolnParent} {
		_, err := b.st.StartRosterImport(b.d.As(u), false)
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	first, err := b.st.StartRosterImport(b.d.As(b.d.Admin), true)
	require.NoError(t, err)
	_, err = b.st.StartRosterImport(b.d.As(b.d.Admin), false)
	requireCode(t, err, whitecross.ECONFLICT, "")

	// A server that stopped mid-import does not block the district forever.
	b.clock.Advance(11 * time.Minute)
	_, err = b.st.StartRosterImport(b.d.As(b.d.Admin), false)
	require.NoError(t, err)
	stale, err := b.st.FindRosterImport(b.d.As(b.d.Admin), first.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.RosterFailed, stale.Status)

	other := SeedDistrictSlug(t, b.st, "shelbyville")
	_, err = b.st.FindRosterImport(other.As(other.Admin), first.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
}

// RosterZip is the suite's OneRoster set (a district, a school, two
// students, their guardians, a teacher and a principal) as a .zip, for
// the API and browser tests.
func RosterZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := map[string]string{
		"manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
		"orgs.csv":     rosterOrgs,
		"users.csv":    rosterUsersHeader + strings.Join(rosterUsers, "\n") + "\n",
	}
	for _, name := range []string{"manifest.csv", "orgs.csv", "users.csv"} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(files[name]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}
