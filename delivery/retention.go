package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"whitecross/store"
)

// RetentionKind is the River job kind of RetentionArgs.
const RetentionKind = "retention"

// RetentionHourUTC is the hour (UTC) the daily purge runs: night in the
// Americas, when few messages are sent and SQLite's writer is idle.
const RetentionHourUTC = 7

// RetentionArgs is the daily purge of expired messages in every district
// (store.Store.PurgeExpired). It carries nothing: each run reads the
// districts' retention_days and the holds as they are then.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return RetentionKind }

// Purger deletes expired messages (the store does).
type Purger interface {
	PurgeExpired(ctx context.Context, opts store.PurgeOptions) ([]*store.PurgeRun, error)
}

var _ Purger = (*store.Store)(nil)

// dailyAt is a River schedule firing once a day at hour:00 UTC. Unlike a
// 24-hour interval, which counts from the process's start, it still fires
// every day when the servers restart more often than that.
type dailyAt struct{ hour int }

// Next implements river.PeriodicSchedule.
func (s dailyAt) Next(current time.Time) time.Time {
	current = current.UTC()
	next := time.Date(current.Year(), current.Month(), current.Day(), s.hour, 0, 0, 0, time.UTC)
	if !next.After(current) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// retentionPeriodicJob is the daily purge. River runs periodic jobs on its
// elected leader only, so several servers purge once; the job is unique
// per day besides.
func retentionPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(dailyAt{hour: RetentionHourUTC}, func() (river.JobArgs, *river.InsertOpts) {
		return RetentionArgs{}, &river.InsertOpts{Queue: QueueDefault, UniqueOpts: river.UniqueOpts{ByPeriod: 24 * time.Hour}}
	}, &river.PeriodicJobOpts{ID: RetentionKind})
}

// EnqueueRetention inserts a purge job now (operators and tests; the daily
// one is inserted by River's scheduler).
func (q *Queue) EnqueueRetention(ctx context.Context) error {
	if err := q.client.insert(ctx, RetentionArgs{}, &river.InsertOpts{Queue: QueueDefault}); err != nil {
		return fmt.Errorf("enqueue retention: %w", err)
	}
	return nil
}

// RetentionWorker runs the purge.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	purger  Purger // nil when the queue's dispatcher cannot purge
	timeout time.Duration
	log     *slog.Logger
}

// newRetentionWorker purges through d when it can (the store does; the
// fake dispatchers of tests do not).
func newRetentionWorker(d Dispatcher, timeout time.Duration, log *slog.Logger) *RetentionWorker {
	p, _ := d.(Purger)
	return &RetentionWorker{purger: p, timeout: timeout, log: log}
}

// Timeout bounds one attempt (QueueConfig.DispatchTimeout).
func (w *RetentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return w.timeout }

// Work purges every district, starting no batch after two thirds of the
// timeout; what is left continues in a fresh attempt (a snooze), so a
// first purge of years of history never trips River's rescue. It logs
// counts per district, never content.
func (w *RetentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	if w.purger == nil {
		return nil
	}
	runs, err := w.purger.PurgeExpired(ctx, store.PurgeOptions{Budget: w.timeout * 2 / 3})
	more := false
	for _, r := range runs {
		more = more || r.More
		w.log.Info("retention purge", "tenant", r.TenantSlug, "retention_days", r.RetentionDays, "messages", r.Messages,
			"recipients", r.Recipients, "deliveries", r.Deliveries, "held", r.Held, "more", r.More)
	}
	if err != nil {
		return err
	}
	if more {
		return river.JobSnooze(0)
	}
	return nil
}
