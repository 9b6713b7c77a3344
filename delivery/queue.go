// Package delivery is the delivery pipeline: River jobs and workers that
// expand messages into inboxes and deliveries, on River's SQLite driver for
// the embedded deployment and its pgx driver on PostgreSQL.
package delivery

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"whitecross"
	"whitecross/store"
)

// Queues (lanes). Dispatch jobs (expanding a message into inboxes and
// deliveries) are database bound; deliver jobs (one send to a provider)
// mostly wait for the provider. Each kind has its own lanes so that a
// backlog of sends never holds a dispatch up, nor the reverse, and each
// priority has its own workers: a large newsletter never delays an
// emergency.
const (
	// QueueUrgent dispatches EMERGENCY and URGENT messages.
	QueueUrgent = "urgent"
	// QueueDefault dispatches every other message.
	QueueDefault = river.QueueDefault
	// QueueDeliverUrgent sends the deliveries of EMERGENCY and URGENT
	// messages.
	QueueDeliverUrgent = "deliver_urgent"
	// QueueDeliver sends every other delivery.
	QueueDeliver = "deliver"
)

// lanes lists every queue (metrics report each).
var lanes = []string{QueueUrgent, QueueDefault, QueueDeliverUrgent, QueueDeliver}

// Defaults of QueueConfig.
const (
	// DefaultUrgentWorkers keeps slots free for emergencies even while
	// several arrive at once (an urgent message of 100 recipients or fewer
	// is dispatched as it is sent, without a job).
	DefaultUrgentWorkers = 4
	// DefaultBulkWorkers bounds how many ordinary dispatches run at once.
	// Each holds a database connection for a batch transaction; two leave
	// PostgreSQL's smallest pool (4 connections, one held by River's
	// LISTEN) room for the other lanes and River's own queries. On SQLite
	// every write shares one connection, so more would only queue.
	DefaultBulkWorkers = 2
	// DefaultDeliverWorkers and DefaultUrgentDeliverWorkers are the sends
	// in flight at once in the deliver lanes. A send holds a database
	// connection only while it reads the delivery (a few short queries) and
	// records the outcome (one transaction), not while it waits for the provider, so the
	// lanes are wide: with a provider answering in 100 ms, 32 workers send
	// about 200 deliveries a second; against the instant capture provider
	// the database is the limit well below that (see docs/performance.md).
	// The urgent lane is wider so an emergency to a whole district
	// outpaces any newsletter. Each send in flight is a connection or a
	// request open at its provider (the SMTP provider opens a connection
	// per email): the two together, 96 per instance, stay under common
	// per-client limits of relays and APIs.
	DefaultDeliverWorkers       = 32
	DefaultUrgentDeliverWorkers = 64
	// DefaultMaxAttempts is River's default: with its attempt^4-second
	// backoff, 25 attempts span about three weeks before a job is discarded.
	DefaultMaxAttempts = 25
	// DefaultDispatchTimeout bounds one attempt of a dispatch job. An
	// attempt starts no new batch after two thirds of it (a minute by
	// default) and continues in a fresh attempt instead (see
	// DispatchWorker), so a batch — about a second for 1,000 recipients —
	// always has time to finish.
	DefaultDispatchTimeout = 90 * time.Second
	// DefaultRescueAfter is when a job left running by a crashed process is
	// retried (River's "rescue"); it must exceed every job's timeout
	// (DispatchTimeout, DeliverConfig.Timeout). A crash delays the jobs it
	// was running by this much, and no more.
	DefaultRescueAfter = 2 * time.Minute
)

// Fetch timing of the lanes.
const (
	// deliverFetchCooldown is the deliver lanes' shortest time between two
	// fetches of jobs (River's default is 100 ms). A lane fetches at most
	// as many jobs as it has free workers, so the cooldown caps its
	// throughput at about workers per cooldown when sends are quick.
	deliverFetchCooldown = 20 * time.Millisecond
	// sqliteUrgentPoll is how often the urgent lanes look for new jobs on
	// SQLite (River's default is every second). PostgreSQL tells River of
	// each insert (LISTEN/NOTIFY), SQLite cannot, so without this an
	// emergency would wait up to a second to be picked up. One poll is a
	// short indexed query.
	sqliteUrgentPoll = 200 * time.Millisecond
)

// riverQueues configures River's queues (lanes) from cfg.
func riverQueues(cfg QueueConfig, dialect store.Dialect) map[string]river.QueueConfig {
	var urgentPoll time.Duration // River's default
	if dialect == store.SQLite {
		urgentPoll = sqliteUrgentPoll
	}
	return map[string]river.QueueConfig{
		QueueUrgent:  {MaxWorkers: cfg.UrgentWorkers, FetchPollInterval: urgentPoll},
		QueueDefault: {MaxWorkers: cfg.BulkWorkers},
		QueueDeliverUrgent: {MaxWorkers: cfg.UrgentDeliverWorkers, FetchCooldown: deliverFetchCooldown,
			FetchPollInterval: urgentPoll},
		QueueDeliver: {MaxWorkers: cfg.DeliverWorkers, FetchCooldown: deliverFetchCooldown},
	}
}

// QueueConfig tunes the queue; zero values take the defaults above.
type QueueConfig struct {
	// UrgentWorkers and BulkWorkers run dispatch jobs (lanes urgent and
	// default).
	UrgentWorkers int
	BulkWorkers   int
	// UrgentDeliverWorkers and DeliverWorkers run deliver jobs (lanes
	// deliver_urgent and deliver).
	UrgentDeliverWorkers int
	DeliverWorkers       int
	MaxAttempts          int
	DispatchTimeout      time.Duration
	RescueAfter          time.Duration
	// Deliver configures deliver jobs (providers, store, metrics).
	Deliver DeliverConfig
	// Clock, for tests only, replaces River's clock (and the database's
	// now() in River's queries) so that scheduled jobs come due when the
	// test advances it. Give the store the same clock. Nil in production.
	Clock whitecross.Clock
}

func (c QueueConfig) withDefaults() QueueConfig {
	c.Deliver = c.Deliver.withDefaults()
	c.UrgentWorkers = cmp.Or(c.UrgentWorkers, DefaultUrgentWorkers)
	c.BulkWorkers = cmp.Or(c.BulkWorkers, DefaultBulkWorkers)
	c.UrgentDeliverWorkers = cmp.Or(c.UrgentDeliverWorkers, DefaultUrgentDeliverWorkers)
	c.DeliverWorkers = cmp.Or(c.DeliverWorkers, DefaultDeliverWorkers)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.DispatchTimeout = cmp.Or(c.DispatchTimeout, DefaultDispatchTimeout)
	c.RescueAfter = cmp.Or(c.RescueAfter, DefaultRescueAfter)
	return c
}

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
	now := db.Now
	if cfg.Clock != nil {
		now = cfg.Clock
	}
	hints := &retryHints{}
	workers := river.NewWorkers()
	river.AddWorker(workers, &DispatchWorker{dispatcher: d, timeout: cfg.DispatchTimeout, now: now, log: logger})
	river.AddWorker(workers, newDeliverWorker(cfg.Deliver, hints, now, logger))
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

// lane is the dispatch lane of a message.
func lane(urgent bool) string {
	if urgent {
		return QueueUrgent
	}
	return QueueDefault
}

// deliverLane is the lane of a message's deliveries.
func deliverLane(urgent bool) string {
	if urgent {
		return QueueDeliverUrgent
	}
	return QueueDeliver
}

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

// client is what Queue uses of a River client, whatever its transaction type.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Stopped() <-chan struct{}
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

// nativeClient is a River client plus how to find its driver's transaction
// in a store.Tx.
type nativeClient[TTx comparable] struct {
	*river.Client[TTx]
	txOf func(*store.Tx) TTx
}

func newClient[TTx comparable](driver riverdriver.Driver[TTx], cfg *river.Config, txOf func(*store.Tx) TTx) (*river.Client[TTx], client, error) {
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, nativeClient[TTx]{Client: c, txOf: txOf}, nil
}

func (c nativeClient[TTx]) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	var zero TTx
	native := c.txOf(tx)
	if native == zero {
		return nil, whitecross.Errorf(whitecross.EINTERNAL, "the transaction is not of the job queue's database")
	}
	return c.InsertTx(ctx, native, args, opts)
}

func (c nativeClient[TTx]) insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error {
	var zero TTx
	native := c.txOf(tx)
	if native == zero {
		return whitecross.Errorf(whitecross.EINTERNAL, "the transaction is not of the job queue's database")
	}
	// InsertManyFastTx: one multi-row insert (COPY on PostgreSQL), no
	// per-row results to build.
	_, err := c.InsertManyFastTx(ctx, native, params)
	return err
}

// clockTime is River's time source on an injected clock (tests).
type clockTime whitecross.Clock

func (c clockTime) Now() time.Time { return c() }

func (c clockTime) NowOrNil() *time.Time {
	t := c().UTC()
	return &t
}

// clockRetryPolicy is River's default retry schedule (attempt^4 seconds,
// jittered) counted from the injected clock: River's own policy reads the
// real clock even when its time is stubbed.
type clockRetryPolicy whitecross.Clock

func (c clockRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	delay := time.Until((&river.DefaultClientRetryPolicy{}).NextRetry(job))
	return c().UTC().Add(delay)
}

// minLevelHandler drops records below min.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}
