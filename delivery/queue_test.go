package delivery_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestMigrateCreatesRiverTables(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, err := db.MigrationStatuses(context.Background())
		require.NoError(t, err)
		river := 0
		for _, s := range st {
			require.Truef(t, s.Applied, "%s %s not applied", s.Set, s.Name)
			if s.Set == store.MigrationSetRiver {
				river++
			}
		}
		require.GreaterOrEqual(t, river, 6, "River's migrations are listed")
		require.Equal(t, 0, jobCount(t, db))
	})
}

func TestQueueStartsAnswersAndStops(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStoppedQueue(t, db, &fakeDispatcher{}, delivery.QueueConfig{})
		err := b.queue.Ping(ctx)
		require.Equal(t, whitecross.EUNAVAILABLE, whitecross.ErrorCode(err), "not started: %v", err)

		require.NoError(t, b.queue.Start(ctx))
		require.NoError(t, b.queue.Ping(ctx))

		require.NoError(t, b.queue.Stop(ctx))
		err = b.queue.Ping(ctx)
		require.Equal(t, whitecross.EUNAVAILABLE, whitecross.ErrorCode(err), "stopped: %v", err)
	})
}

func TestDispatchJobExistsOnlyIfItsTransactionCommits(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := &fakeDispatcher{batches: 3}
		b := newQueue(t, db, fake, delivery.QueueConfig{})
		job := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: b.clock.Now(), Urgent: true}

		refused := errors.New("refused")
		err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			require.NoError(t, b.queue.EnqueueDispatch(ctx, tx, job))
			return refused
		})
		require.ErrorIs(t, err, refused)
		require.Equal(t, 0, jobCount(t, db), "a rolled-back dispatch leaves no job")

		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, job) }))
		e := b.waitDispatch(t, job.MessageID, nil)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, delivery.QueueUrgent, e.Job.Queue)
		require.Equal(t, 3, fake.callsFor(job.MessageID), "the worker loops over batches until done")
		got := fake.firstJob()
		require.Equal(t, job.TenantID, got.TenantID)
		require.Equal(t, job.MessageID, got.MessageID)
		require.True(t, got.Urgent)
		require.Nil(t, got.ScheduledAt)
		require.WithinDuration(t, job.RunAt, got.RunAt, time.Millisecond)
	})
}

func TestDispatchJobIsNotEnqueuedTwice(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStoppedQueue(t, db, &fakeDispatcher{}, delivery.QueueConfig{})
		at := b.clock.Now().Add(time.Hour)
		job := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: at, ScheduledAt: &at}
		enqueue := func(j store.DispatchJob) {
			require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, j) }))
		}
		enqueue(job)
		enqueue(job)
		require.Equal(t, 1, jobCount(t, db), "same message and time: one job")

		later := at.Add(time.Hour)
		job.RunAt, job.ScheduledAt = later, &later
		enqueue(job)
		require.Equal(t, 2, jobCount(t, db), "a rescheduled time is a new job")
	})
}

func TestScheduledDispatchRunsAtItsTimeAndNotBefore(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := &fakeDispatcher{}
		b := newQueue(t, db, fake, delivery.QueueConfig{})
		schedule := func(after time.Duration) store.DispatchJob {
			at := b.clock.Now().Add(after)
			j := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: at, ScheduledAt: &at}
			require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, j) }))
			return j
		}
		main := schedule(time.Hour)
		probe := schedule(30 * time.Minute)

		// The probe is due: once it ran, River's scheduler has looked at
		// the queue at T+30m and must have left the T+1h job alone.
		b.clock.Advance(30 * time.Minute)
		b.waitDispatch(t, probe.MessageID, probe.ScheduledAt)
		require.Equal(t, 0, fake.callsFor(main.MessageID), "dispatched before its time")

		b.clock.Advance(30 * time.Minute)
		e := b.waitDispatch(t, main.MessageID, main.ScheduledAt)
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, 1, fake.callsFor(main.MessageID))
		require.True(t, e.Job.ScheduledAt.Equal(*main.ScheduledAt), "job scheduled_at %s", e.Job.ScheduledAt)
	})
}

func TestFailedDispatchIsRetriedAndTheLastFailureLogged(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := &fakeDispatcher{failures: 1}
		b := newQueue(t, db, fake, delivery.QueueConfig{MaxAttempts: 2})
		job := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: b.clock.Now()}
		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, job) }))

		failed := b.waitDispatch(t, job.MessageID, nil)
		require.Equal(t, river.EventKindJobFailed, failed.Kind)
		require.Contains(t, b.logs.String(), "it will be retried")
		// The first retry is due after about a second of the queue's clock.
		b.clock.Advance(2 * time.Second)
		b.waitFor(t, "retried dispatch", func(e *river.Event) bool {
			return e.Kind == river.EventKindJobCompleted && dispatchArgs(t, e).MessageID == job.MessageID
		})

		// A dispatch that fails its last attempt is logged as an error.
		fake.mu.Lock()
		fake.failures = 2
		fake.mu.Unlock()
		doomed := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: b.clock.Now()}
		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, doomed) }))
		b.waitDispatch(t, doomed.MessageID, nil)
		b.clock.Advance(2 * time.Second)
		b.waitFor(t, "discarded dispatch", func(e *river.Event) bool {
			return e.Kind == river.EventKindJobFailed && dispatchArgs(t, e).MessageID == doomed.MessageID && e.Job.Attempt == 2
		})
		var discarded string
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, "no attempts left") {
				discarded = line
			}
		}
		require.Contains(t, discarded, `"level":"ERROR"`)
		require.Contains(t, discarded, "database on fire")
	})
}

func TestStopLetsRunningDispatchFinish(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b, fake, job := startBlockedDispatch(t, db)

		stopped := make(chan error, 1)
		go func() { stopped <- b.queue.Stop(ctx) }()
		close(fake.block) // the batch in progress ends normally
		require.NoError(t, <-stopped)
		require.Equal(t, "completed", jobState(t, db), "the job finished instead of being canceled")
		require.Equal(t, 1, fake.callsFor(job.MessageID))
	})
}

func TestStopCancelsRunningDispatchAtTheDeadline(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b, fake, job := startBlockedDispatch(t, db)

		sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		err := b.queue.Stop(sctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Contains(t, err.Error(), "will be retried")
		require.Contains(t, []string{"available", "retryable"}, jobState(t, db), "the canceled job waits for the next run")
		require.Equal(t, 0, fake.callsFor(job.MessageID))
	})
}

// startBlockedDispatch starts a queue whose dispatcher blocks until
// fake.block is closed, enqueues one dispatch and waits until it is running.
func startBlockedDispatch(t *testing.T, db *store.DB) (*queueBundle, *fakeDispatcher, store.DispatchJob) {
	t.Helper()
	ctx := context.Background()
	fake := &fakeDispatcher{block: make(chan struct{})}
	b := newStoppedQueue(t, db, fake, delivery.QueueConfig{})
	require.NoError(t, b.queue.Start(ctx))
	job := store.DispatchJob{TenantID: uuid.NewString(), MessageID: uuid.NewString(), RunAt: b.clock.Now()}
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return b.queue.EnqueueDispatch(ctx, tx, job) }))
	require.Eventually(t, func() bool { return jobState(t, db) == "running" }, waitTimeout, 10*time.Millisecond)
	return b, fake, job
}

func jobState(t testing.TB, db *store.DB) string {
	t.Helper()
	var s string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT CAST(state AS TEXT) FROM river_job").Scan(&s))
	return s
}
