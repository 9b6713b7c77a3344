package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

func exerciseThrottle(t *testing.T, open Opener) {
	policy := whitecross.ThrottlePolicy{Threshold: 3, Window: 10 * time.Minute, Lockout: time.Minute, MaxLockout: 4 * time.Minute}
	const key = "acct:district:nurse@example.org"
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	// fail records one failure at now and returns the lockout it started.
	fail := func(t *testing.T, th whitecross.LoginThrottle, key string, now time.Time) time.Time {
		t.Helper()
		until, err := th.RecordFailure(context.Background(), key, now, policy)
		require.NoError(t, err)
		return until
	}
	lockedUntil := func(t *testing.T, th whitecross.LoginThrottle, key string, now time.Time) time.Time {
		t.Helper()
		until, err := th.LockedUntil(context.Background(), key, now)
		require.NoError(t, err)
		return until
	}

	t.Run("ThresholdLocksAndOtherKeysStayFree", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		require.True(t, lockedUntil(t, th, key, t0).IsZero(), "unknown key is locked")
		require.True(t, fail(t, th, key, t0).IsZero())
		require.True(t, fail(t, th, key, t0.Add(time.Second)).IsZero())
		require.True(t, lockedUntil(t, th, key, t0.Add(time.Second)).IsZero())

		now := t0.Add(2 * time.Second)
		until := fail(t, th, key, now)
		require.True(t, until.Equal(now.Add(time.Minute)), "locked until %v", until)
		require.True(t, lockedUntil(t, th, key, now).Equal(until))
		require.True(t, lockedUntil(t, th, key, until.Add(-time.Microsecond)).Equal(until))
		require.True(t, lockedUntil(t, th, key, until).IsZero(), "lock outlives its end")
		require.True(t, lockedUntil(t, th, "ip:192.0.2.1", now).IsZero())
		require.True(t, lockedUntil(t, th, key+"x", now).IsZero())
	})

	t.Run("FailuresOutsideWindowAreForgotten", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		require.True(t, fail(t, th, key, t0).IsZero())
		require.True(t, fail(t, th, key, t0.Add(time.Minute)).IsZero())
		// The window began at the first failure; this one starts a new count.
		later := t0.Add(policy.Window)
		require.True(t, fail(t, th, key, later).IsZero())
		require.True(t, fail(t, th, key, later.Add(time.Second)).IsZero())
		until := fail(t, th, key, later.Add(2*time.Second))
		require.True(t, until.Equal(later.Add(2*time.Second+time.Minute)), "third failure in the new window locks: %v", until)
	})

	t.Run("LockoutsDoubleUpToCap", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		now := t0
		for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
			for range policy.Threshold - 1 {
				require.True(t, fail(t, th, key, now).IsZero())
				now = now.Add(time.Second)
			}
			until := fail(t, th, key, now)
			require.Equal(t, want, until.Sub(now), "lockout length")
			require.True(t, lockedUntil(t, th, key, now).Equal(until))
			now = until.Add(time.Second)
			require.True(t, lockedUntil(t, th, key, now).IsZero())
		}
	})

	t.Run("QuietWindowForgivesEarlierLockouts", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		lockOnce := func(now time.Time) (time.Time, time.Time) {
			for range policy.Threshold - 1 {
				require.True(t, fail(t, th, key, now).IsZero())
				now = now.Add(time.Second)
			}
			return now, fail(t, th, key, now)
		}
		at, until := lockOnce(t0)
		require.Equal(t, time.Minute, until.Sub(at))
		at, until = lockOnce(until.Add(time.Second))
		require.Equal(t, 2*time.Minute, until.Sub(at), "a second lockout soon after doubles")
		// A full window of quiet after the lockout ended starts over.
		at, until = lockOnce(until.Add(policy.Window))
		require.Equal(t, time.Minute, until.Sub(at), "lockouts are forgiven after a quiet window")
	})

	t.Run("ResetForgetsFailuresAndLockouts", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		ctx := context.Background()
		for i := range 6 { // two lockouts
			fail(t, th, key, t0.Add(time.Duration(i)*time.Second))
		}
		fail(t, th, "ip:192.0.2.1", t0)
		require.False(t, lockedUntil(t, th, key, t0.Add(6*time.Second)).IsZero())
		require.NoError(t, th.Reset(ctx, key))
		require.NoError(t, th.Reset(ctx, key), "reset is idempotent")
		now := t0.Add(7 * time.Second)
		require.True(t, lockedUntil(t, th, key, now).IsZero())
		require.True(t, fail(t, th, key, now).IsZero())
		require.True(t, fail(t, th, key, now).IsZero())
		until := fail(t, th, key, now)
		require.Equal(t, time.Minute, until.Sub(now), "lockout after reset starts again at Lockout")
		// Another key kept its count: two more failures lock it.
		require.True(t, fail(t, th, "ip:192.0.2.1", now).IsZero())
		require.False(t, fail(t, th, "ip:192.0.2.1", now).IsZero())
	})

	t.Run("ConcurrentFailuresAreAllCounted", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		const n = 12
		p := policy
		p.Threshold = n
		results := make([]time.Time, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = th.RecordFailure(context.Background(), key, t0, p)
			})
		}
		close(start)
		wg.Wait()
		locks := 0
		for i := range n {
			require.NoError(t, errs[i])
			if !results[i].IsZero() {
				locks++
			}
		}
		require.Equal(t, 1, locks, "exactly the n-th failure locks the key")
		require.True(t, lockedUntil(t, th, key, t0).Equal(t0.Add(time.Minute)))
	})

	t.Run("RejectsUnusablePolicy", func(t *testing.T) {
		t.Parallel()
		th := setupAuth(t, open).st
		_, err := th.RecordFailure(context.Background(), key, t0, whitecross.ThrottlePolicy{})
		require.Error(t, err)
	})
}
