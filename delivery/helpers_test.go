package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross/delivery"
	"whitecross/internal/testutil"
	"whitecross/store"
	"whitecross/store/storetest"
)

// waitTimeout bounds every wait on the queue. River's scheduler moves due
// jobs on a fixed five-second real-time tick, so a scheduled job can take
// that long to be picked up after the test clock reaches its time.
const waitTimeout = time.Minute

// queueBundle is one test's queue on a database whose clock the test drives.
type queueBundle struct {
	db    *store.DB
	clock *storetest.Clock
	queue *delivery.Queue
	logs  *testutil.SyncBuffer

	events <-chan *river.Event
	mu     sync.Mutex
	seen   []*river.Event
}

// testStart is in the future of the real clock so that nothing River
// computes from the real clock lands after the test clock.
var testStart = time.Date(2031, 9, 1, 8, 0, 0, 0, time.UTC)

// newQueue builds a queue on db (whose clock becomes the shared test clock)
// with d as the dispatcher, subscribes to finished jobs and starts it; the
// queue stops when the test ends.
func newQueue(t testing.TB, db *store.DB, d delivery.Dispatcher, cfg delivery.QueueConfig) *queueBundle {
	t.Helper()
	b := newStoppedQueue(t, db, d, cfg)
	b.start(t)
	return b
}

// newStoppedQueue is newQueue without starting the workers.
func newStoppedQueue(t testing.TB, db *store.DB, d delivery.Dispatcher, cfg delivery.QueueConfig) *queueBundle {
	t.Helper()
	clock := storetest.NewClock(testStart)
	db.Now = clock.Now
	cfg.Clock = clock.Now
	logs := &testutil.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q, err := delivery.NewQueue(db, d, cfg, log)
	require.NoError(t, err)
	events, cancel := q.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	t.Cleanup(cancel)
	return &queueBundle{db: db, clock: clock, queue: q, logs: logs, events: events}
}

func (b *queueBundle) start(t testing.TB) {
	t.Helper()
	require.NoError(t, b.queue.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.queue.Stop(ctx); err != nil {
			t.Errorf("stop queue: %v", err)
		}
	})
}

// waitFor returns the first event (already seen or arriving) that matches,
// failing the test after waitTimeout.
func (b *queueBundle) waitFor(t testing.TB, what string, match func(*river.Event) bool) *river.Event {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.seen {
		if match(e) {
			return e
		}
	}
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case e := <-b.events:
			b.seen = append(b.seen, e)
			if match(e) {
				return e
			}
		case <-deadline.C:
			t.Fatalf("no %s within %s; saw %d job events; logs:\n%s", what, waitTimeout, len(b.seen), b.logs.String())
			return nil
		}
	}
}

// waitCount waits until n events (seen before or arriving) match.
func (b *queueBundle) waitCount(t testing.TB, what string, n int, match func(*river.Event) bool) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	got := 0
	for _, e := range b.seen {
		if match(e) {
			got++
		}
	}
	// The deadline is for progress, not for the whole count: on a loaded
	// machine many jobs take long, but none may stall for waitTimeout.
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for got < n {
		select {
		case e := <-b.events:
			b.seen = append(b.seen, e)
			if match(e) {
				got++
				deadline.Reset(waitTimeout)
			}
		case <-deadline.C:
			t.Fatalf("%d of %d %s: none more within %s", got, n, what, waitTimeout)
		}
	}
}

// waitDispatch waits until the dispatch job of messageID (for the given
// scheduled time, nil for immediate) finishes, and returns its event.
func (b *queueBundle) waitDispatch(t testing.TB, messageID string, scheduledAt *time.Time) *river.Event {
	t.Helper()
	return b.waitFor(t, "finished dispatch of "+messageID, func(e *river.Event) bool {
		a := dispatchArgs(t, e)
		return a.MessageID == messageID && sameTime(a.ScheduledAt, scheduledAt)
	})
}

func dispatchArgs(t testing.TB, e *river.Event) delivery.DispatchArgs {
	t.Helper()
	var a delivery.DispatchArgs
	require.NoError(t, json.Unmarshal(e.Job.EncodedArgs, &a))
	return a
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// jobCount counts River's jobs straight from its table, whatever their state.
func jobCount(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT COUNT(*) FROM river_job").Scan(&n))
	return n
}

// fakeDispatcher records calls; each job takes batches calls to finish, and
// the first failures calls fail.
type fakeDispatcher struct {
	mu       sync.Mutex
	batches  int
	failures int
	calls    map[string]int
	jobs     []store.DispatchJob
	// block, when set, is received from before each call returns.
	block chan struct{}
}

func (f *fakeDispatcher) DispatchMessage(ctx context.Context, job store.DispatchJob) (bool, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.jobs = append(f.jobs, job)
	if f.failures > 0 {
		f.failures--
		return false, fmt.Errorf("database on fire")
	}
	f.calls[job.MessageID]++
	return f.calls[job.MessageID] >= max(f.batches, 1), nil
}

func (f *fakeDispatcher) firstJob() store.DispatchJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jobs[0]
}

func (f *fakeDispatcher) callsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}
