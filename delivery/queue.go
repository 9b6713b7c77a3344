package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"whitecross"
	"whitecross/store"
)

// Queue is the durable job queue (River) on the store's database. It
// implements store.DispatchQueue: dispatch jobs are inserted in the
// transaction that stores their message.
type Queue struct {
	client  client
	pgx     *river.Client[pgx.Tx]  // PostgreSQL
	sqlite  *river.Client[*sql.Tx] // SQLite
	now     whitecross.Clock
	log     *slog.Logger
	running atomic.Bool
	// deliverMaxAttempts is DeliverConfig.MaxAttempts, set on deliver jobs.
	deliverMaxAttempts int
}

var _ store.DispatchQueue = (*Queue)(nil)

// NewQueue builds the queue on db with the dispatch worker calling d
// (normally the *store.Store) and the deliver worker configured by
// cfg.Deliver. It neither starts workers nor touches the database: a CLI
// verb may build one just to insert jobs. River's tables come from
// db.Migrate.
func NewQueue(db *store.DB, d Dispatcher, cfg QueueConfig, logger *slog.Logger) (*Queue, error) {
	cfg = cfg.withDefaults()
	if cfg.RescueAfter <= cfg.DispatchTimeout {
		return nil, fmt.Errorf("queue: RescueAfter (%s) must exceed DispatchTimeout (%s)", cfg.RescueAfter, cfg.DispatchTimeout)
	}
	if longest := cfg.Deliver.Timeout + RecordTimeout; cfg.RescueAfter <= longest {
		return nil, fmt.Errorf("queue: RescueAfter (%s) must exceed the deliver timeout plus RecordTimeout (%s)", cfg.RescueAfter, longest)
	}
	if err := cfg.Deliver.validate(); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	now := db.Now
	if cfg.Clock != nil {
		now = cfg.Clock
	}
	hints := &retryHints{}
	workers := river.NewWorkers()
	river.AddWorker(workers, &DispatchWorker{dispatcher: d, timeout: cfg.DispatchTimeout, now: now, log: logger})
	river.AddWorker(workers, newDeliverWorker(cfg.Deliver, hints, now, logger))
	river.AddWorker(workers, newEscalateWorker(d, cfg.DispatchTimeout, now, logger))
	river.AddWorker(workers, newNoticeWorker(cfg.Deliver, d, logger))
	river.AddWorker(workers, newRekeyWorker(d, cfg.DispatchTimeout, now, logger))
	river.AddWorker(workers, newRetentionWorker(d, cfg.DispatchTimeout, logger))
	rc := &river.Config{
		Queues:               riverQueues(cfg, db.Dialect),
		Workers:              workers,
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.DispatchTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          newRetryPolicy(cfg.Clock, cfg.Deliver, hints),
		ErrorHandler:         errorHandler{log: logger},
		// River reports routine maintenance at info; keep its warnings and errors.
		Logger: slog.New(minLevelHandler{Handler: logger.Handler(), min: slog.LevelWarn}).With("component", "river"),
	}
	if cfg.Clock != nil {
		rc.Test.Time = clockTime(cfg.Clock)
		rc.TestOnly = true // no jittered start-up sleeps
	} else {
		// Not under a test clock, whose jumps past the hour would slip a
		// purge among another test's jobs; tests use EnqueueRetention.
		rc.PeriodicJobs = []*river.PeriodicJob{retentionPeriodicJob()}
	}
	q := &Queue{now: now, log: logger, deliverMaxAttempts: cfg.Deliver.MaxAttempts}
	var err error
	switch db.Dialect {
	case store.Postgres:
		q.pgx, q.client, err = newClient(riverpgxv5.New(db.PgxPool()), rc, (*store.Tx).PgxTx)
	case store.SQLite:
		// SQLite allows one writer: River shares the store's single write
		// connection, so its queries and ours never collide with SQLITE_BUSY.
		q.sqlite, q.client, err = newClient(riversqlite.New(db.SQLWriter()), rc, (*store.Tx).SQLTx)
	default:
		err = fmt.Errorf("unknown dialect %q", db.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("create job queue: %w", err)
	}
	return q, nil
}

// EnqueueDispatch inserts the dispatch job in tx, so that it exists exactly
// when the transaction commits: in the urgent lane when job.Urgent, due at
// job.RunAt when that is in the future. The same message and scheduled time
// is never enqueued twice (a duplicate is skipped). EINTERNAL when tx is not
// of the queue's database.
func (q *Queue) EnqueueDispatch(ctx context.Context, tx *store.Tx, job store.DispatchJob) error {
	opts := &river.InsertOpts{
		Queue:      lane(job.Urgent),
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	}
	if job.RunAt.After(q.now()) {
		opts.ScheduledAt = job.RunAt.UTC()
	}
	args := DispatchArgs{TenantID: job.TenantID, MessageID: job.MessageID, ScheduledAt: job.ScheduledAt, Urgent: job.Urgent}
	if _, err := q.client.insertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("enqueue dispatch of message %s: %w", job.MessageID, err)
	}
	return nil
}

// Subscribe returns a channel of the client's events of the given kinds
// (e.g. river.EventKindJobCompleted) and a function that ends the
// subscription, for tests and metrics.
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.client.Subscribe(kinds...)
}

// JobList lists River's jobs (tests and admin tools).
func (q *Queue) JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error) {
	return q.client.JobList(ctx, params)
}

// PgxClient returns the River client on PostgreSQL (nil on SQLite), for
// River's UI.
func (q *Queue) PgxClient() *river.Client[pgx.Tx] { return q.pgx }

// SQLClient returns the River client on SQLite (nil on PostgreSQL), for
// River's UI.
func (q *Queue) SQLClient() *river.Client[*sql.Tx] { return q.sqlite }
