package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// throttleTest is a store under test and the policy of its throttle tests.
type throttleTest struct {
	th     whitecross.LoginThrottle
	policy whitecross.ThrottlePolicy
}

func newThrottleTest(t *testing.T, open Opener) *throttleTest {
	return &throttleTest{
		th:     setupAuth(t, open).st,
		policy: whitecross.ThrottlePolicy{Threshold: 3, Window: 10 * time.Minute, Lockout: time.Minute, MaxLockout: 4 * time.Minute},
	}
}

// reserve charges one attempt to key at now; it returns the charge, or the
// lockout end when the key is locked.
func (tt *throttleTest) reserve(t *testing.T, key string, now time.Time) (*whitecross.ThrottleCharge, time.Time) {
	t.Helper()
	charges, until, err := tt.th.Reserve(context.Background(), now, []whitecross.ThrottleKey{{Key: key, Policy: tt.policy}})
	require.NoError(t, err)
	if charges == nil {
		require.True(t, until.After(now), "refused without a lockout: %v", until)
		return nil, until
	}
	require.Len(t, charges, 1)
	require.True(t, until.IsZero())
	return &charges[0], time.Time{}
}

// fail charges an attempt that must be granted (and fails) and returns the
// lockout it started, if any.
func (tt *throttleTest) fail(t *testing.T, key string, now time.Time) time.Time {
	t.Helper()
	c, until := tt.reserve(t, key, now)
	require.NotNil(t, c, "refused: locked until %v", until)
	return c.LockedUntil
}

func (tt *throttleTest) lockedUntil(t *testing.T, key string, now time.Time) time.Time {
	t.Helper()
	until, err := tt.th.LockedUntil(context.Background(), key, now)
	require.NoError(t, err)
	return until
}

func (tt *throttleTest) refund(t *testing.T, c *whitecross.ThrottleCharge) {
	t.Helper()
	require.NoError(t, tt.th.Refund(context.Background(), []whitecross.ThrottleCharge{*c}))
}

// lockOnce fails Threshold times from now, one second apart, and returns
// when the last one was charged and the lockout it started.
func (tt *throttleTest) lockOnce(t *testing.T, key string, now time.Time) (time.Time, time.Time) {
	t.Helper()
	for range tt.policy.Threshold - 1 {
		require.True(t, tt.fail(t, key, now).IsZero())
		now = now.Add(time.Second)
	}
	return now, tt.fail(t, key, now)
}

const throttleKey = "acct:district:nurse@example.org"

var throttleT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func exerciseThrottle(t *testing.T, open Opener) {
	exerciseThrottleCounting(t, open)
	exerciseThrottleReservations(t, open)
	exerciseThrottleRefunds(t, open)
}

// exerciseThrottleCounting: charges count within a window, lock at the
// threshold, and lockouts double and are forgiven.
func exerciseThrottleCounting(t *testing.T, open Opener) {
	key, t0 := throttleKey, throttleT0
	t.Run("ThresholdLocksAndOtherKeysStayFree", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		require.True(t, tt.lockedUntil(t, key, t0).IsZero(), "unknown key is locked")
		now, until := tt.lockOnce(t, key, t0)
		require.True(t, until.Equal(now.Add(time.Minute)), "locked until %v", until)
		require.True(t, tt.lockedUntil(t, key, now).Equal(until))
		require.True(t, tt.lockedUntil(t, key, until.Add(-time.Microsecond)).Equal(until))
		require.True(t, tt.lockedUntil(t, key, until).IsZero(), "lock outlives its end")
		require.True(t, tt.lockedUntil(t, "ip:192.0.2.1", now).IsZero())
		require.True(t, tt.lockedUntil(t, key+"x", now).IsZero())

		// While locked, a reservation is refused with the lockout's end.
		c, refused := tt.reserve(t, key, until.Add(-time.Second))
		require.Nil(t, c)
		require.True(t, refused.Equal(until))
		require.True(t, tt.fail(t, key, until).IsZero(), "the count starts again when the lockout ends")
	})

	t.Run("FailuresOutsideWindowAreForgotten", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		require.True(t, tt.fail(t, key, t0).IsZero())
		require.True(t, tt.fail(t, key, t0.Add(time.Minute)).IsZero())
		// The window began at the first failure; this one starts a new count.
		later := t0.Add(tt.policy.Window)
		at, until := tt.lockOnce(t, key, later)
		require.True(t, until.Equal(at.Add(time.Minute)), "third failure in the new window locks: %v", until)
	})

	t.Run("LockoutsDoubleUpToCap", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		now := t0
		for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
			at, until := tt.lockOnce(t, key, now)
			require.Equal(t, want, until.Sub(at), "lockout length")
			require.True(t, tt.lockedUntil(t, key, at).Equal(until))
			now = until.Add(time.Second)
			require.True(t, tt.lockedUntil(t, key, now).IsZero())
		}
	})

	t.Run("QuietWindowForgivesEarlierLockouts", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		at, until := tt.lockOnce(t, key, t0)
		require.Equal(t, time.Minute, until.Sub(at))
		at, until = tt.lockOnce(t, key, until.Add(time.Second))
		require.Equal(t, 2*time.Minute, until.Sub(at), "a second lockout soon after doubles")
		// A full window of quiet after the lockout ended starts over.
		at, until = tt.lockOnce(t, key, until.Add(tt.policy.Window))
		require.Equal(t, time.Minute, until.Sub(at), "lockouts are forgiven after a quiet window")
	})

	t.Run("ResetForgetsFailuresAndLockouts", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		ctx := context.Background()
		_, until := tt.lockOnce(t, key, t0)
		_, until = tt.lockOnce(t, key, until)
		tt.fail(t, "ip:192.0.2.1", t0)
		require.False(t, tt.lockedUntil(t, key, until.Add(-time.Second)).IsZero())
		require.NoError(t, tt.th.Reset(ctx, key))
		require.NoError(t, tt.th.Reset(ctx, key), "reset is idempotent")
		now := until.Add(-time.Second)
		require.True(t, tt.lockedUntil(t, key, now).IsZero())
		at, until := tt.lockOnce(t, key, now)
		require.Equal(t, time.Minute, until.Sub(at), "lockout after reset starts again at Lockout")
		// Another key kept its count: two more failures lock it.
		require.True(t, tt.fail(t, "ip:192.0.2.1", t0.Add(time.Second)).IsZero())
		require.False(t, tt.fail(t, "ip:192.0.2.1", t0.Add(time.Second)).IsZero())
	})

	t.Run("RejectsUnusablePolicyAndRepeatedKeys", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		ctx := context.Background()
		_, _, err := tt.th.Reserve(ctx, t0, []whitecross.ThrottleKey{{Key: key}})
		require.Error(t, err)
		k := whitecross.ThrottleKey{Key: key, Policy: tt.policy}
		_, _, err = tt.th.Reserve(ctx, t0, []whitecross.ThrottleKey{k, k})
		require.Error(t, err)
	})
}

// exerciseThrottleReservations: a burst of concurrent reservations grants
// at most the threshold, and a reservation of several keys is all or
// nothing.
func exerciseThrottleReservations(t *testing.T, open Opener) {
	for _, c := range []struct {
		key       string
		threshold int
	}{{"acct:district:nurse@example.org", 5}, {"ip:203.0.113.7", 20}} {
		t.Run(fmt.Sprintf("ConcurrentReservationsGrantAtMostThreshold%d", c.threshold), func(t *testing.T) {
			t.Parallel()
			tt := newThrottleTest(t, open)
			tt.policy.Threshold = c.threshold
			const n = 40
			charges := make([][]whitecross.ThrottleCharge, n)
			untils := make([]time.Time, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					charges[i], untils[i], errs[i] = tt.th.Reserve(context.Background(), throttleT0,
						[]whitecross.ThrottleKey{{Key: c.key, Policy: tt.policy}})
				})
			}
			close(start)
			wg.Wait()
			granted, locks := 0, 0
			for i := range n {
				require.NoError(t, errs[i])
				if charges[i] == nil {
					require.True(t, untils[i].Equal(throttleT0.Add(time.Minute)), "refused until %v", untils[i])
					continue
				}
				granted++
				if !charges[i][0].LockedUntil.IsZero() {
					locks++
				}
			}
			require.Equal(t, c.threshold, granted, "reservations granted")
			require.Equal(t, 1, locks, "exactly the last granted one starts the lockout")
			require.True(t, tt.lockedUntil(t, c.key, throttleT0).Equal(throttleT0.Add(time.Minute)))
		})
	}

	t.Run("ReservationOfSeveralKeysIsAllOrNothing", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		const ip = "ip:192.0.2.1"
		_, until := tt.lockOnce(t, ip, throttleT0)
		keys := []whitecross.ThrottleKey{{Key: throttleKey, Policy: tt.policy}, {Key: ip, Policy: tt.policy}}
		charges, refused, err := tt.th.Reserve(context.Background(), throttleT0.Add(time.Minute/2), keys)
		require.NoError(t, err)
		require.Nil(t, charges)
		require.True(t, refused.Equal(until))
		// Nothing was charged to the free key: a full threshold remains.
		_, lock := tt.lockOnce(t, throttleKey, throttleT0.Add(time.Minute/2))
		require.False(t, lock.IsZero())

		charges, refused, err = tt.th.Reserve(context.Background(), until, keys[1:])
		require.NoError(t, err)
		require.True(t, refused.IsZero())
		require.Equal(t, ip, charges[0].Key)
	})
}

// exerciseThrottleRefunds: a refund gives a charge back, lifts the lockout
// it started, and gives nothing back once the window moved on.
func exerciseThrottleRefunds(t *testing.T, open Opener) {
	t0 := throttleT0
	const ip = "ip:203.0.113.7"
	t.Run("RefundGivesTheChargeBack", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		tt.fail(t, ip, t0)
		c, _ := tt.reserve(t, ip, t0.Add(time.Second))
		tt.refund(t, c)
		// Two more charges are needed to lock, not one.
		require.True(t, tt.fail(t, ip, t0.Add(2*time.Second)).IsZero())
		require.False(t, tt.fail(t, ip, t0.Add(3*time.Second)).IsZero())
	})

	t.Run("RefundLiftsTheLockoutItStartedButKeepsTheOtherFailures", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		// Two failures from a shared address, then a correct sign-in whose
		// charge reached the threshold.
		tt.fail(t, ip, t0)
		tt.fail(t, ip, t0.Add(time.Second))
		at := t0.Add(2 * time.Second)
		c, _ := tt.reserve(t, ip, at)
		require.False(t, c.LockedUntil.IsZero(), "the third charge locks")
		_, refused := tt.reserve(t, ip, at)
		require.True(t, refused.Equal(c.LockedUntil), "locked while the attempt is in flight")
		tt.refund(t, c)
		require.True(t, tt.lockedUntil(t, ip, at).IsZero(), "the lockout is lifted")
		// The two failures still count: the next one locks, for Lockout
		// (the lifted lockout does not double it).
		next := tt.fail(t, ip, at.Add(time.Second))
		require.Equal(t, time.Minute, next.Sub(at.Add(time.Second)))
	})

	t.Run("RefundAfterTheWindowMovedOnIsNoOp", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		old, _ := tt.reserve(t, ip, t0)
		later := t0.Add(tt.policy.Window)
		tt.fail(t, ip, later)
		tt.fail(t, ip, later)
		tt.refund(t, old)
		require.False(t, tt.fail(t, ip, later).IsZero(), "the new window's count is untouched")
	})

	t.Run("RefundOfAResetKeyIsNoOp", func(t *testing.T) {
		t.Parallel()
		tt := newThrottleTest(t, open)
		c, _ := tt.reserve(t, ip, t0)
		require.NoError(t, tt.th.Reset(context.Background(), ip))
		tt.refund(t, c)
		require.True(t, tt.lockedUntil(t, ip, t0).IsZero())
		_, until := tt.lockOnce(t, ip, t0)
		require.False(t, until.IsZero())
	})
}
