package realtime_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
	"whitecross/wire"
)

// The store is what the gateway reads: the wiring hands it over.
var _ realtime.Store = (*store.Store)(nil)

// publicURL is the API's configured URL: with the listen address, its
// origin is one a cookie-authenticated upgrade may come from.
const publicURL = "http://localhost:8080"

// listenAddr is where the API says it listens: with a loopback public URL,
// pages opened there are the server's own too.
const listenAddr = "127.0.0.1:8080"

// waitFor bounds every wait for a frame or a state: a failing test ends
// instead of hanging. Tests never assert durations.
const waitFor = 15 * time.Second

// bundle is a seeded district on one database, served by one or more
// instances (store + API + gateway each) that share the fake clock.
type bundle struct {
	db        *store.DB
	clock     *storetest.Clock
	masterKey []byte
	d         *storetest.District
	first     *instance
}

// instance is one server: its own Store, auth service, API and gateway.
type instance struct {
	url  string
	st   *store.Store
	auth *auth.Service
	gw   *realtime.Gateway
}

// options change an instance's gateway configuration.
type options struct {
	broker realtime.Broker
	config func(*realtime.Config)
	// listener wraps the test server's listener (small socket buffers).
	listener func(l *httptest.Server)
}

// setup serves one instance on db.
func setup(t testing.TB, db *store.DB, opts options) *bundle {
	t.Helper()
	b := &bundle{db: db, clock: storetest.NewClock(time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)), masterKey: make([]byte, 32)}
	_, _ = rand.Read(b.masterKey)
	db.Now = b.clock.Now
	b.first = b.addInstance(t, db, opts)
	b.d = storetest.SeedDistrict(t, b.first.st)
	return b
}

// addInstance starts another server on db (which may be a second handle
// on the same database).
func (b *bundle) addInstance(t testing.TB, db *store.DB, opts options) *instance {
	t.Helper()
	ctx := context.Background()
	db.Now = b.clock.Now
	v, err := vault.New(b.masterKey)
	require.NoError(t, err)
	hasher := storetest.InsecureHasher()
	st := store.New(db, hasher, v)
	keys, err := auth.LoadKeyring(ctx, st, b.clock.Now)
	require.NoError(t, err)
	authSvc := auth.NewService(auth.DefaultConfig(publicURL), auth.Deps{
		Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
		Hasher: hasher, Keys: keys, Now: b.clock.Now,
	})
	var srv *api.Server
	cfg := realtime.Config{
		Store:        st,
		Authenticate: func(r *http.Request) (*whitecross.Actor, time.Time, error) { return srv.AuthenticateUpgrade(r) },
		Broker:       opts.broker,
		Now:          b.clock.Now,
		Tick:         10 * time.Millisecond,
		AuditReads:   st.AuditLiveReads, // as serve wires it
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	gw := realtime.New(cfg)
	st.SetEventNotifier(gw.Notify)
	srv = api.New(api.Config{PublicURL: publicURL, ListenAddr: listenAddr}, api.Deps{Auth: authSvc, Tenants: st, Users: st, Locations: st,
		Students: st, Groups: st, Messages: st, Acks: st, Realtime: gw, JWKS: keys.JWKS})
	ts := httptest.NewUnstartedServer(srv)
	if opts.listener != nil {
		opts.listener(ts)
	}
	ts.Start()
	gw.Start(ctx)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, gw.Shutdown(sctx))
		ts.Close()
	})
	return &instance{url: ts.URL, st: st, auth: authSvc, gw: gw}
}

// login signs u in on inst and returns the token pair.
func (b *bundle) login(t testing.TB, inst *instance, u *whitecross.User) *whitecross.TokenPair {
	t.Helper()
	pair, _, err := inst.auth.Login(context.Background(), whitecross.LoginRequest{
		TenantSlug: b.d.Tenant.Slug, Email: u.Email, Password: storetest.SeedPassword, ClientIP: "192.0.2.7"})
	require.NoError(t, err)
	return pair
}

// frame is one server frame as a client reads it.
type frame struct {
	Type string          `json:"type"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`
}

func (f frame) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(f.Data, v), "data of %s: %s", f.Type, f.Data)
}

// client is a test WebSocket client; a goroutine reads its frames.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan frame
	done   chan struct{}
	err    error // why reading ended, once done is closed
	hello  frame
	// held are frames read early (while dial waited for its pong), which
	// next returns first.
	held []frame
}

// dialer opens a connection; header carries the credentials.
type dialer struct {
	header http.Header
	http   *http.Client
	// resume is sent right after hello; nil sends a ping instead (which
	// also ends the hold on live events).
	resume *int64
	// raw leaves hello unread and sends nothing.
	raw bool
	// query is added to the URL, e.g. "presence=watch".
	query string
}

// connect opens an authenticated connection of u to inst, reads hello and
// resumes from hello's last_seq.
func (b *bundle) connect(t *testing.T, inst *instance, u *whitecross.User) *client {
	t.Helper()
	c := b.dial(t, inst, dialer{header: bearer(b.login(t, inst, u).AccessToken)})
	var h helloData
	c.hello.decode(t, &h)
	require.Equal(t, u.ID, h.UserID)
	return c
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// dial upgrades (requiring success), reads hello, and sends d.resume or a ping.
func (b *bundle) dial(t *testing.T, inst *instance, d dialer) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	url := strings.Replace(inst.url, "http", "ws", 1) + "/api/v1/ws"
	if d.query != "" {
		url += "?" + d.query
	}
	ws, res, err := websocket.Dial(ctx, url,
		&websocket.DialOptions{HTTPHeader: d.header, HTTPClient: d.http})
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, ws: ws, frames: make(chan frame, 1024), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = ws.CloseNow() })
	if d.raw {
		return c
	}
	c.hello = c.next(t)
	require.Equal(t, "hello", c.hello.Type)
	require.Zero(t, c.hello.Seq, "hello carries no seq")
	if d.resume != nil {
		c.send(t, "resume", map[string]any{"after_seq": *d.resume})
	} else {
		c.send(t, "ping", map[string]any{})
		var early []frame
		for f := c.next(t); f.Type != "pong"; f = c.next(t) {
			early = append(early, f)
		}
		c.held = early
	}
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = err
			return
		}
		c.frames <- f
	}
}

// send writes a client frame.
func (c *client) send(t *testing.T, typ string, data any) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"type": typ, "data": data})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.ws.Write(ctx, websocket.MessageText, raw))
}

// next returns the next frame, whatever it is.
func (c *client) next(t *testing.T) frame {
	t.Helper()
	if len(c.held) > 0 {
		f := c.held[0]
		c.held = c.held[1:]
		return f
	}
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		t.Fatalf("connection closed while waiting for a frame: %v", c.err)
	case <-time.After(waitFor):
		t.Fatal("no frame arrived")
	}
	return frame{}
}

// nextOf returns the next frame of one of types, skipping presence and
// typing frames (which other tests' connections cause) unless asked for.
func (c *client) nextOf(t *testing.T, types ...string) frame {
	t.Helper()
	for {
		f := c.next(t)
		for _, typ := range types {
			if f.Type == typ {
				return f
			}
		}
		if f.Type != "presence" && f.Type != "typing" {
			t.Fatalf("got %s frame (seq %d) %s, want one of %v", f.Type, f.Seq, f.Data, types)
		}
	}
}

// sync is a barrier: every frame the server queued for c before the ping
// is read before the pong. It returns the frames in between, but for
// presence frames (the presence worker sends those when it gets to them).
func (c *client) sync(t *testing.T) []frame {
	t.Helper()
	c.send(t, "ping", map[string]any{})
	var out []frame
	for {
		f := c.next(t)
		switch f.Type {
		case "pong":
			return out
		case "presence":
		default:
			out = append(out, f)
		}
	}
}

// closed waits for the server to close the connection and returns the
// close error.
func (c *client) closed(t *testing.T) error {
	t.Helper()
	for {
		select {
		case <-c.frames:
		case <-c.done:
			return c.err
		case <-time.After(waitFor):
			t.Fatal("the server did not close the connection")
		}
	}
}

// Data types of frames, as clients decode them.
type helloData struct {
	UserID  string `json:"user_id"`
	LastSeq int64  `json:"last_seq"`
}

type typingData struct {
	ThreadID string `json:"thread_id"`
	UserID   string `json:"user_id"`
	State    string `json:"state"`
}

type presenceData struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

type receiptData struct {
	MessageID string    `json:"message_id"`
	UserID    string    `json:"user_id"`
	ReadAt    time.Time `json:"read_at"`
}

type deliveryData = wire.DeliveryUpdate

// send sends a message from u through inst's store (what POST /messages does).
func (b *bundle) send(t *testing.T, inst *instance, from *whitecross.User, subject string, to ...*whitecross.User) *whitecross.Message {
	t.Helper()
	ids := make([]string, len(to))
	for i, u := range to {
		ids[i] = u.ID
	}
	m, err := inst.st.SendMessage(b.d.As(from), &whitecross.MessageCreate{Subject: subject, Body: "Body of " + subject, RecipientIDs: ids})
	require.NoError(t, err)
	return m
}

// messageCreated reads the next message.created frame and its message.
func (c *client) messageCreated(t *testing.T) (frame, wire.Message) {
	t.Helper()
	f := c.nextOf(t, "message.created")
	var m wire.Message
	f.decode(t, &m)
	return f, m
}

// closeStatus is the close code of err, or -1 when the connection ended
// without a close frame.
func closeStatus(err error) websocket.StatusCode {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// RedisURLEnv names the Redis server of the broker tests.
const RedisURLEnv = "WHITECROSS_TEST_REDIS_URL"

// redisURL returns the test Redis URL: skipped on a developer machine
// without it, failed under CI (which must run every broker).
func redisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(RedisURLEnv)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the Redis tests", RedisURLEnv)
		}
		t.Skipf("%s is not set; set it to run the Redis tests (make test does)", RedisURLEnv)
	}
	return url
}

// noPresence turns presence off for tests about something else, so that
// presence frames do not interleave.
func noPresence(cfg *realtime.Config) { cfg.DisablePresence = true }

// quickSessionChecks checks every connection's session every 50 ms (and
// keeps presence out of the way), for tests of what ends a session.
func quickSessionChecks(cfg *realtime.Config) {
	cfg.DisablePresence = true
	cfg.SessionEvery = 50 * time.Millisecond
}

// rawConnect upgrades a bare TCP connection by hand and reads the 101
// response and the start of hello; it never reads again, so it answers no
// ping (a dead peer) and costs the test process almost nothing.
func rawConnect(t testing.TB, inst *instance, token string) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(inst.url, "http://")
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = c.Write([]byte("GET /api/v1/ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + token + "\r\n\r\n"))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "101")
	for line := ""; line != "\r\n"; {
		line, err = r.ReadString('\n')
		require.NoError(t, err)
	}
	head := make([]byte, 2)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	return c
}
