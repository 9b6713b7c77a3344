package realtime

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
)

// coder/websocket keeps, for the connection's whole life, the bufio.Reader
// and bufio.Writer that Hijack hands it: net/http's are 4 KB each, about
// 8 KB of an idle connection's 21. smallHijack hands it small ones instead.
const (
	// readBufferSize holds a typical client frame (resume, typing, read:
	// under 200 bytes) so it takes one read; a longer one is read past the
	// buffer, straight into the message.
	readBufferSize = 256
	// writeBufferSize holds any control frame (at most 2+125 bytes: ping,
	// pong, close) whole; a larger frame is gathered by frameWriter.
	writeBufferSize = 128
)

// smallHijack is the ResponseWriter given to websocket.Accept: its Hijack
// returns the connection with small buffers, and keeps the connection
// (conn) for the gateway's pings. Everything else is the wrapped writer's.
type smallHijack struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hijacks the wrapped writer (through any Unwrap chain) and replaces
// its buffers. Bytes the server had already read past the request (a client
// may send its first frame without waiting for 101) are carried over into
// the new reader, where Accept looks for them.
func (w *smallHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			_ = nc.Close()
			return nil, nil, err
		}
	}
	br := carryOver(brw.Reader, nc)
	bw := bufio.NewWriterSize(&frameWriter{w: nc}, writeBufferSize)
	w.conn = nc
	return nc, bufio.NewReadWriter(br, bw), nil
}

// carryOver returns a small reader of nc holding the bytes old had buffered.
func carryOver(old *bufio.Reader, nc net.Conn) *bufio.Reader {
	n := old.Buffered()
	if n == 0 {
		return bufio.NewReaderSize(nc, readBufferSize)
	}
	early, _ := old.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), nc), max(readBufferSize, n))
	// One fill moves all n bytes into br's buffer (a bytes.Reader gives
	// all it has to one Read), without reading nc.
	_, _ = br.Peek(n)
	return br
}

// frameWriter is what coder/websocket's small bufio.Writer writes to. A
// frame larger than that buffer reaches it in pieces (the buffer's worth,
// then the rest); it gathers them in a pooled buffer and writes each frame
// to the socket in one write (so the gateway's pings, written to the
// socket directly, always fall between two frames), so the small buffer costs no extra syscalls
// or TCP segments, and an idle connection holds no write buffer at all.
// Only coder/websocket's frame writer calls it, one call at a time.
type frameWriter struct {
	w       io.Writer
	pending *[]byte // the current frame's first pieces; nil between frames
	header  frameHeader
}

// framePool holds frameWriter's gathering buffers.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledFrame is the largest gathering buffer put back in the pool.
const maxPooledFrame = 64 << 10

func (fw *frameWriter) Write(p []byte) (int, error) {
	end := fw.header.scan(p)
	if end < 0 { // no frame ends in p
		fw.hold(p)
		return len(p), nil
	}
	var err error
	if fw.pending != nil {
		fw.hold(p[:end])
		_, err = fw.w.Write(*fw.pending)
		fw.release()
	} else {
		_, err = fw.w.Write(p[:end])
	}
	if err != nil {
		return 0, err
	}
	if end < len(p) {
		fw.hold(p[end:])
	}
	return len(p), nil
}

// hold copies p to the end of the pending frame.
func (fw *frameWriter) hold(p []byte) {
	if fw.pending == nil {
		fw.pending = framePool.Get().(*[]byte)
	}
	*fw.pending = append(*fw.pending, p...)
}

func (fw *frameWriter) release() {
	if cap(*fw.pending) <= maxPooledFrame {
		*fw.pending = (*fw.pending)[:0]
		framePool.Put(fw.pending)
	}
	fw.pending = nil
}

// frameHeader follows the frame boundaries of a stream of WebSocket frames
// (RFC 6455 section 5.2) fed to it in pieces of any size.
type frameHeader struct {
	buf  [14]byte // the header read so far (at most 2+8+4 bytes)
	n    int
	left uint64 // payload bytes of the current frame still to come
}

// scan advances over p and returns the length of p's longest prefix that
// ends where a frame ends, or -1 when no frame ends in p.
func (h *frameHeader) scan(p []byte) int {
	end := -1
	for i := 0; i < len(p); {
		if h.left > 0 {
			k := uint64(len(p) - i)
			if k > h.left {
				k = h.left
			}
			i += int(k)
			h.left -= k
			if h.left == 0 {
				end = i
			}
			continue
		}
		h.buf[h.n] = p[i]
		h.n++
		i++
		if payload, done := h.complete(); done {
			h.n, h.left = 0, payload
			if payload == 0 {
				end = i
			}
		}
	}
	return end
}

// complete reports whether the bytes read so far are a whole header, and
// the payload length it announces.
func (h *frameHeader) complete() (payload uint64, done bool) {
	if h.n < 2 {
		return 0, false
	}
	size := 2
	switch h.buf[1] & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h.buf[1]&0x80 != 0 { // masked (a client's frame)
		size += 4
	}
	if h.n < size {
		return 0, false
	}
	switch l := h.buf[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(h.buf[2:4])), true
	case 127:
		return binary.BigEndian.Uint64(h.buf[2:10]), true
	default:
		return uint64(l), true
	}
}
