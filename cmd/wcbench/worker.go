package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// A worker is a wcbench child process that holds a share of the
// connections: one process may open only as many sockets as its open-file
// limit allows (often 20,000 or less), so the run spreads connections over
// as many workers as it needs. The run tells a worker what to dial on its
// standard input and the worker reports what happened on its standard
// output, one JSON object a line; times are wall-clock Unix nanoseconds,
// which every process on the machine shares.

// workerOp is a line the run sends to a worker.
type workerOp struct {
	Op    string `json:"op"` // "dial" or "close"
	Conn  int    `json:"i,omitempty"`
	URL   string `json:"url,omitempty"`
	Src   string `json:"src,omitempty"`
	Token string `json:"token,omitempty"`
	// Proto is "" for a whitecross connection and "centrifugo" for one
	// speaking Centrifugo's client protocol, subscribing to Channel.
	Proto   string `json:"proto,omitempty"`
	Channel string `json:"channel,omitempty"`
	// Watch, when set, is sent in a presence.watch frame after resume.
	Watch []string `json:"watch,omitempty"`
}

// workerEvent is a line a worker reports.
type workerEvent struct {
	// Ev is "up" (connected: hello received and resume sent), "fail" (the
	// dial failed), "msg" (a wcbench message.created arrived), "down" (the
	// server closed a connection) or "closed" (every connection is closed
	// after a "close" op).
	Ev   string `json:"ev"`
	Conn int    `json:"i,omitempty"`
	At   int64  `json:"t,omitempty"`
	// Nonce is the wcbench subject tag of a message.
	Nonce string `json:"n,omitempty"`
	Code  int    `json:"code,omitempty"`
	Err   string `json:"err,omitempty"`
}

// subjectPrefix starts the subject of every message wcbench sends; what
// follows it is the message's nonce.
const subjectPrefix = "wcbench "

// serverFrame is the part of a gateway frame a worker reads.
type serverFrame struct {
	Type string `json:"type"`
	Data struct {
		LastSeq int64  `json:"last_seq"`
		Subject string `json:"subject"`
	} `json:"data"`
}

// nonceOf returns the nonce of a message.created frame wcbench sent, or "".
func nonceOf(f *serverFrame) string {
	if f.Type != "message.created" || !strings.HasPrefix(f.Data.Subject, subjectPrefix) {
		return ""
	}
	return f.Data.Subject[len(subjectPrefix):]
}

// worker is one worker process's state.
type worker struct {
	dialers int // dials at once
	events  chan workerEvent

	mu      sync.Mutex
	conns   map[int]*websocket.Conn
	closing bool
	clients map[string]*http.Client // by source address
}

// runWorker reads ops from in until "close" or the end of input, reports on
// out, then closes every connection and returns.
func runWorker(ctx context.Context, in io.Reader, out io.Writer, dialers int) error {
	w := &worker{dialers: max(1, dialers), events: make(chan workerEvent, 4096),
		conns: map[int]*websocket.Conn{}, clients: map[string]*http.Client{}}
	written := make(chan error, 1)
	go func() { written <- w.writeEvents(out) }()

	dials := make(chan workerOp)
	var dialing, reading sync.WaitGroup
	for range w.dialers {
		dialing.Go(func() {
			for op := range dials {
				w.dial(ctx, op, &reading)
			}
		})
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		var op workerOp
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return fmt.Errorf("worker: bad op: %w", err)
		}
		if op.Op == "close" {
			break
		}
		if op.Op == "dial" {
			dials <- op
		}
	}
	close(dials)
	dialing.Wait()
	w.closeAll()
	reading.Wait()
	w.events <- workerEvent{Ev: "closed"}
	close(w.events)
	return <-written
}

// writeEvents writes events as JSON lines, flushing whenever none wait.
func (w *worker) writeEvents(out io.Writer) error {
	bw := bufio.NewWriter(out)
	enc := json.NewEncoder(bw)
	var err error
	for ev := range w.events {
		if err == nil {
			err = enc.Encode(ev)
		}
		if len(w.events) == 0 && err == nil {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}

// client returns the HTTP client that dials from source address src.
func (w *worker) client(src string) *http.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clients[src]
	if c == nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
		c = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}}
		w.clients[src] = c
	}
	return c
}

// dial opens one connection, waits for hello, resumes from its last_seq
// so live events flow at once, and starts reading.
func (w *worker) dial(ctx context.Context, op workerOp, reading *sync.WaitGroup) {
	if net.ParseIP(op.Src) == nil || !net.ParseIP(op.Src).IsLoopback() {
		w.events <- workerEvent{Ev: "fail", Conn: op.Conn, Err: "source address is not loopback"}
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, op.URL, &websocket.DialOptions{
		HTTPClient: w.client(op.Src),
		HTTPHeader: http.Header{"Authorization": {"Bearer " + op.Token}},
	})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		msg := err.Error()
		if resp != nil {
			msg = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)
		}
		w.events <- workerEvent{Ev: "fail", Conn: op.Conn, Err: msg}
		return
	}
	c.SetReadLimit(1 << 20)
	if err := handshake(dctx, c, op); err != nil {
		c.CloseNow()
		w.events <- workerEvent{Ev: "fail", Conn: op.Conn, Err: err.Error()}
		return
	}
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		c.CloseNow()
		return
	}
	w.conns[op.Conn] = c
	w.mu.Unlock()
	w.events <- workerEvent{Ev: "up", Conn: op.Conn, At: time.Now().UnixNano()}
	reading.Go(func() { w.read(op.Conn, c, op.Proto) })
}

// handshake is what a connection does before it counts as up: whitecross
// reads hello and resumes; Centrifugo connects and subscribes.
func handshake(ctx context.Context, c *websocket.Conn, op workerOp) error {
	if op.Proto == centrifugoProto {
		return cfHandshake(ctx, c, op.Token, op.Channel)
	}
	if err := hello(ctx, c); err != nil || op.Watch == nil {
		return err
	}
	frame, err := json.Marshal(map[string]any{"type": "presence.watch", "data": map[string]any{"user_ids": op.Watch}})
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, frame)
}

// frameNonces returns the wcbench nonces a frame carries.
func frameNonces(c *websocket.Conn, proto string, b []byte) []string {
	if proto == centrifugoProto {
		return cfNonces(c, b)
	}
	var f serverFrame
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	if n := nonceOf(&f); n != "" {
		return []string{n}
	}
	return nil
}

// hello reads the server's hello and answers with resume, as a client that
// has seen everything up to hello's last_seq.
func hello(ctx context.Context, c *websocket.Conn) error {
	_, b, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	var f serverFrame
	if err := json.Unmarshal(b, &f); err != nil || f.Type != "hello" {
		return fmt.Errorf("first frame is not hello: %.80s", b)
	}
	resume := fmt.Appendf(nil, `{"type":"resume","data":{"after_seq":%d}}`, f.Data.LastSeq)
	return c.Write(ctx, websocket.MessageText, resume)
}

// read reports every wcbench message the connection receives, stamped when
// its frame was read, until the connection closes.
func (w *worker) read(i int, c *websocket.Conn, proto string) {
	for {
		_, b, err := c.Read(context.Background())
		at := time.Now().UnixNano()
		if err != nil {
			w.mu.Lock()
			closing := w.closing
			delete(w.conns, i)
			w.mu.Unlock()
			if !closing {
				w.events <- workerEvent{Ev: "down", Conn: i, Code: int(websocket.CloseStatus(err)), Err: closeReason(err)}
			}
			return
		}
		for _, n := range frameNonces(c, proto, b) {
			w.events <- workerEvent{Ev: "msg", Conn: i, Nonce: n, At: at}
		}
	}
}

// closeReason is the close frame's reason, or the error.
func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}

// closeAll closes every connection with a normal closure, a few hundred at
// a time, giving each close handshake five seconds.
func (w *worker) closeAll() {
	w.mu.Lock()
	w.closing = true
	conns := make([]*websocket.Conn, 0, len(w.conns))
	for _, c := range w.conns {
		conns = append(conns, c)
	}
	w.mu.Unlock()
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for _, c := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			done := make(chan struct{})
			go func() { _ = c.Close(websocket.StatusNormalClosure, "wcbench done"); close(done) }()
			t := time.NewTimer(5 * time.Second)
			select {
			case <-done:
			case <-t.C:
				c.CloseNow()
			}
			t.Stop()
		})
	}
	wg.Wait()
}
