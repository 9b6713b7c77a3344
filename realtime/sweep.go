package realtime

import (
	"context"
	"time"

	"whitecross"
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
			g.startReplayLocked(c)
		}
		c.mu.Unlock()
		if !live {
			return
		}
		if (c.id+tick)%pingEvery == 0 {
			go g.ping(c)
		}
		if (c.id+tick)%sessionEvery == 0 {
			check = append(check, c)
		}
	})
	if len(check) > 0 {
		select {
		case g.sessions <- check:
		default: // the checker is still busy with the last slice: these wait a round
		}
	}
	g.typing.tick(now)
	g.presence.tick(ctx, now)
}

// ping sends a WebSocket ping and drops the connection when no pong comes
// back within the write timeout: the peer is gone.
func (g *Gateway) ping(c *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.WriteTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.abort()
	}
}

// checkSessions closes connections whose session was revoked (sign-out, a
// password change) or whose user was deactivated, with 4002, and those
// whose user's role changed since the upgrade with 4001, so the client
// reconnects with a token of the current role: a connection acts with the
// role it was opened with (presence, typing, read frames), and a demoted
// user must not keep the old one. One query per session, until ctx ends.
func (g *Gateway) checkSessions(ctx context.Context) {
	for {
		var conns []*conn
		select {
		case <-ctx.Done():
			return
		case conns = <-g.sessions:
		}
		type session struct{ tenant, id string }
		bySession := map[session][]*conn{}
		for _, c := range conns {
			k := session{c.actor.TenantID, c.actor.SessionID}
			bySession[k] = append(bySession[k], c)
		}
		for k, cs := range bySession {
			now, err := g.cfg.Store.SessionActor(ctx, k.tenant, k.id)
			if err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
				if ctx.Err() == nil {
					g.log.Error("realtime: check session", "error", err.Error())
				}
				continue
			}
			for _, c := range cs {
				switch {
				case now == nil:
					c.cut(CloseSessionRevoked, reasonSessionRevoked)
				case now.Role != c.actor.Role:
					c.cut(CloseTokenExpired, reasonAccessChanged)
				}
			}
		}
	}
}
