package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// writeRosterDir writes a small OneRoster set: a district, a school, a
// student, their parent and a teacher, plus a row with a bad phone.
func writeRosterDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\n",
		"orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" +
			"d-1,,,Lincoln Unified,district,,\ns-1,,,Lincoln Elementary,school,,d-1\n",
		"users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
			"stu-1,,,true,s-1,student,,,Sofia,Garcia,,,,,,par-1,03,\n" +
			"par-1,,,true,s-1,parent,,,Ana,Garcia,,,ana@family.example,5552013344,,,,\n" +
			"tea-1,,,true,s-1,teacher,,,Mia,Jones,,,mia@lincoln.example,,,,,\n" +
			"par-2,,,true,s-1,parent,,,Bad,Phone,,,,12,,stu-1,,\n",
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	return dir
}

func TestRosterImportDryRunThenImport(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "lincoln-usd", "--name", "Lincoln Unified")
		dir := writeRosterDir(t)

		r := cli(t, e, "", "roster", "import", "--tenant", "lincoln-usd", "--dry-run", dir)
		require.Equal(t, exitFailure, r.code, "a skipped row makes the exit status 1: %s", r.stderr)
		require.Contains(t, r.stdout, "Dry run (nothing changed): would import the roster of lincoln-usd")
		require.Contains(t, r.stdout, "users:     2 created, 0 updated, 0 deactivated")
		require.Contains(t, r.stdout, "students:  1 created, 0 updated, 0 deactivated")
		require.Contains(t, r.stdout, `users.csv line 5: sms "12" is not a phone number`)

		r = cli(t, e, "", "roster", "import", "--tenant", "lincoln-usd", dir)
		require.Equal(t, exitFailure, r.code)
		require.Contains(t, r.stdout, "Imported the roster of lincoln-usd")
		require.Contains(t, r.stdout, "users:     2 created, 0 updated, 0 deactivated", "the dry run changed nothing")

		r = cli(t, e, "", "roster", "import", "--tenant", "lincoln-usd", t.TempDir())
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "not a OneRoster 1.1 CSV set")
		r = cli(t, e, "", "roster", "import", "--tenant", "lincoln-usd")
		require.Equal(t, exitUsage, r.code)
	})
}
