package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the budgets a Local keeps at once (about 100 bytes
// each): a flood of distinct addresses cannot take the memory.
const DefaultMaxKeys = 200_000

// overflowKey is the budget every new key shares while the table is full.
const overflowKey = "\x00overflow"

// Local keeps the budgets in this process. A key idle for as long as its
// bucket takes to refill is dropped: a new bucket for it would be the same,
// so eviction never loosens the limit. While MaxKeys budgets are live, new
// keys share one overflow budget instead of growing the table.
type Local struct {
	budget  Budget
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	keys      map[string]*entry
	lastSweep time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

var _ Limiter = (*Local)(nil)

// NewLocal returns a Local of budget b; maxKeys <= 0 takes DefaultMaxKeys
// and now == nil time.Now.
func NewLocal(b Budget, maxKeys int, now func() time.Time) *Local {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Local{budget: b, maxKeys: maxKeys, now: now, keys: map[string]*entry{}}
}

// Take implements Limiter; it never fails.
func (l *Local) Take(_ context.Context, key string) (Decision, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.budget.full() {
		l.sweep(now)
	}
	e := l.entry(key)
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	d := Decision{Limit: l.budget.Burst}
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		d.RetryAfter = delay
	} else {
		d.Allowed = true
	}
	tokens := e.lim.TokensAt(now)
	d.Remaining = max(0, int(math.Floor(tokens)))
	d.Reset = time.Duration((float64(l.budget.Burst) - tokens) / l.budget.PerSecond * float64(time.Second))
	return d, nil
}

// Len is how many budgets are kept (for tests and metrics).
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// entry returns key's budget, making one when there is room, else the
// shared overflow budget.
func (l *Local) entry(key string) *entry {
	if e, ok := l.keys[key]; ok {
		return e
	}
	if len(l.keys) >= l.maxKeys {
		// Take already swept if it was time: sweeping again per new key
		// would make a flood cost the table's size per request.
		key = overflowKey
		if e, ok := l.keys[key]; ok {
			return e
		}
	}
	e := &entry{lim: rate.NewLimiter(rate.Limit(l.budget.PerSecond), l.budget.Burst)}
	l.keys[key] = e
	return e
}

// sweep drops idle budgets; Take calls it at most once per refill time, so
// its cost is spread over the requests of that time.
func (l *Local) sweep(now time.Time) {
	l.lastSweep = now
	idle := l.budget.full()
	for k, e := range l.keys {
		if now.Sub(e.seen) >= idle {
			delete(l.keys, k)
		}
	}
}
