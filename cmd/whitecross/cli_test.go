package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

func TestMigrateUpAndStatus(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		r := mustCLI(t, e, "", "migrate", "status")
		require.Contains(t, r.stdout, "VERSION")
		require.Regexp(t, `00001\s+pending\s+00001_core.sql`, r.stdout)
		require.NotContains(t, r.stdout, "applied")

		r = mustCLI(t, e, "", "migrate", "up")
		require.Regexp(t, `^Applied [1-9][0-9]* migration\(s\); the `+string(d)+` database is up to date.\n$`, r.stdout)
		r = mustCLI(t, e, "", "migrate", "status")
		require.Regexp(t, `00001\s+applied\s+00001_core.sql`, r.stdout)
		require.NotContains(t, r.stdout, "pending")
		r = mustCLI(t, e, "", "migrate", "up")
		require.Contains(t, r.stdout, "Applied 0 migration(s)")
	})
}

func TestSQLiteDataDirHoldsGeneratedKeyAndPrivateDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	dir := e["WHITECROSS_DATA_DIR"]
	r := mustCLI(t, e, "", "migrate", "up")
	require.Contains(t, r.stderr, `"level":"WARN"`)
	require.Contains(t, r.stderr, "generated a new master key")
	require.NotContains(t, r.stderr, "accessible to other users")
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "data dir mode")
	for _, name := range []string{"master.key", "whitecross.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equalf(t, os.FileMode(0o600), fi.Mode().Perm(), "%s mode", name)
	}
	key, err := os.ReadFile(filepath.Join(dir, "master.key"))
	require.NoError(t, err)

	// The second run reuses the key and does not warn about a new one.
	r = mustCLI(t, e, "", "migrate", "status")
	require.NotContains(t, r.stderr, "generated a new master key")
	again, err := os.ReadFile(filepath.Join(dir, "master.key"))
	require.NoError(t, err)
	require.Equal(t, key, again)

	// A data dir that others can enter is worth a warning.
	require.NoError(t, os.Chmod(dir, 0o755))
	r = mustCLI(t, e, "", "migrate", "status")
	require.Contains(t, r.stderr, "the data dir is accessible to other users; chmod 700 it")
}

func TestOperatorVerbsRefuseAnUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	r := cli(t, e, "", "tenant", "create", "--slug", "lincoln", "--name", "Lincoln USD")
	require.Equal(t, exitFailure, r.code)
	require.Len(t, lines(r.stderr), 2, r.stderr) // the new-master-key warning, then the reason
	require.Contains(t, r.stderr, "whitecross tenant create: the database schema is ")
	require.Regexp(t, `is [1-9][0-9]* migration\(s\) behind: run `+"`whitecross migrate up`", r.stderr)

	r = cli(t, e, "", "serve", "--addr", "127.0.0.1:0", "--no-migrate")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stderr, "whitecross serve: the database schema is ")
}

func TestTenantAndUserCreateThenSignInThroughServe(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		mustCLI(t, e, "", "migrate", "up")

		r := mustCLI(t, e, "", "tenant", "create", "--slug", "lincoln-usd", "--name", "Lincoln Unified", "--timezone", "America/Denver")
		require.Regexp(t, `^Created tenant lincoln-usd \(id [0-9a-f-]{36}, timezone America/Denver\)\.\n$`, r.stdout)

		r = cli(t, e, "", "tenant", "create", "--slug", "lincoln-usd", "--name", "Another")
		require.Equal(t, exitFailure, r.code)
		require.Equal(t, []string{"whitecross tenant create: A tenant with this slug already exists."}, lines(r.stderr))

		r = cli(t, e, "", "tenant", "create", "--slug", "Bad Slug!", "--name", "X")
		require.Equal(t, exitUsage, r.code)
		require.Len(t, lines(r.stderr), 1)
		require.Contains(t, r.stderr, "(slug)")

		r = cli(t, e, "", "tenant", "create", "--slug", "mars", "--name", "Mars", "--timezone", "Mars/Olympus_Mons")
		require.Equal(t, exitUsage, r.code, r.stderr)
		require.Contains(t, r.stderr, "(timezone)")

		r = cli(t, e, "", "user", "create", "--tenant", "nowhere", "--email", "a@b.example", "--name", "A", "--role", "ADMIN")
		require.Equal(t, exitUsage, r.code)
		require.Equal(t, []string{`whitecross user create: no tenant with slug "nowhere" (create it with ` + "`whitecross tenant create`)"}, lines(r.stderr))

		r = mustCLI(t, e, "correct horse battery staple\n", "user", "create", "--tenant", "lincoln-usd",
			"--email", "Ada.Admin@lincoln.example", "--name", "Ada Admin", "--role", "admin", "--phone", "+15551230001", "--password-stdin")
		require.Regexp(t, `^Created user [0-9a-f-]{36} \(ADMIN\) in tenant lincoln-usd\.\n$`, r.stdout)
		require.NotContains(t, r.stdout+r.stderr, "correct horse", "the password is never echoed")

		r = cli(t, e, "another password\n", "user", "create", "--tenant", "lincoln-usd",
			"--email", "ada.admin@lincoln.example", "--name", "Ada Again", "--role", "GUARDIAN", "--password-stdin")
		require.Equal(t, exitFailure, r.code, r.stderr)
		require.Len(t, lines(r.stderr), 1, r.stderr)
		require.Contains(t, r.stderr, "whitecross user create: ")

		srv := startServe(t, e)
		token := srv.login("lincoln-usd", "ada.admin@lincoln.example", "correct horse battery staple")
		var me struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/me", token, nil, &me))
		require.Equal(t, "ADMIN", me.Role)
		require.Equal(t, http.StatusUnauthorized, srv.do(http.MethodPost, "/api/v1/auth/login", "",
			map[string]string{"tenant": "lincoln-usd", "email": "ada.admin@lincoln.example", "password": "wrong password"}, nil))
		require.Equal(t, 0, srv.stop(), "serve exits 0 when its context is cancelled")
		require.Contains(t, srv.stderr.String(), `"msg":"stopped"`)
		require.NotContains(t, srv.stderr.String(), "ada.admin", "logs never carry email addresses")

		// tenant.created, user.created, the successful and the failed sign-in.
		r = mustCLI(t, e, "", "audit", "verify", "--tenant", "lincoln-usd")
		require.Regexp(t, `^OK: [4-9][0-9]* events\n$`, r.stdout)
	})
}

func TestUserCreateResolvesLocationsByNameOrID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	srv := startServe(t, e, "--demo")
	require.Equal(t, 0, srv.stop())

	r := mustCLI(t, e, "a long enough password\n", "user", "create", "--tenant", "demo", "--email", "nurse2@demo.example",
		"--name", "Second Nurse", "--role", "NURSE", "--location", "lincoln elementary", "--password-stdin")
	require.Contains(t, r.stdout, "(NURSE)")
	r = cli(t, e, "", "user", "create", "--tenant", "demo", "--email", "nurse3@demo.example",
		"--name", "Third Nurse", "--role", "NURSE", "--location", "Atlantis High")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `--location "Atlantis High": no location of this tenant has that id or name`)
	// Riverside's school is not a location of the demo tenant.
	r = cli(t, e, "", "user", "create", "--tenant", "demo", "--email", "nurse3@demo.example",
		"--name", "Third Nurse", "--role", "NURSE", "--location", "Riverside High School")
	require.Equal(t, exitUsage, r.code)

	srv = startServe(t, e)
	srv.login("demo", "nurse2@demo.example", "a long enough password")
}

func TestDemoSeedsOnceAndItsAuditLogVerifies(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		srv := startServe(t, e, "--demo")
		out := srv.stdout.String()
		require.Contains(t, out, "whitecross demo is running at "+strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
		require.Contains(t, out, `Sign in with password "whitecross demo day"`)
		for _, dt := range demoTenants() {
			for _, u := range dt.Users {
				require.Regexp(t, regexp.MustCompile(`(?m)^  `+dt.Slug+`\s+`+regexp.QuoteMeta(u.Email)+`\s+`+string(u.Role)+`$`), out)
			}
		}
		token := srv.login("demo", "nurse.lincoln@demo.example", demoPassword)
		var users struct {
			Items []struct {
				Email string `json:"email"`
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/users", token, nil, &users))
		require.NotEmpty(t, users.Items)
		for _, u := range users.Items {
			require.NotContains(t, u.Email, "riverside", "tenants are isolated")
		}
		srv.login("riverside", "guardian@riverside.example", demoPassword)

		// The demo conversations are in the parents' inboxes.
		parent := srv.login("demo", "guardian.garcia@demo.example", demoPassword)
		var inbox struct {
			Items []struct {
				Subject   string `json:"subject"`
				Sensitive bool   `json:"sensitive"`
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/messages?box=inbox", parent, nil, &inbox))
		require.Len(t, inbox.Items, 1)
		require.Equal(t, "Sofia used her inhaler today", inbox.Items[0].Subject)
		require.True(t, inbox.Items[0].Sensitive)
		require.Equal(t, 0, srv.stop())
		nUsers, nMessages := countRows(t, e, "users"), countRows(t, e, "messages")
		require.Equal(t, 12, nUsers)
		require.Equal(t, 5, nMessages, "four demo messages and one reply")

		srv = startServe(t, e, "--demo")
		require.Contains(t, srv.stdout.String(), "admin@demo.example")
		require.Equal(t, 0, srv.stop())
		require.Equal(t, nUsers, countRows(t, e, "users"), "a second --demo run creates no user")
		require.Equal(t, nMessages, countRows(t, e, "messages"), "a second --demo run sends nothing")

		for _, slug := range []string{"demo", "riverside"} {
			r := mustCLI(t, e, "", "audit", "verify", "--tenant", slug)
			require.Regexp(t, `^OK: [1-9][0-9]* events\n$`, r.stdout)
		}
	})
}

// TestDemoBannerFollowsTheStartUpLogs: in a terminal (standard output and
// error interleaved) the demo's logins come after every start-up log line
// and in one piece, and the logs are short text lines, not JSON.
func TestDemoBannerFollowsTheStartUpLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	srv := startServe(t, e, "--demo")
	srv.login("demo", "nurse.lincoln@demo.example", demoPassword)
	require.Equal(t, 0, srv.stop())

	out, banner := srv.output.String(), srv.stdout.String()
	require.Contains(t, banner, "whitecross demo is running at ")
	start := strings.Index(out, banner)
	require.GreaterOrEqual(t, start, 0, "no log line inside the banner:\n%s", out)
	before, after := out[:start], out[start+len(banner):]
	require.Contains(t, before, "msg=listening")
	require.Contains(t, before, `msg="applied migrations"`)
	require.Contains(t, after, "msg=request", "requests are logged after the banner")
	require.Contains(t, after, "msg=stopped")
	for _, l := range lines(before + after) {
		require.Regexp(t, `^time=\d\d:\d\d:\d\d level=(DEBUG|INFO|WARN|ERROR) msg=`, l)
	}
}

func TestDemoLoginsArePrintedOnlyInDemoMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	srv := startServe(t, e)
	require.Equal(t, 0, srv.stop())
	require.Empty(t, srv.stdout.String())
	require.NotContains(t, srv.stderr.String(), demoPassword)
}

func TestAuditVerifyReportsABrokenChain(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "tampered", "--name", "Tampered District")
		mustCLI(t, e, "lunchbox violin 47 harbor\n", "user", "create", "--tenant", "tampered", "--email", "a@t.example", "--name", "A", "--role", "ADMIN", "--password-stdin")
		r := mustCLI(t, e, "", "audit", "verify", "--tenant", "tampered")
		require.Equal(t, "OK: 2 events\n", r.stdout)

		db := openEnvDB(t, e)
		require.NoError(t, db.InTx(store.AllTenants(t.Context()), func(tx *store.Tx) error {
			_, err := tx.Exec(t.Context(), `UPDATE audit_events SET action = 'user.deleted' WHERE seq = 2`)
			return err
		}))
		require.NoError(t, db.Close())

		r = cli(t, e, "", "audit", "verify", "--tenant", "tampered")
		require.Equal(t, exitFailure, r.code)
		require.Equal(t, "BROKEN: event 2 does not match its hash: it was edited (1 events verified before the break)\n", r.stdout)

		r = cli(t, e, "", "audit", "verify", "--tenant", "nowhere")
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, `no tenant with slug "nowhere"`)
	})
}

// TestUserSetPassword: the operator sets a password for someone (the API
// lets only the person set their own), which ends every session of theirs.
func TestUserSetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	srv := startServe(t, e, "--demo")
	old := srv.login("demo", "guardian.smith@demo.example", demoPassword)
	require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/me", old, nil, nil))
	// Someone who forgot their password has locked their account by guessing.
	wrong := map[string]string{"tenant": "demo", "email": "guardian.smith@demo.example", "password": "was it this one"}
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, srv.do(http.MethodPost, "/api/v1/auth/login", "", wrong, nil))
	}
	require.Equal(t, http.StatusTooManyRequests, srv.do(http.MethodPost, "/api/v1/auth/login", "", wrong, nil))
	// The CLI runs with the server stopped, as the other CLI tests do: the
	// SQLite file has one writer at a time.
	require.Equal(t, 0, srv.stop())

	r := mustCLI(t, e, "an operator's new password\n", "user", "set-password", "--tenant", "demo", "--email", "Guardian.Smith@demo.example")
	require.Regexp(t, `^Set the password of user [0-9a-f-]{36} in tenant demo; every session of theirs has ended `+
		`and any sign-in lockout of the account is lifted\.\n$`, r.stdout)
	require.NotContains(t, r.stdout+r.stderr, "operator's new", "the password is never echoed")

	r = cli(t, e, "another new password\n", "user", "set-password", "--tenant", "demo", "--email", "nobody@demo.example")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Equal(t, []string{`whitecross user set-password: no user with email "nobody@demo.example" in tenant demo`}, lines(r.stderr))
	r = cli(t, e, "", "user", "set-password", "--tenant", "demo", "--email", "guardian.smith@demo.example")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "no password on the first line of standard input")
	for pw, problem := range map[string]string{"short": "12 to 128", "password1234": "too easy"} {
		r = cli(t, e, pw+"\n", "user", "set-password", "--tenant", "demo", "--email", "guardian.smith@demo.example")
		require.Equal(t, exitUsage, r.code, r.stderr)
		require.Contains(t, r.stderr, problem)
		require.NotContains(t, r.stderr, pw)
	}

	srv = startServe(t, e)
	require.Equal(t, http.StatusUnauthorized, srv.do(http.MethodGet, "/api/v1/me", old, nil, nil), "the old session ended")
	srv.login("demo", "guardian.smith@demo.example", "an operator's new password")
	require.Equal(t, 0, srv.stop())
}

// TestAuditVerifyRejectsADuplicateKeyDetail stores a detail whose first
// "role" shows a raw reader a value never logged while the last one decodes
// to the logged value, so the hash alone still matches.
func TestAuditVerifyRejectsADuplicateKeyDetail(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "forged", "--name", "Forged District")
		mustCLI(t, e, "lunchbox violin 47 harbor\n", "user", "create", "--tenant", "forged", "--email", "a@t.example", "--name", "A", "--role", "ADMIN", "--password-stdin")

		db := openEnvDB(t, e)
		require.NoError(t, db.InTx(store.AllTenants(t.Context()), func(tx *store.Tx) error {
			n, err := tx.Exec(t.Context(), `UPDATE audit_events SET detail = '{"role":"STAFF","role":"ADMIN"}' WHERE seq = 2 AND detail = '{"role":"ADMIN"}'`)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d rows tampered, want 1", n)
			}
			return err
		}))
		require.NoError(t, db.Close())

		r := cli(t, e, "", "audit", "verify", "--tenant", "forged")
		require.Equal(t, exitFailure, r.code, r.stdout)
		require.Equal(t, "BROKEN: event 2 detail is not in canonical form: it was edited (1 events verified before the break)\n", r.stdout)
	})
}
