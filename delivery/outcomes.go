package delivery

import (
	"context"

	"whitecross"
	"whitecross/store"
)

// outcomeBatchStore records many outcomes in one transaction
// (*store.Store does). A DeliverConfig.Store without it records each
// outcome in a transaction of its own.
type outcomeBatchStore interface {
	RecordDeliveryOutcomes(ctx context.Context, recs []store.OutcomeRecord) ([]store.OutcomeResult, error)
}

// maxOutcomeBatch bounds the outcomes one transaction records: enough that
// every deliver worker's outcome fits in one while the previous commits,
// few enough that the transaction stays short.
const maxOutcomeBatch = 256

// newOutcomeBatcher records the deliver workers' outcomes in shared
// transactions (groupRunner). A worker returns, and River completes its
// job, only once its outcome is committed, so a crash loses nothing that
// was acknowledged: a job whose outcome was not committed is still running
// in River's table, is rescued, and sends again only if its send was in
// flight. The changes that no event announces (a large message's,
// store.CoalesceDeliveryEventsAbove) are counted in metrics here.
func newOutcomeBatcher(bs outcomeBatchStore, metrics *Metrics) *groupRunner[store.OutcomeRecord, *whitecross.DeliveryChange] {
	return &groupRunner[store.OutcomeRecord, *whitecross.DeliveryChange]{
		max: maxOutcomeBatch, linger: batchLinger,
		run: func(recs []store.OutcomeRecord) ([]reply[*whitecross.DeliveryChange], error) {
			ctx, cancel := context.WithTimeout(context.Background(), RecordTimeout)
			defer cancel()
			res, err := bs.RecordDeliveryOutcomes(ctx, recs)
			if err != nil && len(recs) > 1 {
				res, err = recordEach(ctx, bs, recs)
			}
			if err != nil {
				return nil, err
			}
			out := make([]reply[*whitecross.DeliveryChange], len(res))
			for i, r := range res {
				if r.Change != nil && !r.Announced {
					metrics.observeDelivery(r.Change.Delivery)
				}
				out[i] = reply[*whitecross.DeliveryChange]{r.Change, r.Err}
			}
			return out, nil
		},
	}
}

// recordEach records each outcome in its own transaction, after a batch
// failed: a record that makes its transaction fail must not make the
// others' jobs retry, and send again.
func recordEach(ctx context.Context, bs outcomeBatchStore, recs []store.OutcomeRecord) ([]store.OutcomeResult, error) {
	out := make([]store.OutcomeResult, len(recs))
	for i, r := range recs {
		res, err := bs.RecordDeliveryOutcomes(ctx, []store.OutcomeRecord{r})
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i] = res[0]
	}
	return out, nil
}
