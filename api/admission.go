package api

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the load-shedding bounds (Config.MaxInFlight and friends).
const (
	DefaultMaxRequests       = 128
	DefaultTenantMaxRequests = 64
	DefaultRequestQueueWait  = 250 * time.Millisecond
)

// gate bounds the requests served at once. A request beyond the bound
// waits, in arrival order, for a bounded time, and only while fewer than
// `slots` others wait too; otherwise it is turned away at once. So under
// overload the server answers early and cheaply instead of piling requests
// up until their clients time out.
type gate struct {
	slots   chan struct{}
	waiting atomic.Int64
}

func newGate(slots int) *gate { return &gate{slots: make(chan struct{}, slots)} }

// enter takes a slot, waiting at most wait; it reports false when the queue
// is full, the wait ran out or ctx ended. A true answer must be followed by
// leave.
func (g *gate) enter(ctx context.Context, wait time.Duration) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.waiting.Add(1) > int64(cap(g.slots)) {
		g.waiting.Add(-1)
		return false
	}
	defer g.waiting.Add(-1)
	if wait <= 0 {
		return false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// leave frees the slot taken by enter.
func (g *gate) leave() { <-g.slots }

// tenantGates holds one gate per tenant, made on first use, so that one
// district's burst fills its own share and never all of the instance's.
type tenantGates struct {
	slots int
	mu    sync.Mutex
	gates map[string]*gate
}

func (t *tenantGates) of(tenantID string) *gate {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gates[tenantID]
	if g == nil {
		if t.gates == nil {
			t.gates = map[string]*gate{}
		}
		g = newGate(t.slots)
		t.gates[tenantID] = g
	}
	return g
}
