package realtime

import (
	"context"
	"strings"
	"sync"
	"time"
)

// sweep is the gateway's one timer: every Tick it closes connections whose
// token expired, ends holds after hello, pings a slice of the connections
// and queues a slice for the session check (so each connection is pinged
// every PingEvery and checked every SessionEvery without a timer of its
// own), and runs the typing and presence timers.
func (g *Gateway) sweep(ctx context.Context) {
	t := time.NewTicker(g.cfg.Tick)
	defer t.Stop()
	for tick := uint64(0); ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.sweepOnce(ctx, tick)
	}
}

// ticksOf is how many ticks make d (at least one).
func (g *Gateway) ticksOf(d time.Duration) uint64 {
	return max(1, uint64(d/g.cfg.Tick))
}

func (g *Gateway) sweepOnce(ctx context.Context, tick uint64) {
	now := g.cfg.Now()
	pingEvery, sessionEvery := g.ticksOf(g.cfg.PingEvery), g.ticksOf(g.cfg.SessionEvery)
	pongWithin := g.ticksOf(g.cfg.WriteTimeout)
	var check []*conn
	g.hub.each(func(c *conn) {
		c.mu.Lock()
		live := !c.closed
		switch {
		case !live:
		case !c.expires.IsZero() && !now.Before(c.expires):
			c.cutLocked(CloseTokenExpired, reasonTokenExpired)
			live = false
		case c.mode == modeHold && c.ready && !now.Before(c.holdUntil):
			g.endHoldLocked(c)
		}
		c.mu.Unlock()
		if !live {
			return
		}
		g.keepAlive(c, tick, pingEvery, pongWithin)
		if (c.id+tick)%sessionEvery == 0 {
			check = append(check, c)
		}
	})
	g.sessions.add(check)
	g.typing.tick(now)
	g.presence.tick(ctx, now)
	go g.flushReads(ctx)
}

// keepAlive pings c in its slice of the ticks (every PingEvery) and drops
// it when a ping got no pong within the write timeout: the peer is gone.
// The deadline is counted in the sweeper's ticks: no timer per ping.
func (g *Gateway) keepAlive(c *conn, tick, pingEvery, pongWithin uint64) {
	sent := c.pingTick.Load()
	switch {
	case sent != 0 && tick+1-sent > pongWithin:
		c.abort()
	case sent == 0 && (c.id+tick)%pingEvery == 0:
		c.pingTick.Store(tick + 1) // before the ping, so its pong clears it
		go c.ping()
	}
}

// sessionQueue holds the connections due for a session check. The sweeper
// adds a slice each tick and the checker takes everything due at once, so
// a slow round of checks delays the next slices instead of dropping them:
// every connection is checked within SessionEvery plus one round, which
// bounds how long a revoked session's socket can go on receiving frames.
// A set, so a connection waiting through a slow round is queued once.
type sessionQueue struct {
	mu    sync.Mutex
	due   map[*conn]struct{}
	ready chan struct{} // one buffered signal: something is due
}

func (q *sessionQueue) add(cs []*conn) {
	if len(cs) == 0 {
		return
	}
	q.mu.Lock()
	for _, c := range cs {
		q.due[c] = struct{}{}
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // already signalled
	}
}

func (q *sessionQueue) take() []*conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*conn, 0, len(q.due))
	for c := range q.due {
		out = append(out, c)
	}
	clear(q.due)
	return out
}

// checkSessions closes connections whose session was revoked (sign-out, a
// password change) or whose user was deactivated, with 4002, and those
// whose user's role changed since the upgrade with 4001, so the client
// reconnects with a token of the current role: a connection acts with the
// role it was opened with (presence, typing, read frames), and a demoted
// user must not keep the old one. Each round is one store call for all the
// connections due, until ctx ends.
func (g *Gateway) checkSessions(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.sessions.ready:
		}
		g.checkSessionsOnce(ctx, g.sessions.take())
	}
}

// checkSessionsOnce checks conns' sessions in one store call. When the
// store fails, nobody is closed: each is checked again in its next slice.
func (g *Gateway) checkSessionsOnce(ctx context.Context, conns []*conn) {
	if len(conns) == 0 {
		return
	}
	ids := make([]string, len(conns))
	for i, c := range conns {
		ids[i] = c.actor.SessionID
	}
	sctx, cancel := g.storeContext(ctx)
	live, err := g.cfg.Store.SessionActors(sctx, ids)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("realtime: check sessions", "error", err.Error())
		}
		return
	}
	for _, c := range conns {
		now := live[strings.ToLower(c.actor.SessionID)]
		switch {
		case now == nil || !strings.EqualFold(now.TenantID, c.actor.TenantID):
			c.cut(CloseSessionRevoked, reasonSessionRevoked)
		case now.Role != c.actor.Role, now.MFASetupOnly:
			// A session held to setting up two-step sign-in (its district
			// started requiring it, or its user turned it off) may not
			// keep a socket either.
			c.cut(CloseTokenExpired, reasonAccessChanged)
		}
	}
}
