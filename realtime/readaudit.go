package realtime

import (
	"context"
	"sync"

	"whitecross"
)

// Live frames that carry a message's content are reads of it and are
// audited (message.read, via "live"). A broadcast reaches thousands of
// connections at once, so the fan-out never writes: it notes which user
// was sent which message, and every Tick (and at Shutdown) the gateway
// hands everything noted to Config.AuditReads in one call — one event per
// user naming the messages they were sent, all written in one transaction.

// maxLiveReadIDs caps the messages one event names; more start another.
const maxLiveReadIDs = 500

// liveReads collects the live reads noted since the last flush.
type liveReads struct {
	mu       sync.Mutex
	byUser   map[string]*whitecross.LiveRead
	flushing sync.Mutex // one flush at a time, in order
}

// note records that a's connection was sent message messageID's content.
func (lr *liveReads) note(a *whitecross.Actor, messageID string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.byUser == nil {
		lr.byUser = map[string]*whitecross.LiveRead{}
	}
	r := lr.byUser[a.UserID]
	if r == nil {
		r = &whitecross.LiveRead{Actor: a}
		lr.byUser[a.UserID] = r
	}
	r.MessageIDs = append(r.MessageIDs, messageID)
}

// take returns what was noted, split so that no read names more than
// maxLiveReadIDs messages, and starts afresh.
func (lr *liveReads) take() []whitecross.LiveRead {
	lr.mu.Lock()
	noted := lr.byUser
	lr.byUser = nil
	lr.mu.Unlock()
	var out []whitecross.LiveRead
	for _, r := range noted {
		for ids := r.MessageIDs; len(ids) > 0; {
			n := min(len(ids), maxLiveReadIDs)
			out = append(out, whitecross.LiveRead{Actor: r.Actor, MessageIDs: ids[:n]})
			ids = ids[n:]
		}
	}
	return out
}

// flushReads writes the noted reads (nothing without Config.AuditReads).
// A failure is logged; the frames are already sent.
func (g *Gateway) flushReads(ctx context.Context) {
	if g.cfg.AuditReads == nil {
		return
	}
	g.reads.flushing.Lock()
	defer g.reads.flushing.Unlock()
	reads := g.reads.take()
	if len(reads) == 0 {
		return
	}
	ctx, cancel := g.storeContext(ctx)
	defer cancel()
	if err := g.cfg.AuditReads(ctx, reads); err != nil {
		g.log.Error("realtime: audit live reads", "users", len(reads), "error", err.Error())
	}
}

// noteRead notes that c was sent ev when ev carries message content.
func (g *Gateway) noteRead(c *conn, ev *whitecross.Event) {
	if g.cfg.AuditReads != nil && ev.Type == whitecross.EventMessageCreated {
		g.reads.note(c.actor, ev.MessageID)
	}
}
