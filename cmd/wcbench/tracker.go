package main

import (
	"sync"
	"time"
)

// tracker collects what the workers report: which connections are up, and
// when each awaited message reached each of its recipients.
type tracker struct {
	mu       sync.Mutex
	up       map[int]bool
	upAt     []int64 // when each connection came up
	failed   int
	firstErr string
	down     map[int]int // close code -> connections the server closed
	closed   int         // workers that finished closing
	changed  chan struct{}
	awaiting map[string]*awaited
}

// awaited is a message sent and the recipients' connections it should
// reach; got holds one latency per connection reached.
type awaited struct {
	sent time.Time
	want map[int]bool
	got  latencies
	done chan struct{}
}

func newTracker() *tracker {
	return &tracker{up: map[int]bool{}, down: map[int]int{}, changed: make(chan struct{}, 1),
		awaiting: map[string]*awaited{}}
}

// apply records one worker event.
func (t *tracker) apply(ev workerEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Ev {
	case "up":
		t.up[ev.Conn] = true
		t.upAt = append(t.upAt, ev.At)
	case "fail":
		t.failed++
		if t.firstErr == "" {
			t.firstErr = ev.Err
		}
	case "down":
		if t.up[ev.Conn] {
			delete(t.up, ev.Conn)
			t.down[ev.Code]++
		}
	case "closed":
		t.closed++
	case "msg":
		a := t.awaiting[ev.Nonce]
		if a == nil || !a.want[ev.Conn] {
			return // the sender's own tab, or a message no longer awaited
		}
		delete(a.want, ev.Conn)
		a.got = append(a.got, time.Unix(0, ev.At).Sub(a.sent))
		if len(a.want) == 0 {
			delete(t.awaiting, ev.Nonce)
			close(a.done)
		}
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// await registers a message about to be sent to the recipients' conns;
// sent is taken now, before the request leaves.
func (t *tracker) await(nonce string, conns []int) *awaited {
	a := &awaited{sent: time.Now(), want: make(map[int]bool, len(conns)), done: make(chan struct{})}
	for _, c := range conns {
		a.want[c] = true
	}
	t.mu.Lock()
	t.awaiting[nonce] = a
	t.mu.Unlock()
	return a
}

// forget stops waiting for a message and returns its latencies so far
// and how many recipients it did not reach.
func (t *tracker) forget(nonce string, a *awaited) (latencies, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.awaiting, nonce)
	return a.got, len(a.want)
}

// upConns returns the connections that are up.
func (t *tracker) upConns() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]int, 0, len(t.up))
	for c := range t.up {
		out = append(out, c)
	}
	return out
}

// counts returns connections up and failed.
func (t *tracker) counts() (up, failed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.up), t.failed
}
