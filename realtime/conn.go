package realtime

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"whitecross"
)

// conn is one WebSocket. Its only long-lived goroutine is the one reading
// client frames (the HTTP handler's own); writes happen in a goroutine
// started when frames are queued and ending when the queue is empty, and
// timers live in the gateway's shared sweeper, so an idle connection costs
// its buffers and this struct.
type conn struct {
	g  *Gateway
	ws *websocket.Conn
	// raw is the hijacked socket, for pings (see ping).
	raw net.Conn
	id  uint64
	// pingTick is 1 + the sweep tick of the ping awaiting its pong, 0 when
	// none is (see Gateway.keepAlive).
	pingTick atomic.Uint64
	actor    *whitecross.Actor // the caller, for reads and permission checks
	// expires is when the access token ends (zero: never).
	expires time.Time
	// watching: opened with ?presence=watch, told the presence of only the
	// users in watched (guarded by the presence lock; presence_watch.go).
	watching bool
	watched  map[string]struct{}

	mu sync.Mutex
	// queue holds frames not yet written, at most g.cfg.SendBuffer.
	queue    []outFrame
	flushing bool
	// drained is closed (and reset) when the queue empties, for a replay
	// waiting for room.
	drained chan struct{}
	closed  bool
	ready   bool // hello is queued: other frames may follow

	// Durable stream state: lastSeq is the seq of the last durable event
	// queued; in modeHold and modeReplay live events only raise liveMax,
	// and the replay reads the log up to it.
	mode        streamMode
	lastSeq     int64
	liveMax     int64
	holdUntil   time.Time
	restart     bool // a resume arrived during a replay
	restartFrom int64
}

// streamMode says how live durable events reach a connection.
type streamMode uint8

const (
	// modeHold: hello was sent; waiting for the client's first frame (a
	// resume, normally) or the hold to end, so that a resume never repeats
	// an event already sent live.
	modeHold streamMode = iota
	// modeReplay: a replay reads the log; live events wait in the log.
	modeReplay
	// modeLive: live events are queued as they come.
	modeLive
)

// outFrame is a queued frame. Ephemeral frames (typing, presence, pong) are
// dropped first under pressure; the others (durable events, hello, resync)
// are never dropped: when one cannot be queued the client is cut off.
type outFrame struct {
	b         []byte
	ephemeral bool
}

// send queues a frame. An ephemeral frame is dropped when the queue is 3/4
// full; a durable one evicts the oldest ephemeral frame from a full queue,
// and when there is none the client is too slow and is cut off. It reports
// whether the frame was queued.
func (c *conn) send(b []byte, ephemeral bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendLocked(b, ephemeral)
}

func (c *conn) sendLocked(b []byte, ephemeral bool) bool {
	if c.closed {
		return false
	}
	limit := c.g.cfg.SendBuffer
	if ephemeral {
		if !c.ready || len(c.queue) >= limit*3/4 {
			c.g.stats.droppedEphemeral.Add(1)
			return false
		}
	} else if len(c.queue) >= limit {
		i := 0
		for i < len(c.queue) && !c.queue[i].ephemeral {
			i++
		}
		if i == len(c.queue) {
			c.cutLocked(CloseTooSlow, reasonTooSlow)
			c.g.stats.slowClosed.Add(1)
			return false
		}
		c.queue = append(c.queue[:i], c.queue[i+1:]...)
		c.g.stats.droppedEphemeral.Add(1)
	}
	c.queue = append(c.queue, outFrame{b: b, ephemeral: ephemeral})
	if !c.flushing {
		c.flushing = true
		go c.flush()
	}
	return true
}

// flush writes queued frames until the queue is empty. A write that does
// not finish within the write timeout closes the connection.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		if c.closed || len(c.queue) == 0 {
			c.queue = nil // free the backing array of an idle connection
			c.flushing = false
			if c.drained != nil {
				close(c.drained)
				c.drained = nil
			}
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, f.b)
		cancel()
		if err != nil {
			c.abort()
			return
		}
	}
}

// waitRoom blocks until n more frames fit in the queue, so a replay never
// overflows it. false when the connection closed or the client did not
// read for the write timeout (then it is cut off).
func (c *conn) waitRoom(n int) bool {
	n = min(n, c.g.cfg.SendBuffer)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return false
		}
		if len(c.queue)+n <= c.g.cfg.SendBuffer {
			c.mu.Unlock()
			return true
		}
		if c.drained == nil {
			c.drained = make(chan struct{})
		}
		ch := c.drained
		c.mu.Unlock()
		t := time.NewTimer(c.g.cfg.WriteTimeout)
		select {
		case <-ch:
			t.Stop()
		case <-t.C:
			c.mu.Lock()
			if !c.closed {
				c.cutLocked(CloseTooSlow, reasonTooSlow)
				c.g.stats.slowClosed.Add(1)
			}
			c.mu.Unlock()
			return false
		}
	}
}

// cut closes the connection with a close frame; the read loop then ends
// and unregisters it.
func (c *conn) cut(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutLocked(code, reason)
}

func (c *conn) cutLocked(code websocket.StatusCode, reason string) {
	if c.closed {
		return
	}
	c.closeLocked()
	// The close handshake waits for the peer; a peer that stopped reading
	// cannot even take the close frame, so it gets a second.
	go func() {
		done := make(chan struct{})
		go func() {
			_ = c.ws.Close(code, reason)
			close(done)
		}()
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			_ = c.ws.CloseNow()
		}
	}()
}

// abort drops the connection without a close frame (a dead peer, a failed
// write, the end of the read loop), unless cut is already closing it with
// a close frame.
func (c *conn) abort() {
	c.mu.Lock()
	cutting := c.closed
	c.closeLocked()
	c.mu.Unlock()
	if !cutting {
		_ = c.ws.CloseNow()
	}
}

// closeLocked marks the connection closed and frees its queue.
func (c *conn) closeLocked() {
	c.closed = true
	c.queue = nil
	if c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

// isClosed reports whether the connection is closing.
func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// pingFrame is a WebSocket ping without payload (RFC 6455 section 5.5.2).
var pingFrame = []byte{0x89, 0x00}

// ping writes a ping frame to the socket itself rather than through
// websocket.Conn.Ping, which waits for the pong with a goroutine, two
// timers and a map entry per ping: the sweeper sees the pong come back
// (pong) or not. A socket write is whole (net.Conn writes hold the
// descriptor's write lock) and frameWriter hands the socket whole frames
// only, so the ping never lands inside another frame.
func (c *conn) ping() {
	if _, err := c.raw.Write(pingFrame); err != nil {
		c.abort()
	}
}

// pong is websocket.AcceptOptions.OnPongReceived: the peer is alive.
func (c *conn) pong(context.Context, []byte) { c.pingTick.Store(0) }
