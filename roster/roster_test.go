package roster_test

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/roster"
)

const (
	orgsHeader  = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
	usersHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)

// writeSet writes files into a new directory and returns its path.
func writeSet(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// zipSet writes files into a .zip under a dated folder, as SIS exports do.
func zipSet(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "roster.zip")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for name, content := range files {
		w, err := zw.Create("2026-12-07/" + name)
		require.NoError(t, err)
		_, err = w.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return p
}

// readAll opens path and collects every org, user and row error.
func readAll(t *testing.T, path string) ([]roster.Org, []roster.User, []roster.RowError) {
	t.Helper()
	src, err := roster.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	set, err := roster.Read(src)
	require.NoError(t, err)
	var (
		orgs  []roster.Org
		users []roster.User
		bad   []roster.RowError
	)
	collectBad := func(e roster.RowError) { bad = append(bad, e) }
	require.NoError(t, set.EachOrg(func(o roster.Org) error { orgs = append(orgs, o); return nil }, collectBad))
	require.NoError(t, set.EachUser(func(u roster.User) error { users = append(users, u); return nil }, collectBad))
	return orgs, users, bad
}

var sampleSet = map[string]string{
	"manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.courses,absent\n",
	"orgs.csv": "\xEF\xBB\xBF" + orgsHeader +
		"st-1,,,State of Ohio,state,,\n" +
		"d-1,,,Lincoln Unified,district,,st-1\n" +
		"s-1,,,Lincoln Elementary,school,,d-1\n" +
		",,,No Id School,school,,d-1\n",
	"users.csv": usersHeader +
		"stu-1,,,true,s-1,student,,,Sofia,Garcia,,,,,,\"par-1,rel-1\",KG,\n" +
		"stu-2,,,true,s-1,student,,,Liam,Nguyen,,,,,,par-1,03,\n" +
		"par-1,,,true,s-1,parent,,,Ana,Garcia,,,Ana@Example.org,(555) 201-3344,,stu-1,,\n" +
		"rel-1,,,true,s-1,relative,,,Rosa,Garcia,,,,,+52 55 1234 5678,stu-1,,\n" +
		"tea-1,,,false,\"s-1,d-1\",teacher,,,Mia,Jones,,,mia@lincoln.example,,,,,\n" +
		"adm-1,,,true,s-1,administrator,,,Sam,Lee,,,sam@lincoln.example,,,,,\n" +
		"bad-1,,,true,s-1,wizard,,,Oz,Great,,,oz@example.org,,,,,\n" +
		"bad-2,,,true,s-1,parent,,,No,Contact,,,,,,stu-2,,\n" +
		"bad-3,,,maybe,s-1,teacher,,,\"Multi\nLine\",Name,,,ml@example.org,,,,,\n" +
		"bad-4,,,true,s-1,guardian,,,Pat,Phone,,,,12,,,,\n" +
		"stu-3,,,true,,student,,,No,School,,,,,,,02,\n",
}

func TestReadMapsRowsFromDirectoryAndZip(t *testing.T) {
	t.Parallel()
	for name, path := range map[string]string{"directory": writeSet(t, sampleSet), "zip": zipSet(t, sampleSet)} {
		t.Run(name, func(t *testing.T) {
			orgs, users, bad := readAll(t, path)

			// The state is read past; the row without an id is reported.
			require.Equal(t, []roster.Org{
				{Line: 3, SourcedID: "d-1", Name: "Lincoln Unified", Kind: whitecross.LocationDistrict, ParentSourcedID: "st-1"},
				{Line: 4, SourcedID: "s-1", Name: "Lincoln Elementary", Kind: whitecross.LocationSchool, ParentSourcedID: "d-1"},
			}, orgs)

			byID := map[string]roster.User{}
			for _, u := range users {
				byID[u.SourcedID] = u
			}
			require.Len(t, users, 6)
			require.Equal(t, roster.User{Line: 2, SourcedID: "stu-1", Student: true, Name: "Sofia Garcia", Grade: "K",
				Orgs: []string{"s-1"}, Agents: []string{"par-1", "rel-1"}, Enabled: true}, byID["stu-1"])
			require.Equal(t, "3", byID["stu-2"].Grade)
			require.Equal(t, roster.User{Line: 4, SourcedID: "par-1", Role: whitecross.RoleGuardian, Custody: true, Name: "Ana Garcia",
				Email: "ana@example.org", Phone: "+15552013344", Orgs: []string{"s-1"}, Agents: []string{"stu-1"}, Enabled: true}, byID["par-1"])
			require.False(t, byID["rel-1"].Custody, "a relative has no custody")
			require.Equal(t, "+525512345678", byID["rel-1"].Phone)
			require.Equal(t, whitecross.RoleStaff, byID["tea-1"].Role)
			require.False(t, byID["tea-1"].Enabled)
			require.Equal(t, []string{"s-1", "d-1"}, byID["tea-1"].Orgs)
			require.Equal(t, whitecross.RoleSchoolAdmin, byID["adm-1"].Role)

			// Bad rows name their file and the line the row starts on
			// (the quoted name spans two lines).
			require.Equal(t, []roster.RowError{
				{File: "orgs.csv", Line: 5, Message: "sourcedId is empty"},
				{File: "users.csv", Line: 8, Message: `role "wizard" is not one we import (student, parent, guardian, relative, teacher, aide, proctor, administrator)`, SourcedID: "bad-1"},
				{File: "users.csv", Line: 9, Message: "a guardian needs an email or a phone number, or they cannot be reached", SourcedID: "bad-2"},
				{File: "users.csv", Line: 10, Message: `enabledUser must be true or false, not "maybe"`, SourcedID: "bad-3"},
				{File: "users.csv", Line: 12, Message: `sms "12" is not a phone number (write it like +15551234567 or (555) 123-4567)`, SourcedID: "bad-4"},
				{File: "users.csv", Line: 13, Message: "a student needs orgSourcedIds (their school)", SourcedID: "stu-3"},
			}, bad)
		})
	}
}

func TestReadRefusesWhatIsNotOneRoster(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"no users.csv":      {"orgs.csv": orgsHeader},
		"missing columns":   {"orgs.csv": orgsHeader, "users.csv": "id,name\n1,Ana\n"},
		"another version":   {"manifest.csv": "propertyName,value\noneroster.version,1.2\n", "orgs.csv": orgsHeader, "users.csv": usersHeader},
		"unknown file mode": {"manifest.csv": "propertyName,value\nfile.users,sometimes\n", "orgs.csv": orgsHeader, "users.csv": usersHeader},
		"empty file":        {"orgs.csv": "", "users.csv": usersHeader},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			src, err := roster.Open(writeSet(t, files))
			require.NoError(t, err)
			_, err = roster.Read(src)
			require.ErrorIs(t, err, roster.ErrNotOneRoster)
		})
	}
	t.Run("not a zip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "roster.zip")
		require.NoError(t, os.WriteFile(p, []byte("hello"), 0o600))
		_, err := roster.Open(p)
		require.ErrorIs(t, err, roster.ErrNotOneRoster)
	})
}

func TestDeltaRowsAndAbsentFiles(t *testing.T) {
	t.Parallel()
	path := writeSet(t, map[string]string{
		"manifest.csv": "propertyName,value\noneroster.version,1.1\nfile.orgs,absent\nfile.users,delta\n",
		"users.csv":    usersHeader + "par-9,tobedeleted,2026-12-01,,,,,,,,,,,,,,,\n",
	})
	orgs, users, bad := readAll(t, path)
	require.Empty(t, orgs, "an absent orgs.csv is not read (nor required)")
	require.Empty(t, bad)
	require.Equal(t, []roster.User{{Line: 2, SourcedID: "par-9", Deleted: true}}, users)
}

func TestEachUserStopsOnHandlerError(t *testing.T) {
	t.Parallel()
	src, err := roster.Open(writeSet(t, sampleSet))
	require.NoError(t, err)
	set, err := roster.Read(src)
	require.NoError(t, err)
	stop := errors.New("stop")
	n := 0
	err = set.EachUser(func(roster.User) error { n++; return stop }, func(roster.RowError) {})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func TestE164AndGrade(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{"(555) 201-3344": "+15552013344", "1-555-201-3344": "+15552013344",
		"+44 20 7946 0958": "+442079460958", "555.201.3344": "+15552013344"} {
		got, ok := roster.E164(raw)
		require.True(t, ok, raw)
		require.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"12", "055 201 3344", "ext 12", "+0 123 4567", "201-3344"} {
		_, ok := roster.E164(raw)
		require.False(t, ok, raw)
	}
	for g, want := range map[string]string{"KG": "K", "01": "1", "12": "12", "PK": "PK", "tk": "TK", "Other": "OTHER", "00": "00"} {
		require.Equal(t, want, roster.Grade(g), g)
	}
}
