// Package realtime is the WebSocket gateway of GET /api/v1/ws (API.md,
// Realtime; docs/realtime.md): it authenticates the upgrade, keeps each
// user's connections (one per browser tab), pushes the durable events of
// the store's event log (message.created, delivery.updated, receipt.read)
// with their per-user seq, replays them on resume, relays typing and
// presence, and shares all of it between instances through a Broker
// (in-process, PostgreSQL LISTEN/NOTIFY or Redis pub/sub).
//
// It never imports package api: the upgrade is authenticated by a function
// the wiring passes in (api.Server.AuthenticateUpgrade).
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"whitecross"
)

// Store is what the gateway reads and changes: the durable event log and
// the content and audiences of its events. *store.Store implements it (the
// wiring in cmd/whitecross hands it over); the gateway knows only this.
type Store interface {
	LastEventSeq(ctx context.Context, tenantID, userID string) (int64, error)
	LastEventSeqs(ctx context.Context, userIDs []string) (map[string]int64, error)
	ReadEvents(ctx context.Context, tenantID, userID string, after int64, limit int) ([]whitecross.Event, error)
	EventMessage(ctx context.Context, tenantID, messageID string, forSender bool) (*whitecross.Message, error)
	EventDelivery(ctx context.Context, tenantID, deliveryID string) (*whitecross.Delivery, error)
	ThreadAudience(ctx context.Context, threadID string) ([]string, error)
	// Messagers, FilterMessageable and ReachProfiles are presence's
	// reach index (presence_index.go); FindTenantByID its setting.
	Messagers(ctx context.Context, tenantID, userID string, candidates []string) ([]string, error)
	FilterMessageable(ctx context.Context, ids []string) (map[string]bool, error)
	ReachProfiles(ctx context.Context, tenantID string, userIDs []string) (map[string]whitecross.ReachProfile, error)
	FindTenantByID(ctx context.Context, id string) (*whitecross.Tenant, error)
	// SessionActors returns the live sessions among ids (by lower-case
	// id), with their tenant and current role.
	SessionActors(ctx context.Context, sessionIDs []string) (map[string]*whitecross.Actor, error)
	// SetRead is the MessageService's: a client's read frame is PUT /read.
	SetRead(ctx context.Context, id string, read bool) error
}

// Authenticator authenticates an upgrade request with the API's rules and
// returns the caller and when its access token expires (zero: never). Its
// errors are coded: EUNAUTHORIZED (answered 401), EFORBIDDEN (403, e.g. a
// cross-site Origin), anything else 500.
type Authenticator func(r *http.Request) (*whitecross.Actor, time.Time, error)

// Defaults of Config.
const (
	DefaultSendBuffer    = 256
	DefaultTick          = time.Second
	DefaultPingEvery     = 30 * time.Second
	DefaultSessionEvery  = 30 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultResumeWait    = 2 * time.Second
	DefaultPresenceGrace = 5 * time.Second
	// DefaultPresenceBatch is presence's batch window: changes within it
	// coalesce, and each watcher gets at most one frame per user.
	DefaultPresenceBatch = 250 * time.Millisecond
	// DefaultPresenceRefresh is how often a district's presence setting
	// and reach index are read again (presence_index.go).
	DefaultPresenceRefresh = time.Minute
	DefaultTypingInterval  = 2 * time.Second
	DefaultTypingTimeout   = 6 * time.Second
	DefaultHeartbeat       = 10 * time.Second
	// DefaultStoreTimeout bounds each database call and broker publish
	// of the gateway. They take milliseconds; a stalled database or
	// broker must fail the call (the client is told to try again, or the
	// frame is dropped and found later in the log), never hold a
	// connection's goroutine, and with it the connection, forever.
	DefaultStoreTimeout = 5 * time.Second
	// DefaultFramesPerSecond and DefaultFrameBurst are each connection's
	// frame budget: far above what the app sends (a ping, typing at most
	// every 2 s, a read per message opened), far below a flood.
	DefaultFramesPerSecond = 20
	DefaultFrameBurst      = 100
	// replayPage is how many events a replay reads and queues at once.
	replayPage = 100
)

// Config configures a Gateway. Zero durations and sizes take the defaults.
type Config struct {
	Store        Store
	Authenticate Authenticator
	// Broker shares events between instances; nil is in-process only.
	Broker Broker
	// Now is the clock of token expiry, typing and presence (time.Now).
	Now whitecross.Clock
	// AuditReads records the messages whose content live frames carried,
	// per user, every Tick and at Shutdown (readaudit.go); nil: not
	// recorded.
	AuditReads func(ctx context.Context, reads []whitecross.LiveRead) error
	Logger     *slog.Logger

	// SendBuffer is how many frames may wait for one slow client (256).
	SendBuffer int
	// Tick is how often the shared sweeper runs (1 s): token expiry,
	// typing expiry, presence grace, and a 1/N slice of the pings and
	// session checks.
	Tick time.Duration
	// PingEvery is how often each connection is pinged (30 s);
	// SessionEvery how often its session is checked (30 s).
	PingEvery, SessionEvery time.Duration
	// WriteTimeout bounds one frame's write and a ping's pong (10 s).
	WriteTimeout time.Duration
	// ResumeWait is how long live events wait for the client's first
	// frame after hello (2 s), so a resume never repeats one.
	ResumeWait time.Duration
	// PresenceGrace delays "offline" after a user's last tab closes (5 s).
	PresenceGrace time.Duration
	// PresenceBatch is the window within which presence changes coalesce
	// into one flush (250 ms); PresenceRefresh how often each district's
	// presence setting and reach index are read again (1 min).
	PresenceBatch, PresenceRefresh time.Duration
	// TypingInterval is the least time between two relayed "started" of a
	// user in a thread (2 s); TypingTimeout ends a "started" that no
	// "stopped" followed (6 s).
	TypingInterval, TypingTimeout time.Duration
	// Heartbeat is how often this instance tells the others it is alive
	// (10 s); one not heard from for three heartbeats is gone, and its
	// users go offline.
	Heartbeat time.Duration
	// StoreTimeout bounds each database call (reading the event log and
	// message content, a read frame, a thread's audience, presence and
	// session checks) and each broker publish (DefaultStoreTimeout).
	StoreTimeout time.Duration
	// FramesPerSecond and FrameBurst are the frames one connection may
	// send (DefaultFramesPerSecond, DefaultFrameBurst); one beyond closes
	// it with CloseTooManyFrames.
	FramesPerSecond float64
	FrameBurst      int
	// DisablePresence turns presence off for every district of this
	// gateway (each district can turn it off too: TenantSettings.Presence).
	DisablePresence bool
}

func (cfg *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = DefaultSendBuffer
	}
	def(&cfg.Tick, DefaultTick)
	def(&cfg.PingEvery, DefaultPingEvery)
	def(&cfg.SessionEvery, DefaultSessionEvery)
	def(&cfg.WriteTimeout, DefaultWriteTimeout)
	def(&cfg.ResumeWait, DefaultResumeWait)
	def(&cfg.PresenceGrace, DefaultPresenceGrace)
	def(&cfg.PresenceBatch, DefaultPresenceBatch)
	def(&cfg.PresenceRefresh, DefaultPresenceRefresh)
	def(&cfg.TypingInterval, DefaultTypingInterval)
	def(&cfg.TypingTimeout, DefaultTypingTimeout)
	def(&cfg.Heartbeat, DefaultHeartbeat)
	def(&cfg.StoreTimeout, DefaultStoreTimeout)
	if cfg.FramesPerSecond <= 0 || cfg.FrameBurst <= 0 {
		cfg.FramesPerSecond, cfg.FrameBurst = DefaultFramesPerSecond, DefaultFrameBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Broker == nil {
		cfg.Broker = NewInmemBroker()
	}
}

// Gateway serves GET /api/v1/ws. It implements http.Handler.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	instance string // this instance's id on the broker
	hub      *hub
	content  *contentCache
	fanout   *fanout
	typing   *typing
	presence *presence
	reads    liveReads
	stats    counters
	nextID   atomic.Uint64

	mu       sync.Mutex
	started  bool
	closing  bool
	stop     context.CancelFunc
	done     sync.WaitGroup
	sessions sessionQueue // connections due for a session check
}

// counters are the gateway's cumulative statistics.
type counters struct {
	slowClosed, droppedEphemeral, resyncs atomic.Uint64
}

// Stats is a snapshot of the gateway, for metrics and tests.
type Stats struct {
	Connections int
	// SlowClosed counts clients cut off because they did not read.
	SlowClosed uint64
	// DroppedEphemeral counts typing, presence and pong frames dropped
	// under pressure.
	DroppedEphemeral uint64
	// Resyncs counts resync frames sent (resume after pruned events).
	Resyncs uint64
	// Peers is how many other instances were heard from on the broker
	// (and not since found gone).
	Peers int
}

// New returns a gateway; call Start before serving and Shutdown at the end.
func New(cfg Config) *Gateway {
	cfg.defaults()
	var id [8]byte
	_, _ = rand.Read(id[:])
	g := &Gateway{cfg: cfg, log: cfg.Logger, instance: hex.EncodeToString(id[:]), hub: newHub(),
		sessions: sessionQueue{due: map[*conn]struct{}{}, ready: make(chan struct{}, 1)}}
	g.content = newContentCache(cfg.Store, cfg.Now)
	g.fanout = newFanout(g)
	g.typing = newTyping(g)
	g.presence = newPresence(g)
	return g
}

// Stats returns the current statistics.
func (g *Gateway) Stats() Stats {
	return Stats{
		Connections:      g.hub.count(),
		SlowClosed:       g.stats.slowClosed.Load(),
		DroppedEphemeral: g.stats.droppedEphemeral.Load(),
		Resyncs:          g.stats.resyncs.Load(),
		Peers:            g.presence.peers(),
	}
}

// Start runs the sweeper, the session checker, the presence worker and the
// broker subscription until Shutdown.
func (g *Gateway) Start(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return
	}
	g.started = true
	ctx, g.stop = context.WithCancel(context.WithoutCancel(ctx))
	g.done.Add(4)
	go func() { defer g.done.Done(); g.sweep(ctx) }()
	go func() { defer g.done.Done(); g.checkSessions(ctx) }()
	go func() { defer g.done.Done(); g.presence.run(ctx) }()
	go func() { defer g.done.Done(); g.subscribe(ctx) }()
}

// Shutdown closes every connection with 1001 (clients reconnect elsewhere
// and resume), tells the other instances this one is gone, and stops the
// gateway's goroutines and its broker. It waits for the connections to
// close until ctx ends. http.Server.Shutdown does not wait for WebSockets
// (they are hijacked), so call this too.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	stop := g.stop
	g.mu.Unlock()
	var err error
	for g.hub.count() > 0 && err == nil {
		// Again each round: a connection may have registered while the
		// previous round ran.
		g.hub.each(func(c *conn) { c.cut(CloseGoingAway, reasonGoingAway) })
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
		t.Stop()
	}
	g.publish(context.WithoutCancel(ctx), &wireMsg{Kind: kindBye})
	g.flushReads(context.WithoutCancel(ctx))
	if stop != nil {
		stop()
		g.done.Wait()
	}
	return errors.Join(err, g.cfg.Broker.Close())
}

// ServeHTTP authenticates the upgrade (401 or 403 problem without
// upgrading), upgrades, and serves the connection on its own goroutine
// until it closes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	if closing {
		writeProblem(w, http.StatusServiceUnavailable, "The server is shutting down; reconnect.")
		return
	}
	actor, expires, err := g.cfg.Authenticate(r)
	if err == nil && !expires.IsZero() && !g.cfg.Now().Before(expires) {
		err = whitecross.Errorf(whitecross.EUNAUTHORIZED, "The access token has expired.")
	}
	if err != nil {
		switch whitecross.ErrorCode(err) {
		case whitecross.EUNAUTHORIZED:
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeProblem(w, http.StatusUnauthorized, whitecross.ErrorMessage(err))
		case whitecross.EFORBIDDEN:
			writeProblem(w, http.StatusForbidden, whitecross.ErrorMessage(err))
		default:
			g.log.ErrorContext(r.Context(), "realtime: authenticate upgrade", "error", err.Error())
			writeProblem(w, http.StatusInternalServerError, "Internal error.")
		}
		return
	}
	// The Origin was checked by Authenticate (cookie sessions only: a
	// bearer token is not ambient authority).
	c := &conn{g: g, id: g.nextID.Add(1), actor: actor, expires: expires, mode: modeHold,
		watching: r.URL.Query().Get(presenceWatchParam) == presenceWatchValue}
	// smallHijack: coder/websocket keeps the buffers Hijack hands it.
	hj := &smallHijack{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
		OnPongReceived:     c.pong,
	})
	if err != nil {
		return // Accept answered the request
	}
	ws.SetReadLimit(maxClientFrame)
	c.ws, c.raw = ws, hj.conn
	if !g.open(c) {
		return
	}
	// The connection is hijacked: serve it on a fresh goroutine and return,
	// so the request, its headers and contexts and the middleware's stack
	// (and the database call's) are freed instead of held for the
	// connection's lifetime (wcbench measured half the stack, 8 KB, and
	// 6 KB of heap less per connection).
	go g.serve(c)
}

// open registers c and says hello; false (c closed and unregistered) when
// the event log cannot be read.
func (g *Gateway) open(c *conn) bool {
	g.presence.opened(c)
	if g.hub.add(c) {
		g.presence.localOnline(c.actor.TenantID, c.actor.UserID)
	}
	ctx, cancel := g.storeContext(context.Background())
	last, err := g.cfg.Store.LastEventSeq(ctx, c.actor.TenantID, c.actor.UserID)
	cancel()
	if err != nil {
		g.log.Error("realtime: read last seq", "error", err.Error())
		c.cut(CloseTryAgain, reasonTryAgain)
		g.unregister(c)
		return false
	}
	c.mu.Lock()
	c.lastSeq = last
	c.holdUntil = g.cfg.Now().Add(g.cfg.ResumeWait)
	c.sendLocked(encodeFrame(frameHello, 0, helloData{UserID: c.actor.UserID, LastSeq: last}), false)
	c.ready = true
	c.mu.Unlock()
	g.presence.snapshot(c)
	return true
}

// storeContext is ctx bounded by StoreTimeout, for one database call or
// broker publish.
func (g *Gateway) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, g.cfg.StoreTimeout)
}

// serve reads c's frames until it closes, then unregisters it.
func (g *Gateway) serve(c *conn) {
	ctx := context.Background()
	defer g.unregister(c)
	frames := rate.NewLimiter(rate.Limit(g.cfg.FramesPerSecond), g.cfg.FrameBurst)
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if !frames.Allow() {
			c.cut(CloseTooManyFrames, fmt.Sprintf("too many frames: at most %g a second", g.cfg.FramesPerSecond))
			return
		}
		if typ != websocket.MessageText || !g.handleFrame(c, data) {
			c.cut(CloseBadFrame, "bad frame: send JSON {\"type\",\"data\"} of a known type")
			return
		}
	}
}

// unregister forgets a closed connection; its user goes offline (after the
// grace period) when it was their last one here.
func (g *Gateway) unregister(c *conn) {
	c.abort()
	g.presence.closed(c)
	if g.hub.remove(c) {
		g.presence.localGone(c.actor.TenantID, c.actor.UserID)
		g.typing.userGone(c.actor.UserID)
	}
}

// handleFrame acts on one client frame; false for a malformed one.
func (g *Gateway) handleFrame(c *conn, data []byte) bool {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return false
	}
	resume := f.Type == frameResume
	var after int64
	if resume {
		var d resumeData
		if json.Unmarshal(f.Data, &d) != nil || d.AfterSeq == nil || *d.AfterSeq < 0 {
			return false
		}
		after = *d.AfterSeq
	}
	if !resume && f.Type != frameTyping && f.Type != frameRead && f.Type != framePing && f.Type != framePresenceWatch {
		return false
	}
	g.firstFrame(c, resume, after)
	switch f.Type {
	case frameTyping:
		var d typingData
		if json.Unmarshal(f.Data, &d) != nil || (d.State != typingStarted && d.State != typingStopped) || len(d.ThreadID) > 64 {
			return false
		}
		g.typing.handle(c, d.ThreadID, d.State)
	case frameRead:
		var d readData
		if json.Unmarshal(f.Data, &d) != nil || d.MessageID == "" || len(d.MessageID) > 64 {
			return false
		}
		// As PUT /messages/{id}/read; a message the user may not mark
		// (not theirs, not a recipient) is ignored, as the API would
		// refuse it. On its own goroutine: the database call's deep stack
		// would otherwise stay with the connection's reader.
		go func() {
			ctx, cancel := g.storeContext(whitecross.NewContextWithActor(context.Background(), c.actor))
			defer cancel()
			err := g.cfg.Store.SetRead(ctx, d.MessageID, true)
			if code := whitecross.ErrorCode(err); err != nil && code != whitecross.ENOTFOUND && code != whitecross.ECONFLICT {
				g.log.Error("realtime: read", "user_id", c.actor.UserID, "error", err.Error())
			}
		}()
	case framePing:
		c.send(pongFrame, true)
	case framePresenceWatch:
		var d presenceWatchData
		if !c.watching || json.Unmarshal(f.Data, &d) != nil || len(d.UserIDs) > MaxPresenceWatch {
			return false
		}
		g.presence.watch(c, d.UserIDs)
	}
	return true
}

// firstFrame ends the hold after hello: a resume replays from its seq,
// any other frame from hello's last_seq. A later resume restarts the replay.
func (g *Gateway) firstFrame(c *conn, resume bool, after int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.mode == modeHold && (!resume || after == c.lastSeq):
		g.endHoldLocked(c)
	case c.mode == modeHold:
		c.lastSeq = after
		g.startReplayLocked(c)
	case resume && c.mode == modeReplay:
		c.restart, c.restartFrom = true, after
	case resume:
		c.lastSeq = after
		g.startReplayLocked(c)
	}
}

// endHoldLocked ends the hold after hello for a client that is up to date
// with hello's last_seq. It goes live at once, without reading the log,
// when no live event came in the meantime: the log has nothing newer than
// hello's last_seq that its notification will not bring (an event committed
// after hello was read is offered to the connection, registered before).
// This saves a database read on nearly every connect.
func (g *Gateway) endHoldLocked(c *conn) {
	if c.liveMax <= c.lastSeq {
		c.mode = modeLive
		return
	}
	g.startReplayLocked(c)
}

// writeProblem answers a refused upgrade as the API answers errors
// (RFC 9457 problem JSON).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{http.StatusText(status), status, detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
