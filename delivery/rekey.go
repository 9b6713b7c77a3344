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

// RekeyKind is the River job kind of RekeyArgs.
const RekeyKind = "rekey"

// RekeyBatch is how many rows one re-encryption transaction rewrites: a
// few hundred milliseconds of work at most, so neither database holds a
// write lock long.
const RekeyBatch = 500

// RekeyGrace is how old the current data key must be before older keys
// are retired: a write that looked up the old key just before the rotation
// has long committed by then (and is re-encrypted first if it used it).
const RekeyGrace = time.Minute

// RekeyArgs asks for a tenant's rows sealed by older data keys to be
// re-encrypted with its current one (after `whitecross keys rotate-data`).
type RekeyArgs struct {
	TenantID string `json:"tenant_id"`
}

// Kind implements river.JobArgs.
func (RekeyArgs) Kind() string { return RekeyKind }

// Rekeyer re-encrypts and retires a tenant's data keys (*store.Store).
type Rekeyer interface {
	ReencryptDataKeys(ctx context.Context, tenantID string, limit int) (int, error)
	RetireDataKeys(ctx context.Context, tenantID string, grace time.Duration) (left int64, wait time.Duration, err error)
}

var (
	_ Rekeyer          = (*store.Store)(nil)
	_ store.RekeyQueue = (*Queue)(nil)
)

// EnqueueRekey inserts the tenant's re-encryption job in tx, in the
// default lane: it is background work that must not delay alerts. Two jobs
// of one tenant (two rotations in a row) do no harm: each batch locks its
// rows and re-reads which key is current.
func (q *Queue) EnqueueRekey(ctx context.Context, tx *store.Tx, tenantID string) error {
	if _, err := q.client.insertTx(ctx, tx, RekeyArgs{TenantID: tenantID}, &river.InsertOpts{Queue: QueueDefault}); err != nil {
		return fmt.Errorf("enqueue re-encryption of tenant %s: %w", tenantID, err)
	}
	return nil
}

// RekeyWorker works re-encryption jobs.
type RekeyWorker struct {
	river.WorkerDefaults[RekeyArgs]
	rekeyer Rekeyer // nil when the queue's dispatcher cannot re-encrypt
	timeout time.Duration
	now     whitecross.Clock
	log     *slog.Logger
}

func newRekeyWorker(d Dispatcher, timeout time.Duration, now whitecross.Clock, log *slog.Logger) *RekeyWorker {
	r, _ := d.(Rekeyer)
	return &RekeyWorker{rekeyer: r, timeout: timeout, now: now, log: log}
}

// Timeout bounds one attempt, as for dispatch.
func (w *RekeyWorker) Timeout(*river.Job[RekeyArgs]) time.Duration { return w.timeout }

// Work re-encrypts batch after batch until no row is left on an older key,
// then retires the older keys. Past two thirds of its timeout it snoozes
// for no time and goes on in a fresh attempt; a crash leaves the job to be
// rescued, and it goes on from whatever rows still name an older key. While
// the current key is younger than RekeyGrace it snoozes until then and
// looks again.
func (w *RekeyWorker) Work(ctx context.Context, job *river.Job[RekeyArgs]) error {
	if w.rekeyer == nil {
		return river.JobCancel(errors.New("this queue's dispatcher cannot re-encrypt"))
	}
	tenantID, start, moved := job.Args.TenantID, w.now(), 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("re-encryption of tenant %s stopped after %d rows: %w", tenantID, moved, err)
		}
		n, err := w.rekeyer.ReencryptDataKeys(ctx, tenantID, RekeyBatch)
		if err != nil {
			return fmt.Errorf("re-encrypt tenant %s: %w", tenantID, err)
		}
		moved += n
		if n == 0 {
			return w.finish(ctx, tenantID, moved)
		}
		if w.now().Sub(start) >= w.timeout*2/3 {
			w.log.InfoContext(ctx, "re-encryption continues", "tenant_id", tenantID, "rows", moved)
			return river.JobSnooze(0)
		}
	}
}

// finish retires the older keys once nothing is left on them.
func (w *RekeyWorker) finish(ctx context.Context, tenantID string, moved int) error {
	left, wait, err := w.rekeyer.RetireDataKeys(ctx, tenantID, RekeyGrace)
	switch {
	case err != nil:
		return fmt.Errorf("retire data keys of tenant %s: %w", tenantID, err)
	case left > 0:
		// Rows appeared after the last batch (a late write): a retry moves
		// them. A row no batch can move fails the job for good in the end.
		return fmt.Errorf("tenant %s: %d rows still on older data keys after the last batch", tenantID, left)
	case wait > 0:
		return river.JobSnooze(wait)
	}
	w.log.InfoContext(ctx, "re-encryption done, older data keys retired", "tenant_id", tenantID, "rows", moved)
	return nil
}
