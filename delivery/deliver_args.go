package delivery

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"whitecross/store"
)

// DeliverKind is the River job kind of DeliverArgs.
const DeliverKind = "deliver"

// DeliverMaxAttempts bounds the attempts of one delivery (the default of
// DeliverConfig.MaxAttempts); with deliverBackoff's defaults they span about
// 2½ hours of provider failures before the delivery ends FAILED.
const DeliverMaxAttempts = 12

// DeliverArgs is the stored form of a store.DeliverJob: which delivery to
// send. Ids only, never content or addresses.
type DeliverArgs struct {
	TenantID   string `json:"tenant_id"`
	DeliveryID string `json:"delivery_id"`
	Urgent     bool   `json:"urgent"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return DeliverKind }

// EnqueueDeliveries inserts a deliver job per delivery in tx, in the
// deliver_urgent lane for urgent ones and the deliver lane for others. The worker is idempotent (it sends only a PENDING
// delivery), so a job inserted twice never sends twice.
func (q *Queue) EnqueueDeliveries(ctx context.Context, tx *store.Tx, jobs []store.DeliverJob) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{
			Args:       DeliverArgs{TenantID: j.TenantID, DeliveryID: j.DeliveryID, Urgent: j.Urgent},
			InsertOpts: &river.InsertOpts{Queue: deliverLane(j.Urgent), MaxAttempts: q.deliverMaxAttempts},
		}
	}
	if err := q.client.insertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue %d deliveries: %w", len(jobs), err)
	}
	return nil
}
