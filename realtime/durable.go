package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"whitecross"
	"whitecross/wire"
)

// Notify is the store's EventNotifier (st.SetEventNotifier(g.Notify)): it
// queues the events a transaction appended for the gateway's fan-out
// goroutine, which pushes them to the connections here and publishes them
// to the other instances. It returns at once (unless a backlog of
// fanoutBacklog events waits), so the commit that called it goes on; ctx is
// not used after it returns.
func (g *Gateway) Notify(_ context.Context, evs []whitecross.Event) {
	g.fanout.push(evs, false)
}

// deliverEvents offers each event to its user's connections here, a hub
// shard at a time: one read lock per shard for all the users of evs in it,
// then each connection gets its frame. Frames come from one frameBuilder:
// a message is loaded and encoded once for all its recipients, whose
// frames differ only by the seq and id spliced in.
func (g *Gateway) deliverEvents(evs []whitecross.Event) {
	ctx, cancel := g.storeContext(context.Background())
	defer cancel()
	fb := &frameBuilder{cc: g.content}
	var conns []*conn
	var ends []int32
	var failed error
	for s, idx := range g.hub.byShard(evs) {
		if len(idx) == 0 {
			continue
		}
		conns, ends = g.hub.shardConns(s, evs, idx, conns[:0], ends[:0])
		if len(conns) == 0 {
			continue
		}
		g.fanout.handoffs.Add(1)
		from := int32(0)
		for k, i := range idx {
			cs := conns[from:ends[k]]
			from = ends[k]
			if len(cs) == 0 {
				continue
			}
			ev := &evs[i]
			frame, err := fb.frame(ctx, ev)
			if err != nil {
				// The connections find it in the log when the next event
				// shows them the gap (or when they resume).
				if failed == nil {
					g.log.Error("realtime: load event content", "type", string(ev.Type), "message_id", ev.MessageID, "error", err.Error())
				}
				failed = err
				continue
			}
			for _, c := range cs {
				if g.offerLive(c, ev.Seq, frame) {
					g.noteRead(c, ev)
				}
			}
		}
	}
}

// offerLive queues a live durable event: the next one in order goes out,
// an old one (already sent, e.g. by a replay) is dropped, and a gap (a
// notification that was lost or overtaken) starts a replay from the log.
// It reports whether the frame was queued.
func (g *Gateway) offerLive(c *conn, seq int64, frame []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.mode != modeLive:
		c.liveMax = max(c.liveMax, seq)
	case seq <= c.lastSeq:
	case seq == c.lastSeq+1:
		if c.sendLocked(frame, false) {
			c.lastSeq = seq
			return true
		}
	default:
		c.liveMax = seq
		g.startReplayLocked(c)
	}
	return false
}

// startReplayLocked switches c to replay mode and starts reading the log
// after c.lastSeq.
func (g *Gateway) startReplayLocked(c *conn) {
	c.mode = modeReplay
	go g.replay(c)
}

// replay sends the events of c's user after c.lastSeq, in order and once
// each, a page at a time, then switches c to live mode. Live events that
// arrive meanwhile only raise c.liveMax: they are in the log, and the
// replay runs until it has read past them. A gap older than the log keeps
// (or a seq the server never gave) gets resync, and the stream continues
// from the user's latest seq.
func (g *Gateway) replay(c *conn) {
	tenant, user := c.actor.TenantID, c.actor.UserID
	// A page leaves room in the queue for typing and presence frames.
	page := max(1, min(replayPage, g.cfg.SendBuffer/4))
	for idle := 0; ; {
		c.mu.Lock()
		if c.restart {
			c.lastSeq, c.restart = c.restartFrom, false
		}
		after, closed := c.lastSeq, c.closed
		c.mu.Unlock()
		if closed || !c.waitRoom(page) {
			return
		}
		r, err := g.readPage(tenant, user, after, page)
		if err != nil {
			g.log.Error("realtime: replay", "user_id", user, "error", err.Error())
			c.cut(CloseTryAgain, reasonTryAgain)
			return
		}
		evs := r.evs
		c.mu.Lock()
		switch {
		case c.restart || c.closed:
		case r.gap:
			g.stats.resyncs.Add(1)
			c.sendLocked(resyncFrame, false)
			c.lastSeq = r.last
		case len(evs) == 0 && (c.liveMax <= c.lastSeq || idle > 2):
			// Caught up. (A live seq the log does not show after three
			// reads cannot be replayed; the next event shows the gap again.)
			c.mode = modeLive
			c.mu.Unlock()
			return
		case len(evs) == 0:
			idle++
		default:
			idle = 0
			for i, ev := range evs {
				if ev.Seq != c.lastSeq+1 || !c.sendLocked(r.frames[i], false) {
					break
				}
				c.lastSeq = ev.Seq
				g.noteRead(c, &evs[i])
			}
		}
		c.mu.Unlock()
	}
}

// replayRead is one page of a replay.
type replayRead struct {
	last   int64              // the user's latest seq
	evs    []whitecross.Event // the events after the asked seq
	frames [][]byte           // their frames; nil when gap
	gap    bool               // the log no longer has (or never had) what comes next
}

// readPage reads one page of a replay within one StoreTimeout: the latest
// seq first (every event up to it is committed, so the page must start
// right after `after` unless pruned), the events, and, unless there is a
// gap, their frames.
func (g *Gateway) readPage(tenant, user string, after int64, limit int) (*replayRead, error) {
	ctx, cancel := g.storeContext(context.Background())
	defer cancel()
	last, err := g.cfg.Store.LastEventSeq(ctx, tenant, user)
	if err != nil {
		return nil, err
	}
	evs, err := g.cfg.Store.ReadEvents(ctx, tenant, user, after, limit)
	if err != nil {
		return nil, err
	}
	r := &replayRead{last: last, evs: evs, gap: after > last || (after < last && (len(evs) == 0 || evs[0].Seq != after+1))}
	if !r.gap {
		if r.frames, err = g.content.frames(ctx, evs); err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
	}
	return r, nil
}

// catchUp replays, for every live connection here, events its user has
// in the log beyond what it was sent: after the broker connection was
// lost, notifications of other instances may have been missed.
func (g *Gateway) catchUp(ctx context.Context) {
	users := g.hub.users()
	if len(users) == 0 {
		return
	}
	ids := make([]string, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	sctx, cancel := g.storeContext(ctx)
	last, err := g.cfg.Store.LastEventSeqs(sctx, ids)
	cancel()
	if err != nil {
		g.log.Error("realtime: catch up", "error", err.Error())
		return
	}
	for u, seq := range last {
		for _, c := range g.hub.conns(u) {
			c.mu.Lock()
			if !c.closed && c.mode == modeLive && seq > c.lastSeq {
				c.liveMax = seq
				g.startReplayLocked(c)
			} else if c.mode != modeLive {
				c.liveMax = max(c.liveMax, seq)
			}
			c.mu.Unlock()
		}
	}
}

// contentCacheSize is how many messages' frames are kept, and
// contentCacheTTL for how long: a 100,000-recipient broadcast dispatched in
// 1,000-recipient batches loads and decrypts its message once, not once per
// batch, and decrypted content does not linger in memory.
const (
	contentCacheSize = 256
	contentCacheTTL  = time.Minute
)

// contentCache builds durable frames from log entries, loading each
// message once for all its recipients (and once for its sender).
type contentCache struct {
	st  Store
	now func() time.Time
	// encodes counts JSON encodings of content (a message's template, its
	// sender's view, a frame of another type), so tests can check that a
	// fan-out encodes a message once whatever its recipients.
	encodes atomic.Uint64

	mu    sync.Mutex
	items map[contentKey]*contentEntry
	order []contentKey // oldest first, for eviction
}

type contentKey struct {
	tenant, message string
	sender          bool
}

// contentEntry is one message's encoded content; done is closed once
// loaded, so concurrent fan-outs wait for one load instead of repeating it.
type contentEntry struct {
	done     chan struct{}
	loaded   time.Time
	template *messageTemplate // recipients' view
	sender   []byte           // sender's view (the message JSON)
	err      error
}

func newContentCache(st Store, now func() time.Time) *contentCache {
	return &contentCache{st: st, now: now, items: map[contentKey]*contentEntry{}}
}

// frames returns the frame of each event.
func (cc *contentCache) frames(ctx context.Context, evs []whitecross.Event) ([][]byte, error) {
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		f, err := cc.frame(ctx, ev)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// frame returns the durable frame of one event for its user.
func (cc *contentCache) frame(ctx context.Context, ev whitecross.Event) ([]byte, error) {
	if ev.Type == whitecross.EventMessageCreated {
		return cc.messageFrame(ctx, ev)
	}
	cc.encodes.Add(1)
	switch ev.Type {
	case whitecross.EventDeliveryUpdated:
		// A live event of this instance carries the delivery as committed;
		// replayed and relayed ones read it (not cached: it changes).
		d := ev.Delivery
		if d == nil {
			var err error
			if d, err = cc.st.EventDelivery(ctx, ev.TenantID, ev.DeliveryID); err != nil {
				return nil, fmt.Errorf("load delivery: %w", err)
			}
		}
		return encodeFrame(frameDeliveryUpdated, ev.Seq, wire.DeliveryUpdate{MessageID: ev.MessageID, Delivery: wire.DeliveryFrom(d)}), nil
	case whitecross.EventReceiptRead:
		return encodeFrame(frameReceiptRead, ev.Seq, wire.ReceiptRead{MessageID: ev.MessageID, UserID: ev.ActorID, ReadAt: ev.At}), nil
	case whitecross.EventAckReceived:
		return encodeFrame(string(whitecross.EventAckReceived), ev.Seq, wire.AckReceived{MessageID: ev.MessageID, UserID: ev.ActorID, AckedAt: ev.At}), nil
	}
	return nil, fmt.Errorf("unknown event type %q", ev.Type)
}

// messageFrame returns a message.created frame: a recipient's is the
// message's template with its seq and id spliced in, the sender's its own
// view of the message.
func (cc *contentCache) messageFrame(ctx context.Context, ev whitecross.Event) ([]byte, error) {
	e, err := cc.load(ctx, contentKey{tenant: ev.TenantID, message: ev.MessageID})
	if err != nil {
		return nil, err
	}
	if e.template.senderID != ev.UserID {
		return e.template.frame(ev.Seq, ev.UserID), nil
	}
	own, err := cc.load(ctx, contentKey{tenant: ev.TenantID, message: ev.MessageID, sender: true})
	if err != nil {
		return nil, err
	}
	cc.encodes.Add(1)
	return encodeFrame(frameMessageCreated, ev.Seq, json.RawMessage(own.sender)), nil
}

// load returns the cached content of k, loading it once.
func (cc *contentCache) load(ctx context.Context, k contentKey) (*contentEntry, error) {
	now := cc.now()
	cc.mu.Lock()
	e := cc.items[k]
	if e != nil && now.Sub(e.loaded) > contentCacheTTL {
		e = nil // stale: load again (the entry is replaced below)
	}
	if e == nil {
		e = &contentEntry{done: make(chan struct{}), loaded: now}
		if _, replaced := cc.items[k]; !replaced {
			cc.order = append(cc.order, k)
		}
		cc.items[k] = e
		if len(cc.order) > contentCacheSize {
			delete(cc.items, cc.order[0])
			cc.order = cc.order[1:]
		}
		cc.mu.Unlock()
		cc.fill(ctx, k, e)
		close(e.done)
	} else {
		cc.mu.Unlock()
		<-e.done
	}
	if e.err != nil {
		cc.mu.Lock()
		if cc.items[k] == e {
			delete(cc.items, k) // try again next time
		}
		cc.mu.Unlock()
		return nil, e.err
	}
	return e, nil
}

func (cc *contentCache) fill(ctx context.Context, k contentKey, e *contentEntry) {
	m, err := cc.st.EventMessage(ctx, k.tenant, k.message, k.sender)
	if err != nil {
		e.err = fmt.Errorf("load message: %w", err)
		return
	}
	cc.encodes.Add(1)
	if k.sender {
		if e.sender, err = json.Marshal(wire.MessageFrom(m)); err != nil {
			e.err = fmt.Errorf("encode message %s: %w", k.message, err)
		}
		return
	}
	t, ok := newMessageTemplate(m)
	if !ok {
		e.err = fmt.Errorf("encode message %s", k.message)
		return
	}
	e.template = t
}

// frameArenaSize is the size of the blocks recipients' frames are cut
// from: 64 frames of a 1 KB message share one allocation.
const frameArenaSize = 64 << 10

// frameBuilder builds the frames of one fan-out. It keeps the content it
// looked up last (a dispatch batch is one message, so the cache is asked
// once per batch, not per recipient) and cuts recipients' frames from
// shared blocks instead of allocating each.
type frameBuilder struct {
	cc    *contentCache
	key   contentKey
	entry *contentEntry
	err   error
	arena []byte
}

// frame returns the durable frame of ev for its user.
func (b *frameBuilder) frame(ctx context.Context, ev *whitecross.Event) ([]byte, error) {
	if ev.Type != whitecross.EventMessageCreated {
		return b.cc.frame(ctx, *ev)
	}
	k := contentKey{tenant: ev.TenantID, message: ev.MessageID}
	if b.key != k || (b.entry == nil && b.err == nil) {
		b.key = k
		b.entry, b.err = b.cc.load(ctx, k)
	}
	if b.err != nil {
		return nil, b.err
	}
	t := b.entry.template
	if t.senderID == ev.UserID {
		return b.cc.frame(ctx, *ev) // the sender's own view
	}
	n := t.frameLen(ev.Seq, ev.UserID)
	if cap(b.arena)-len(b.arena) < n {
		b.arena = make([]byte, 0, max(n, frameArenaSize))
	}
	start := len(b.arena)
	b.arena = t.appendFrame(b.arena, ev.Seq, ev.UserID)
	return b.arena[start:len(b.arena):len(b.arena)], nil
}
