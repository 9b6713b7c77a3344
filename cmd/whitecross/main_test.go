package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestMain lets a test run the real main() in a child process (to send it
// a real SIGTERM): the child is this test binary with runMainEnv set.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const runMainEnv = "WHITECROSS_TEST_RUN_MAIN"

// testEnv is the environment one run of the program sees.
type testEnv map[string]string

func (e testEnv) get(k string) string { return e[k] }

// with returns a copy of e with more variables.
func (e testEnv) with(kv ...string) testEnv {
	out := testEnv{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// dialects are the databases the CLI tests run on.
var dialects = []store.Dialect{store.SQLite, store.Postgres}

// newEnv returns the environment of a fresh deployment on dialect d: its own
// data dir, and on PostgreSQL its own schema and a master key.
func newEnv(t *testing.T, d store.Dialect) testEnv {
	t.Helper()
	// A directory of our own: t.TempDir() is open to other users, which
	// serve rightly warns about.
	e := testEnv{"WHITECROSS_DATA_DIR": filepath.Join(t.TempDir(), "data")}
	if d == store.Postgres {
		url := storetest.PostgresURL(t)
		schema := storetest.NewPostgresSchema(t, url)
		e["DATABASE_URL"] = storetest.PostgresSchemaURL(url, schema)
		e["WHITECROSS_MASTER_KEY"] = newMasterKey(t)
	}
	return e
}

func newMasterKey(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(key)
}

// result is what one run of the program did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the program to completion with e and stdin.
func cli(t *testing.T, e testEnv, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runWith(context.Background(), e.get, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustCLI runs the program and fails the test unless it exits 0.
func mustCLI(t *testing.T, e testEnv, stdin string, args ...string) result {
	t.Helper()
	r := cli(t, e, stdin, args...)
	require.Equalf(t, 0, r.code, "whitecross %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r
}

// server is a `whitecross serve` running in the test.
type server struct {
	t      *testing.T
	URL    string
	stdout *testutil.SyncBuffer
	stderr *testutil.SyncBuffer
	// output is stdout and stderr as a terminal shows them: interleaved
	// in the order written.
	output *testutil.SyncBuffer
	cancel context.CancelFunc
	// client speaks to the server (HTTPS when it serves TLS); nil:
	// http.DefaultClient.
	client *http.Client
	done   chan int
	code   int
	once   sync.Once
}

// serveStartLimit is how long a test waits for `serve` to listen, and
// jobLimit how long it waits for background jobs to finish. Both are only
// upper bounds, generous for CI machines that run every package at once
// under the race detector; a passing test takes seconds.
const (
	serveStartLimit = 5 * time.Minute
	jobLimit        = 3 * time.Minute
)

// startServe runs `whitecross serve` on a free port of 127.0.0.1 and
// returns once /healthz answers. It is stopped at the end of the test.
func startServe(t *testing.T, e testEnv, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, output: &testutil.SyncBuffer{}, cancel: cancel, done: make(chan int, 1),
		client: serveClient(e.get("WHITECROSS_TLS_CERT_FILE"))}
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	stdout, stderr := io.MultiWriter(s.stdout, s.output), io.MultiWriter(s.stderr, s.output)
	go func() { s.done <- runWith(ctx, e.get, args, strings.NewReader(""), stdout, stderr) }()
	t.Cleanup(func() { s.stop() })

	deadline := time.Now().Add(serveStartLimit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.URL == "" {
		select {
		case code := <-s.done:
			s.code = code
			s.once.Do(func() {})
			t.Fatalf("serve exited with %d before listening\nstderr: %s", code, s.stderr.String())
		case <-tick.C:
		}
		require.Truef(t, time.Now().Before(deadline), "serve did not log \"listening\"; stderr: %s", s.stderr.String())
		s.URL = listeningURL(s.stderr.String())
	}
	for {
		resp, err := s.client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.Truef(t, time.Now().Before(deadline), "/healthz did not answer 200: %v", err)
		<-tick.C
	}
}

// textListening is the "listening" line of the text logs of --demo.
var textListening = regexp.MustCompile(`^time=\S+ level=INFO msg=listening addr=(\S+) `)

// listeningURL finds the address in the "listening" log line (JSON, or
// text with --demo).
func listeningURL(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
			TLS  bool   `json:"tls"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			if line.TLS {
				return "https://" + line.Addr
			}
			return "http://" + line.Addr
		}
		if m := textListening.FindSubmatch(sc.Bytes()); m != nil {
			return "http://" + string(m[1])
		}
	}
	return ""
}

// requireNoErrorLogged fails when the logs (JSON or text) have an error.
func requireNoErrorLogged(t *testing.T, logs string) {
	t.Helper()
	require.NotContains(t, logs, `"level":"ERROR"`)
	require.NotRegexp(t, `(?m)^time=\S+ level=ERROR `, logs)
}

// stop cancels the server's context (as SIGTERM does) and returns its exit
// code.
func (s *server) stop() int {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.code = <-s.done:
		case <-time.After(time.Minute):
			s.t.Errorf("serve did not stop within a minute of cancellation")
			s.code = -1
		}
	})
	return s.code
}

// do sends a JSON request and decodes the JSON answer into out (if non-nil).
func (s *server) do(method, path, token string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(s.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	if out != nil && len(data) > 0 {
		require.NoErrorf(s.t, json.Unmarshal(data, out), "decode %s %s: %s", method, path, data)
	}
	return resp.StatusCode
}

// login signs in and returns the access token, failing the test otherwise.
func (s *server) login(tenant, email, password string) string {
	s.t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	code := s.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"tenant": tenant, "email": email, "password": password}, &out)
	require.Equalf(s.t, http.StatusOK, code, "login %s/%s", tenant, email)
	require.NotEmpty(s.t, out.AccessToken)
	return out.AccessToken
}

// openEnvDB opens the database of e as the binary does (DATABASE_URL,
// else the SQLite file in its data dir), closed when the test ends; closing
// it sooner is fine.
func openEnvDB(t *testing.T, e testEnv) *store.DB {
	t.Helper()
	dsn := e["DATABASE_URL"]
	if dsn == "" {
		dsn = filepath.Join(e["WHITECROSS_DATA_DIR"], "whitecross.db")
	}
	db, err := store.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// countRows counts the rows of a table, every tenant's, straight from the database.
func countRows(t *testing.T, e testEnv, table string) int {
	t.Helper()
	db := openEnvDB(t, e)
	defer db.Close()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func forEachDialect(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}
