package delivery

import (
	"context"

	"whitecross"
	"whitecross/store"
)

// taskBatchStore loads many deliveries at once (*store.Store does). A
// DeliverConfig.Store without it loads each delivery on its own.
type taskBatchStore interface {
	LoadDeliveryTasks(ctx context.Context, refs []store.DeliveryRef) ([]store.TaskResult, error)
}

// maxTaskBatch bounds the deliveries one load reads: a lane's workers
// take their jobs a fetch at a time, so a batch is about one fetch.
const maxTaskBatch = 128

// taskLoadTimeout bounds one batch load, which no single job's
// cancellation ends.
const taskLoadTimeout = RecordTimeout

// newTaskLoader loads the deliver workers' deliveries in shared reads
// (groupRunner): the jobs River fetches together start together, and
// their deliveries, recipients and messages are read in a few queries,
// each message decrypted once.
func newTaskLoader(ts taskBatchStore) *groupRunner[store.DeliveryRef, *whitecross.DeliveryTask] {
	return &groupRunner[store.DeliveryRef, *whitecross.DeliveryTask]{
		max: maxTaskBatch, linger: batchLinger,
		run: func(refs []store.DeliveryRef) ([]reply[*whitecross.DeliveryTask], error) {
			ctx, cancel := context.WithTimeout(context.Background(), taskLoadTimeout)
			defer cancel()
			res, err := ts.LoadDeliveryTasks(ctx, refs)
			if err != nil {
				return nil, err
			}
			out := make([]reply[*whitecross.DeliveryTask], len(res))
			for i, r := range res {
				out[i] = reply[*whitecross.DeliveryTask]{r.Task, r.Err}
			}
			return out, nil
		},
	}
}

// loadTask reads the job's delivery, with other workers' when the store
// can (newTaskLoader).
func (w *DeliverWorker) loadTask(ctx context.Context, tenantID, deliveryID string) (*whitecross.DeliveryTask, error) {
	if w.tasks != nil {
		return w.tasks.do(ctx, store.DeliveryRef{TenantID: tenantID, DeliveryID: deliveryID})
	}
	return w.cfg.Store.LoadDeliveryTask(ctx, tenantID, deliveryID)
}
