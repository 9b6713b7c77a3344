package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// batchLinger is how long a burst's first batch waits for the rest of
// the burst: a delivery alone is recorded at most this much later.
const batchLinger = 2 * time.Millisecond

// groupRunner is group commit for work that many deliver workers ask for
// at once (loading deliveries, recording outcomes): a worker hands in its
// request and waits; while one batch runs, the requests that arrive queue,
// and the next batch takes them all (up to max). Under load the batches
// grow by themselves; alone, a request runs at once in a batch of one.
type groupRunner[In, Out any] struct {
	max int
	// linger is how long the first batch of a burst waits for more
	// requests (see gather).
	linger time.Duration
	// run answers a batch, one reply per request in order; err fails
	// them all.
	run func(ins []In) ([]reply[Out], error)

	mu      sync.Mutex
	queue   []*groupCall[In, Out]
	running bool // a goroutine is running batches

	// batches counts the batches run (tests read it).
	batches atomic.Int64
}

type reply[Out any] struct {
	val Out
	err error
}

type groupCall[In, Out any] struct {
	in   In
	done chan reply[Out]
}

// do queues in and waits for its reply, or for ctx to end (the request
// may still run).
func (g *groupRunner[In, Out]) do(ctx context.Context, in In) (Out, error) {
	c := &groupCall[In, Out]{in: in, done: make(chan reply[Out], 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go g.drain()
	}
	g.mu.Unlock()
	select {
	case r := <-c.done:
		return r.val, r.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// drain runs batches until the queue is empty. The first one gathers
// first: the jobs River fetches together reach the runner within a few
// milliseconds, and a batch of the first alone would make the others wait
// for it.
func (g *groupRunner[In, Out]) drain() {
	g.gather()
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.max)
		if n == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.runBatch(batch)
	}
}

// gather waits, at most linger, until the queue is full or stops growing
// for a tenth of linger.
func (g *groupRunner[In, Out]) gather() {
	deadline := time.Now().Add(g.linger)
	for last := g.queued(); last < g.max && time.Now().Before(deadline); {
		time.Sleep(g.linger / 10)
		n := g.queued()
		if n == last {
			return
		}
		last = n
	}
}

func (g *groupRunner[In, Out]) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func (g *groupRunner[In, Out]) runBatch(batch []*groupCall[In, Out]) {
	ins := make([]In, len(batch))
	for i, c := range batch {
		ins[i] = c.in
	}
	replies, err := g.run(ins)
	g.batches.Add(1)
	for i, c := range batch {
		if err != nil {
			c.done <- reply[Out]{err: err}
			continue
		}
		c.done <- replies[i]
	}
}
