package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

// slowDispatcher is a fakeDispatcher whose every batch takes step of the
// queue's clock.
type slowDispatcher struct {
	*fakeDispatcher
	clock *storetest.Clock
	step  time.Duration
}

func (s *slowDispatcher) DispatchMessage(ctx context.Context, job store.DispatchJob) (bool, error) {
	s.clock.Advance(s.step)
	return s.fakeDispatcher.DispatchMessage(ctx, job)
}

func TestLongDispatchContinuesInFreshAttemptsWithoutSpendingThem(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := &slowDispatcher{fakeDispatcher: &fakeDispatcher{batches: 3}, step: time.Minute}
		b := newStoppedQueue(t, db, fake, delivery.QueueConfig{DispatchTimeout: 90 * time.Second})
		fake.clock = b.clock
		snoozed, stop := b.queue.Subscribe(river.EventKindJobSnoozed)
		defer stop()
		b.start(t)
		job := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: b.clock.Now()}
		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, job) }))

		// Each batch takes a minute, the budget of a 90 s timeout is 60 s:
		// one batch per attempt, then a snooze that continues at once.
		e := b.waitDispatch(t, job.MessageID, nil)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, 3, fake.callsFor(job.MessageID))
		require.Equal(t, 1, e.Job.Attempt, "continuations are not attempts")
		for i := range 2 {
			select {
			case <-snoozed:
			case <-time.After(waitTimeout):
				t.Fatalf("%d of 2 continuations seen", i)
			}
		}
	})
}
