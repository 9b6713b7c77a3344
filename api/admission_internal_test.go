package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestShedLoadRefusesABurstBeyondTheBound holds every slot with requests
// that cannot finish, then sends a burst: those beyond the slots and the
// queue are answered 503 with Retry-After as problems at once, and the
// queued ones when their wait runs out, all while the held requests are
// still running, so no answer waited for them.
func TestShedLoadRefusesABurstBeyondTheBound(t *testing.T) {
	t.Parallel()
	const slots, burst = 2, 10
	s := New(Config{MaxRequests: slots, RequestQueueWait: 20 * time.Millisecond}, Deps{})
	release := make(chan struct{})
	entered := make(chan struct{}, slots)
	h := s.shedLoad(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	var held sync.WaitGroup
	for range slots {
		held.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/messages", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("held request answered %d", rec.Code)
			}
		})
		<-entered
	}
	answers := make(chan *httptest.ResponseRecorder, burst)
	var refused sync.WaitGroup
	for range burst {
		refused.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/messages", nil))
			answers <- rec
		})
	}
	refused.Wait() // every burst request is answered while the slots are held
	close(answers)
	for rec := range answers {
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, "1", rec.Header().Get("Retry-After"))
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	}
	close(release)
	held.Wait()
	// Freed slots take requests again; WebSockets and pages are not counted.
	for _, path := range []string{"/api/v1/messages", "/api/v1/ws", "/"} {
		rec := httptest.NewRecorder()
		s.shedLoad(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
	}
}

// TestGateQueuesInOrderWithinTheWait checks the gate's own rules: a waiter
// gets a slot freed within its wait, a full queue refuses at once, and a
// zero wait never blocks.
func TestGateQueuesInOrderWithinTheWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGate(1)
	require.True(t, g.enter(ctx, time.Minute))
	got := make(chan bool)
	go func() { got <- g.enter(ctx, time.Minute) }() // the one waiter the queue holds
	for g.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	require.False(t, g.enter(ctx, time.Minute), "a full queue refuses at once")
	require.False(t, g.enter(ctx, 0), "no wait left refuses at once")
	g.leave()
	require.True(t, <-got)
	g.leave()
}

// TestTenantsHaveTheirOwnShare checks that one tenant's full share leaves
// another tenant's requests in.
func TestTenantsHaveTheirOwnShare(t *testing.T) {
	t.Parallel()
	s := New(Config{MaxRequests: 4, TenantMaxRequests: 1, RequestQueueWait: time.Minute}, Deps{})
	st := &requestState{arrived: time.Now(), admitted: time.Now()}
	ctx := context.WithValue(context.Background(), stateKey{}, st)
	leaveA, ok := s.admitTenant(ctx, "a")
	require.True(t, ok)
	st.arrived = time.Now().Add(-time.Minute) // the whole wait spent at the instance's gate
	_, ok = s.admitTenant(ctx, "a")
	require.False(t, ok, "tenant a's share is full and no wait is left")
	leaveB, ok := s.admitTenant(ctx, "b")
	require.True(t, ok, "tenant b has its own share")
	leaveA()
	leaveB()
}
