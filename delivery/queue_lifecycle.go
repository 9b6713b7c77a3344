package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"whitecross"
)

// Start starts the workers. They run until Stop, whatever happens to ctx
// afterwards, so that shutdown is graceful.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	q.running.Store(true)
	return nil
}

// hardStopTimeout is how long Stop waits for canceled jobs to return once
// ctx has ended; a dispatch returns between two batches.
const hardStopTimeout = 10 * time.Second

// Stop stops fetching jobs and waits for the running ones to finish. When
// ctx ends first, it cancels them: a dispatch stops after its current batch
// and is retried, from where it stopped, when a queue runs again.
func (q *Queue) Stop(ctx context.Context) error {
	q.running.Store(false)
	err := q.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		if err != nil {
			return fmt.Errorf("stop job queue: %w", err)
		}
		return nil
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopTimeout)
	defer cancel()
	if err := q.client.StopAndCancel(hctx); err != nil {
		return fmt.Errorf("stop job queue: %w", err)
	}
	return fmt.Errorf("stop job queue: running jobs were canceled at the shutdown timeout and will be retried: %w", ctx.Err())
}

// Ping reports whether the queue runs and its tables answer (for /readyz):
// EUNAVAILABLE when it is not started or has stopped.
func (q *Queue) Ping(ctx context.Context) error {
	if !q.running.Load() {
		return whitecross.Errorf(whitecross.EUNAVAILABLE, "the job queue is not running")
	}
	select {
	case <-q.client.Stopped():
		return whitecross.Errorf(whitecross.EUNAVAILABLE, "the job queue has stopped")
	default:
	}
	if _, err := q.client.JobList(ctx, river.NewJobListParams().First(1)); err != nil {
		return fmt.Errorf("query job queue: %w", err)
	}
	return nil
}
