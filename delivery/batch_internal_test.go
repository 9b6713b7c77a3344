package delivery

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGroupRunnerBatchesConcurrentRequests holds the first batch until
// every other request has queued: they are then answered, each with its
// own reply, by one more batch, not one each.
func TestGroupRunnerBatchesConcurrentRequests(t *testing.T) {
	t.Parallel()
	const n = 50
	entered, release := make(chan struct{}), make(chan struct{})
	var sizes []int
	g := &groupRunner[int, int]{max: 100, run: func(ins []int) ([]reply[int], error) {
		if len(sizes) == 0 {
			close(entered)
			<-release
		}
		sizes = append(sizes, len(ins)) // batches run one at a time
		out := make([]reply[int], len(ins))
		for i, in := range ins {
			out[i] = reply[int]{val: in * 2}
		}
		return out, nil
	}}
	var wg sync.WaitGroup
	wg.Go(func() {
		v, err := g.do(context.Background(), -1)
		require.NoError(t, err)
		require.Equal(t, -2, v)
	})
	<-entered
	for i := range n {
		wg.Go(func() {
			v, err := g.do(context.Background(), i)
			require.NoError(t, err)
			require.Equal(t, 2*i, v)
		})
	}
	require.Eventually(t, func() bool { return g.queued() == n }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.Equal(t, []int{1, n}, sizes)
	require.Equal(t, int64(2), g.batches.Load())
}

// TestGroupRunnerError fails every request of a failed batch.
func TestGroupRunnerError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	g := &groupRunner[int, int]{max: 10, run: func([]int) ([]reply[int], error) { return nil, boom }}
	_, err := g.do(context.Background(), 1)
	require.ErrorIs(t, err, boom)
}
