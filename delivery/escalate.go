package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"whitecross"
	"whitecross/store"
)

// EscalateKind is the River job kind of EscalateArgs.
const EscalateKind = "escalate"

// EscalateArgs is the stored form of a store.EscalationJob: one escalation
// round of a message (ids only, never content). The message and round make
// the job unique: a round is never enqueued twice.
type EscalateArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id" river:"unique"`
	Round     int    `json:"round" river:"unique"`
	Urgent    bool   `json:"urgent"`
}

// Kind implements river.JobArgs.
func (EscalateArgs) Kind() string { return EscalateKind }

// Escalator runs escalation rounds in bounded steps, each in its own
// transaction, and is idempotent (see store.Store.EscalateMessage).
type Escalator interface {
	EscalateMessage(ctx context.Context, job *store.EscalationJob) (done bool, err error)
}

var (
	_ Escalator             = (*store.Store)(nil)
	_ store.EscalationQueue = (*Queue)(nil)
)

// EnqueueEscalation inserts the job of an escalation round in tx, due at
// job.RunAt (a River scheduled job: nothing polls for it), in the urgent
// dispatch lane for an urgent message. A round already enqueued is skipped.
func (q *Queue) EnqueueEscalation(ctx context.Context, tx *store.Tx, job store.EscalationJob) error {
	opts := &river.InsertOpts{Queue: lane(job.Urgent), UniqueOpts: river.UniqueOpts{ByArgs: true}}
	if job.RunAt.After(q.now()) {
		opts.ScheduledAt = job.RunAt.UTC()
	}
	args := EscalateArgs{TenantID: job.TenantID, MessageID: job.MessageID, Round: job.Round, Urgent: job.Urgent}
	if _, err := q.client.insertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("enqueue escalation round %d of message %s: %w", job.Round, job.MessageID, err)
	}
	return nil
}

// EscalateWorker works escalation rounds.
type EscalateWorker struct {
	river.WorkerDefaults[EscalateArgs]
	escalator Escalator // nil when the queue's dispatcher cannot escalate
	timeout   time.Duration
	now       whitecross.Clock
	log       *slog.Logger
}

// newEscalateWorker escalates through d when it can (the store does; the
// fake dispatchers of tests do not, and never enqueue rounds).
func newEscalateWorker(d Dispatcher, timeout time.Duration, now whitecross.Clock, log *slog.Logger) *EscalateWorker {
	e, _ := d.(Escalator)
	return &EscalateWorker{escalator: e, timeout: timeout, now: now, log: log}
}

// Timeout bounds one attempt, as for dispatch.
func (w *EscalateWorker) Timeout(*river.Job[EscalateArgs]) time.Duration { return w.timeout }

// Work runs the round step after step until it is done, like
// DispatchWorker: past two thirds of its timeout it snoozes for no time and
// starts again (skipping what is done), so a round over 100,000 recipients
// never nears the timeout. A round that came due early by the store's clock
// snoozes briefly.
func (w *EscalateWorker) Work(ctx context.Context, job *river.Job[EscalateArgs]) error {
	if w.escalator == nil {
		return river.JobCancel(errors.New("this queue's dispatcher cannot escalate"))
	}
	start := w.now()
	ej := &store.EscalationJob{TenantID: job.Args.TenantID, MessageID: job.Args.MessageID, Round: job.Args.Round,
		RunAt: job.ScheduledAt.UTC(), Urgent: job.Args.Urgent}
	for steps := 0; ; steps++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("escalation round %d of message %s stopped after %d step(s): %w", ej.Round, ej.MessageID, steps, err)
		}
		done, err := w.escalator.EscalateMessage(ctx, ej)
		if errors.Is(err, store.ErrNotDue) {
			return river.JobSnooze(notDueSnooze)
		}
		if err != nil {
			return fmt.Errorf("escalation round %d of message %s: %w", ej.Round, ej.MessageID, err)
		}
		if done {
			return nil
		}
		if w.now().Sub(start) >= w.timeout*2/3 {
			return river.JobSnooze(0)
		}
	}
}
