package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// inboxMessage is a parent's first demo message read through the API: its
// subject and body, or the status of a failed read.
func inboxMessage(t *testing.T, srv *server) (subject, body string) {
	t.Helper()
	parent := srv.login("demo", "guardian.garcia@demo.example", demoPassword)
	var inbox struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/messages?box=inbox", parent, nil, &inbox))
	require.NotEmpty(t, inbox.Items)
	var m struct {
		Subject string `json:"subject"`
		Body    string `json:"body"`
	}
	require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/messages/"+inbox.Items[0].ID, parent, nil, &m))
	require.NotEmpty(t, m.Body)
	return m.Subject, m.Body
}

// TestKeysRotateDataThenMaster: on a running demo server, rotate-data
// gives the district data key v2 and the server's job re-encrypts the old
// rows (keys status reaches 100 %) while messages stay readable; the other
// district gets no key. rotate-master then re-wraps every key while that
// server and one restarted with both keys run and keep serving: a server
// with the new key alone reads everything, one with the old key alone
// refuses to start, saying why.
func TestKeysRotateDataThenMaster(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		srv := startServe(t, e, "--demo")
		subject, body := inboxMessage(t, srv)

		r := mustCLI(t, e, "", "keys", "status", "--tenant", "demo")
		require.Contains(t, r.stdout, "demo: data key v1 since ")
		require.Contains(t, r.stdout, "re-encryption 100 % (0 row(s) left)")

		r = mustCLI(t, e, "", "keys", "rotate-data", "--tenant", "demo")
		require.Regexp(t, `^Tenant demo: data key v2 seals every new write from now on\. The [1-9][0-9]* row\(s\) sealed before are re-encrypted`, r.stdout)
		require.Eventually(t, func() bool {
			return strings.Contains(mustCLI(t, e, "", "keys", "status", "--tenant", "demo").stdout, "re-encryption 100 %")
		}, 30*time.Second, 50*time.Millisecond, "the server's job re-encrypts the old rows")
		gotSubject, gotBody := inboxMessage(t, srv)
		require.Equal(t, subject, gotSubject)
		require.Equal(t, body, gotBody)
		r = mustCLI(t, e, "", "keys", "status")
		require.Contains(t, r.stdout, "demo: data key v2 since ")
		require.Regexp(t, `messages\s+v2\s+[1-9]`, r.stdout)
		require.Contains(t, r.stdout, "riverside: no data key yet", "the other district (no messages) gets none")

		// rotate-master while the server runs.
		oldKey := e["WHITECROSS_MASTER_KEY"]
		if oldKey == "" {
			b, err := os.ReadFile(filepath.Join(e["WHITECROSS_DATA_DIR"], "master.key"))
			require.NoError(t, err)
			oldKey = strings.TrimSpace(string(b))
		}
		newKey := newMasterKey(t)
		both := e.with("WHITECROSS_MASTER_KEY", newKey, "WHITECROSS_OLD_MASTER_KEY", oldKey)
		rolled := startServe(t, both) // a server restarted with both keys during the roll
		gotSubject, _ = inboxMessage(t, rolled)
		require.Equal(t, subject, gotSubject)
		r = cli(t, e.with("WHITECROSS_MASTER_KEY", newKey), "", "keys", "rotate-master")
		require.Equal(t, exitUsage, r.code, "without the old key")
		r = mustCLI(t, both, "", "keys", "rotate-master")
		require.Regexp(t, `^Re-wrapped 2 data key\(s\) and 1 signing key\(s\) under master key [0-9a-f]{16} \(0 already were\)`, r.stdout)
		for _, s := range []*server{srv, rolled} {
			gotSubject, _ = inboxMessage(t, s)
			require.Equal(t, subject, gotSubject, "running servers keep serving")
			require.Equal(t, 0, s.stop())
		}

		r = cli(t, e.with("WHITECROSS_MASTER_KEY", oldKey), "", "serve", "--addr", "127.0.0.1:0")
		require.Equal(t, exitFailure, r.code)
		require.Contains(t, r.stderr, "wrong master key")
		srv = startServe(t, e.with("WHITECROSS_MASTER_KEY", newKey))
		gotSubject, gotBody = inboxMessage(t, srv)
		require.Equal(t, subject, gotSubject)
		require.Equal(t, body, gotBody)
	})
}
