package realtime

import (
	"context"
	"sync"
	"sync/atomic"

	"whitecross"
)

// fanoutBacklog is how many events may wait for the fan-out goroutine
// before Notify waits for room: far more than a dispatch batch (1,000) or
// a relayed burst, so a commit waits only when this instance cannot keep up
// at all, and memory stays bounded (an event is ~200 bytes).
const fanoutBacklog = 200_000

// fanout runs the work of durable events after their commit on a goroutine
// of its own: building frames, finding connections, handing frames over
// and publishing to the other instances. Notify only queues, so the
// committing goroutine — a send request, a dispatch job between two
// batches — and the broker's receive loop never wait for a fan-out. Events
// are handled one Notify at a time, in order, so a user's events reach
// its connections in seq order.
type fanout struct {
	g *Gateway

	mu      sync.Mutex
	room    *sync.Cond // signalled as the backlog shrinks
	queue   []fanoutItem
	queued  int  // events in queue
	running bool // a goroutine drains the queue

	// handoffs counts hand-offs: one per hub shard with connections per
	// fan-out (tests check it does not grow with the recipients).
	handoffs atomic.Uint64
}

// fanoutItem is one Notify's events, or one broker message's (relayed:
// delivered here only, never published again).
type fanoutItem struct {
	evs     []whitecross.Event
	relayed bool
}

func newFanout(g *Gateway) *fanout {
	f := &fanout{g: g}
	f.room = sync.NewCond(&f.mu)
	return f
}

// push queues evs, waiting while the backlog is full, and starts the
// draining goroutine when none runs.
func (f *fanout) push(evs []whitecross.Event, relayed bool) {
	if len(evs) == 0 {
		return
	}
	f.mu.Lock()
	for f.queued >= fanoutBacklog {
		f.room.Wait()
	}
	f.queue = append(f.queue, fanoutItem{evs: evs, relayed: relayed})
	f.queued += len(evs)
	if !f.running {
		f.running = true
		go f.drain()
	}
	f.mu.Unlock()
}

// drain fans out queued items until the queue is empty, then ends.
func (f *fanout) drain() {
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.queue = nil
			f.running = false
			f.mu.Unlock()
			return
		}
		it := f.queue[0]
		f.queue[0] = fanoutItem{}
		f.queue = f.queue[1:]
		f.mu.Unlock()

		f.g.deliverEvents(it.evs)
		if !it.relayed && !f.g.alone() {
			f.g.publishAll(context.Background(), encodeEvents(it.evs))
		}

		f.mu.Lock()
		f.queued -= len(it.evs)
		f.room.Broadcast()
		f.mu.Unlock()
	}
}

// idle reports whether nothing waits for or is in a fan-out (tests).
func (f *fanout) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.running && f.queued == 0
}
