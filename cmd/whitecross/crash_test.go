package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
	"whitecross/store/storetest"
)

// crashRecipients is how many people the crash test emails: one EMAIL
// delivery each.
const crashRecipients = 2000

// TestDeliveriesSurviveSIGKILL is the pipeline's crash-safety proof. A real
// `whitecross serve` (this test binary re-run as main) emails 2,000
// recipients through a slow SMTP server; the test kills it with SIGKILL
// mid-flight, starts it again, and checks that every delivery reached the
// SMTP server, with no more duplicates than deliveries that were running
// at the kill (sent, but not yet recorded as sent).
func TestDeliveriesSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		mailbox := startSlowSMTP(t, 5*time.Millisecond)
		e := newEnv(t, d).with(
			"WHITECROSS_SMTP_URL", "smtp://"+mailbox.addr,
			"WHITECROSS_EMAIL_FROM", "Crash Test <no-reply@crash.example>",
			// A process killed mid-job leaves its jobs "running": they are
			// rescued after this, so the test waits under a minute, not
			// two. The timeouts stay well above what a batch or a send
			// takes on a loaded CI machine under the race detector (a
			// dispatch attempt that always timed out would never finish).
			"WHITECROSS_QUEUE_RESCUE_AFTER", "45s",
			"WHITECROSS_DELIVER_TIMEOUT", "20s",
			"WHITECROSS_DISPATCH_TIMEOUT", "30s",
		)
		mustCLI(t, e, "", "migrate", "up")
		mustCLI(t, e, "", "tenant", "create", "--slug", "crash", "--name", "Crash USD")
		mustCLI(t, e, "a long enough password\n", "user", "create", "--tenant", "crash",
			"--email", "admin@crash.example", "--name", "Crash Admin", "--role", "ADMIN", "--password-stdin")

		// One pool for the test's own queries: a pool per poll would hold a
		// connection each until the test ends.
		db := openEnvDB(t, e)
		child := startChild(t, e)
		token := child.login(t, "crash", "admin@crash.example", "a long enough password")
		var loc struct {
			ID string `json:"id"`
		}
		require.Equal(t, http.StatusCreated, child.do(t, http.MethodPost, "/api/v1/locations", token,
			map[string]any{"name": "Crash Elementary", "kind": "SCHOOL"}, &loc))
		recipients := bulkRecipients(t, db, "crash", loc.ID, crashRecipients)

		var msg struct {
			ID string `json:"id"`
		}
		require.Equal(t, http.StatusCreated, child.do(t, http.MethodPost, "/api/v1/messages", token, map[string]any{
			"recipient_ids": recipients, "subject": "Early dismissal", "body": "School closes at noon today.",
			"category": "GENERAL", "priority": "MEDIUM", "channels": []string{"IN_APP", "EMAIL"},
		}, &msg))

		// Kill it mid-flight: some emails out, most still to go.
		testutil.WaitUntil(t, 10*time.Minute, "the first emails", func() bool { return mailbox.distinct() >= crashRecipients/5 })
		child.kill(t)
		inFlight := runningDeliverJobs(t, db)
		before := mailbox.distinct()
		t.Logf("killed with %d of %d emails out and %d deliver jobs running", before, crashRecipients, inFlight)
		require.Less(t, before, crashRecipients, "the kill came after every email was out: the test proves nothing")

		startChild(t, e)
		testutil.WaitUntil(t, 10*time.Minute, "every email", func() bool { return mailbox.distinct() == crashRecipients })
		total, distinct := mailbox.counts()
		t.Logf("after restart: %d distinct emails, %d duplicates", distinct, total-distinct)
		require.Equal(t, crashRecipients, distinct, "no delivery is lost")
		require.LessOrEqual(t, total-distinct, inFlight, "duplicates are at most the deliveries in flight at the kill")
		// A send cut off by the kill before its outcome was recorded waits
		// for River's rescuer: the rescue delay (45s) plus its interval
		// (30s) after the kill, which every email may well beat.
		testutil.WaitUntil(t, 2*time.Minute, "every delivery recorded SENT", func() bool {
			return countWhere(t, db, "SELECT COUNT(*) FROM deliveries WHERE channel = 'EMAIL' AND status = 'SENT'") == crashRecipients
		})
	})
}

// child is a `whitecross serve` in its own process, so it can be SIGKILLed.
type child struct {
	cmd    *exec.Cmd
	url    string
	stderr *testutil.SyncBuffer
	exited chan error
}

func startChild(t *testing.T, e testEnv) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "DATABASE_URL=", "WHITECROSS_MASTER_KEY=")
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c := &child{cmd: cmd, stderr: &testutil.SyncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = io.Discard, c.stderr
	require.NoError(t, cmd.Start())
	go func() { c.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
		c.exited <- nil
		if t.Failed() {
			logs := c.stderr.String()
			t.Logf("serve's last log lines:\n%s", logs[max(0, len(logs)-4000):])
		}
	})
	deadline := time.After(serveStartLimit)
	for c.url == "" {
		select {
		case err := <-c.exited:
			c.exited <- err
			t.Fatalf("serve exited early: %v\n%s", err, c.stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start: %s", c.stderr.String())
		case <-time.After(10 * time.Millisecond):
			c.url = listeningURL(c.stderr.String())
		}
	}
	return c
}

// kill sends SIGKILL: no shutdown, no deferred work, jobs left running.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	err := <-c.exited
	c.exited <- err
}

func (c *child) do(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	s := &server{t: t, URL: c.url}
	return s.do(method, path, token, body, out)
}

func (c *child) login(t *testing.T, tenant, email, password string) string {
	t.Helper()
	s := &server{t: t, URL: c.url}
	return s.login(tenant, email, password)
}

// bulkRecipients adds n staff with email addresses at a location, straight
// into the database (the API would take minutes for 2,000 users).
func bulkRecipients(t *testing.T, db *store.DB, slug, loc string, n int) []string {
	t.Helper()
	var tenantID string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT id FROM tenants WHERE slug = $1", slug).Scan(&tenantID))
	return storetest.BulkStaff(t, db, tenantID, loc, n)
}

func runningDeliverJobs(t *testing.T, db *store.DB) int {
	return countWhere(t, db, "SELECT COUNT(*) FROM river_job WHERE kind = 'deliver' AND state = 'running'")
}

func countWhere(t *testing.T, db *store.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), query).Scan(&n))
	return n
}

// slowSMTP is a real SMTP server (go-smtp) that takes a while over each
// message and counts messages by the X-Whitecross-Delivery header.
type slowSMTP struct {
	addr  string
	delay time.Duration
	mu    sync.Mutex
	seen  map[string]int
	total int
}

func startSlowSMTP(t *testing.T, delay time.Duration) *slowSMTP {
	t.Helper()
	m := &slowSMTP{delay: delay, seen: map[string]int{}}
	srv := gosmtp.NewServer(m)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

func (m *slowSMTP) distinct() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

func (m *slowSMTP) counts() (total, distinct int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total, len(m.seen)
}

// NewSession implements gosmtp.Backend.
func (m *slowSMTP) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &slowSession{m: m}, nil }

type slowSession struct{ m *slowSMTP }

func (s *slowSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *slowSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *slowSession) Reset()                                 {}
func (s *slowSession) Logout() error                          { return nil }

// Data reads the message, waits (the slow provider), then accepts it.
func (s *slowSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, msg.Body)
	id := msg.Header.Get("X-Whitecross-Delivery")
	time.Sleep(s.m.delay)
	s.m.mu.Lock()
	s.m.seen[id]++
	s.m.total++
	s.m.mu.Unlock()
	return nil
}
