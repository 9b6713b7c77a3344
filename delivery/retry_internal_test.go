package delivery

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

func TestDeliverBackoffDoublesWithEqualJitterUpToItsMaximum(t *testing.T) {
	t.Parallel()
	low := func(int64) int64 { return 0 }
	high := func(n int64) int64 { return n - 1 }
	steps := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour}
	for i, step := range steps {
		attempt := i + 1
		require.Equal(t, step/2, deliverBackoff(attempt, DefaultRetryBase, DefaultRetryMax, low), "attempt %d, least", attempt)
		require.Equal(t, step, deliverBackoff(attempt, DefaultRetryBase, DefaultRetryMax, high), "attempt %d, most", attempt)
	}
	require.Equal(t, time.Hour, deliverBackoff(500, DefaultRetryBase, DefaultRetryMax, high), "no overflow")
}

func TestRetryPolicyHonoursRetryAfterAndKeepsRiversScheduleForOtherJobs(t *testing.T) {
	t.Parallel()
	now := time.Date(2031, 9, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hints := &retryHints{}
	p := newRetryPolicy(clock, DeliverConfig{}.withDefaults(), hints)
	deliver := &rivertype.JobRow{ID: 7, Kind: DeliverKind, Attempt: 3}

	wait := p.NextRetry(deliver).Sub(now)
	require.GreaterOrEqual(t, wait, 10*time.Second)
	require.LessOrEqual(t, wait, 20*time.Second)

	hints.set(deliver.ID, 90*time.Second)
	require.Equal(t, 90*time.Second, p.NextRetry(deliver).Sub(now), "the provider's Retry-After wins when longer")
	wait = p.NextRetry(deliver).Sub(now)
	require.LessOrEqual(t, wait, 20*time.Second, "a hint is used once")
	hints.set(deliver.ID, 3*time.Hour)
	require.Equal(t, time.Hour, p.NextRetry(deliver).Sub(now), "but never beyond the longest wait")
	hints.set(deliver.ID, time.Second)
	require.GreaterOrEqual(t, p.NextRetry(deliver).Sub(now), 10*time.Second, "nor shortens the backoff")

	// Dispatch jobs keep River's attempt^4 schedule: about 1 s after the first failure.
	dispatch := &rivertype.JobRow{ID: 8, Kind: DispatchKind, Attempt: 1}
	wait = p.NextRetry(dispatch).Sub(now)
	require.Greater(t, wait, 500*time.Millisecond)
	require.Less(t, wait, 2*time.Second)
}
