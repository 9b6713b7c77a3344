package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"whitecross"
	"whitecross/store"
)

// DispatchKind is the River job kind of DispatchArgs.
const DispatchKind = "dispatch"

// DispatchArgs is the stored form of a store.DispatchJob: which message to
// expand into inbox entries and deliveries. It carries ids only, never
// content. MessageID and ScheduledAt make the job unique, so the same
// dispatch is never enqueued twice.
type DispatchArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id" river:"unique"`
	// ScheduledAt is the message's scheduled_at when enqueued (nil for an
	// immediate send); a job whose time no longer matches the message
	// (rescheduled) does nothing.
	ScheduledAt *time.Time `json:"scheduled_at" river:"unique"`
	Urgent      bool       `json:"urgent"`
}

// Kind implements river.JobArgs.
func (DispatchArgs) Kind() string { return DispatchKind }

// Dispatcher expands a message in bounded steps: each call handles one batch
// in its own transaction and reports whether the message is fully
// dispatched. It is idempotent, so a retried or rescued job resumes where the
// last committed batch stopped. *store.Store implements it.
type Dispatcher interface {
	DispatchMessage(ctx context.Context, job store.DispatchJob) (done bool, err error)
}

var _ Dispatcher = (*store.Store)(nil)

// notDueSnooze is how long a dispatch that came due early by the store's
// clock waits before trying again.
const notDueSnooze = time.Second

// DispatchWorker works dispatch jobs.
type DispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	dispatcher Dispatcher
	timeout    time.Duration
	now        whitecross.Clock
	log        *slog.Logger
}

// Timeout bounds one attempt. A dispatch that runs out of time is retried and
// continues from its last committed batch.
func (w *DispatchWorker) Timeout(*river.Job[DispatchArgs]) time.Duration { return w.timeout }

// budget is how long one attempt keeps starting batches: two thirds of the
// timeout, leaving a third for the batch in progress.
func (w *DispatchWorker) budget() time.Duration { return w.timeout * 2 / 3 }

// Work dispatches the message batch after batch until it is done. Once the
// attempt has run for its budget it stops between two batches and snoozes
// for no time: the job is available again at once, without counting an
// attempt, and continues where it stopped — so a long broadcast never nears
// the timeout, and a crashed process's dispatch is rescued after
// RescueAfter, minutes rather than a quarter of an hour. It also stops
// between batches when ctx ends (shutdown or timeout); River then retries
// the job, which resumes. A message that no longer exists cancels the job
// (logged as an error) instead of retrying it 25 times.
func (w *DispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	start := w.now()
	dj := store.DispatchJob{
		TenantID:    job.Args.TenantID,
		MessageID:   job.Args.MessageID,
		RunAt:       job.ScheduledAt.UTC(),
		ScheduledAt: job.Args.ScheduledAt,
		Urgent:      job.Args.Urgent,
	}
	for batches := 0; ; batches++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dispatch message %s stopped after %d batch(es): %w", dj.MessageID, batches, err)
		}
		done, err := w.dispatcher.DispatchMessage(ctx, dj)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			w.log.ErrorContext(ctx, "dispatch of a message that does not exist canceled",
				"job_id", job.ID, "tenant_id", dj.TenantID, "message_id", dj.MessageID)
			return river.JobCancel(err)
		}
		if errors.Is(err, store.ErrNotDue) {
			// The store's clock is behind the queue's: try again shortly
			// (a snooze is not a failed attempt).
			return river.JobSnooze(notDueSnooze)
		}
		if err != nil {
			return fmt.Errorf("dispatch message %s: %w", dj.MessageID, err)
		}
		if done {
			return nil
		}
		if w.now().Sub(start) >= w.budget() {
			return river.JobSnooze(0)
		}
	}
}

// errorHandler logs every failed attempt of a job, and the last one, after
// which River discards the job, as an error so that no dispatch disappears
// silently.
type errorHandler struct{ log *slog.Logger }

func (h errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.logFailure(ctx, job, "job attempt failed", err.Error())
	return nil
}

func (h errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.logFailure(ctx, job, "job attempt panicked", fmt.Sprint(panicVal), "trace", trace)
	return nil
}

func (h errorHandler) logFailure(ctx context.Context, job *rivertype.JobRow, msg, reason string, extra ...any) {
	args := append([]any{"job_id", job.ID, "kind", job.Kind, "queue", job.Queue,
		"attempt", job.Attempt, "max_attempts", job.MaxAttempts, "error", reason}, extra...)
	if job.Attempt >= job.MaxAttempts {
		h.log.ErrorContext(ctx, msg+"; no attempts left: the job is discarded (see River's discarded jobs)", args...)
		return
	}
	h.log.WarnContext(ctx, msg+"; it will be retried", args...)
}
