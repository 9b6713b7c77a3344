package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// blockingHasher holds every hash until release is closed, announcing each
// on entered and recording the most that ran at once.
type blockingHasher struct {
	entered chan struct{}
	release chan struct{}
	running atomic.Int64
	most    atomic.Int64
}

func newBlockingHasher() *blockingHasher {
	return &blockingHasher{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *blockingHasher) run() {
	n := h.running.Add(1)
	for {
		m := h.most.Load()
		if n <= m || h.most.CompareAndSwap(m, n) {
			break
		}
	}
	h.entered <- struct{}{}
	<-h.release
	h.running.Add(-1)
}

func (h *blockingHasher) HashPassword(context.Context, string) (string, error) {
	h.run()
	return "hash", nil
}

func (h *blockingHasher) VerifyPassword(context.Context, string, string) (bool, error) {
	h.run()
	return true, nil
}

// requireBusy checks the error of a caller that found no hashing slot.
func requireBusy(t *testing.T, err error) {
	t.Helper()
	var e *whitecross.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, whitecross.EUNAVAILABLE, e.Code)
	require.Positive(t, e.RetryAfterSeconds)
}

// TestBoundedHasherRunsAtMostItsSlots: with 3 slots, 10 callers that may
// wait run 3 at a time and all finish.
func TestBoundedHasherRunsAtMostItsSlots(t *testing.T) {
	t.Parallel()
	const slots, callers = 3, 10
	inner := newBlockingHasher()
	h := NewBoundedHasher(inner, slots, time.Hour)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = h.VerifyPassword(t.Context(), "hash", "pw")
			} else {
				_, errs[i] = h.HashPassword(t.Context(), "pw")
			}
		})
	}
	for range slots {
		<-inner.entered
	}
	for range callers - slots {
		inner.release <- struct{}{} // one hash ends and frees its slot,
		<-inner.entered             // which the next caller takes
		require.LessOrEqual(t, inner.running.Load(), int64(slots), "hashes running at once")
	}
	close(inner.release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, slots, inner.most.Load(), "hashes running at once")
}

// TestBoundedHasherRefusesWhenTheWaitIsExceeded: while every slot is
// taken, a caller whose wait runs out (or whose request ends) is told the
// server is busy, with a Retry-After; a freed slot serves again.
func TestBoundedHasherRefusesWhenTheWaitIsExceeded(t *testing.T) {
	t.Parallel()
	const slots = 2
	inner := newBlockingHasher()
	h := NewBoundedHasher(inner, slots, time.Nanosecond)
	var wg sync.WaitGroup
	for range slots {
		wg.Go(func() { _, _ = h.VerifyPassword(t.Context(), "hash", "pw") })
	}
	for range slots {
		<-inner.entered
	}
	// expectBusy runs call and expects it refused without hashing.
	expectBusy := func(call func() error) {
		t.Helper()
		done := make(chan error, 1)
		wg.Go(func() { done <- call() })
		select {
		case err := <-done:
			requireBusy(t, err)
		case <-inner.entered:
			t.Fatal("a hash ran beyond the slots")
		}
	}
	for range 5 {
		expectBusy(func() error { _, err := h.VerifyPassword(t.Context(), "hash", "pw"); return err })
		expectBusy(func() error { _, err := h.HashPassword(t.Context(), "pw"); return err })
	}
	// A long wait ends with the caller's request.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	patient := &BoundedHasher{next: inner, slots: h.slots, wait: time.Hour}
	expectBusy(func() error { _, err := patient.VerifyPassword(ctx, "hash", "pw"); return err })
	close(inner.release)
	wg.Wait()
	ok, err := h.VerifyPassword(t.Context(), "hash", "pw")
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, slots, inner.most.Load())
}

// TestLoginWhenHashingIsBusy: a sign-in that finds no hashing slot is
// answered EUNAVAILABLE and its charges are given back, so a busy server
// never locks anyone out.
func TestLoginWhenHashingIsBusy(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		bounded := NewBoundedHasher(b.hasher, 1, time.Nanosecond)
		b.svc = NewService(DefaultConfig("https://wc.example.org/"), Deps{
			Tenants: b.store, Users: b.store, Credentials: b.store, Sessions: b.store,
			Throttle: b.store, Audit: b.store, Hasher: bounded, Keys: b.keys, Now: b.clock.Now,
		})
		release, err := bounded.acquire(b.ctx)
		require.NoError(t, err)
		for range 10 {
			_, _, err := b.login(testEmail, "wrong password", testIP)
			requireBusy(t, err)
		}
		release()
		for range DefaultConfig("").AccountThrottle.Threshold {
			_, _, err := b.login(testEmail, "wrong password", testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		_, _, err = b.login(testEmail, testPassword, testIP)
		requireCode(t, err, whitecross.ERATELIMIT)
	})
}
