package delivery

import (
	"context"
	"sync"
	"sync/atomic"

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

// outcomeBatcher is group commit for delivery outcomes. Workers hand it
// their outcome and wait; while one transaction records a batch, the
// outcomes that arrive meanwhile queue, and the next transaction records
// them all. A worker returns (and River completes its job) only once its
// outcome is committed, so a crash loses nothing that was acknowledged: a
// job whose outcome was not committed is still running in River's table,
// is rescued, and sends again only if its send was in flight.
type outcomeBatcher struct {
	store   outcomeBatchStore
	metrics *Metrics

	mu      sync.Mutex
	queue   []*queuedOutcome
	writing bool // a goroutine is writing batches

	// batches counts the transactions written (tests read it).
	batches atomic.Int64
}

type queuedOutcome struct {
	rec  store.OutcomeRecord
	done chan outcomeReply
}

type outcomeReply struct {
	change *whitecross.DeliveryChange
	err    error
}

// record queues rec and waits until its batch committed (or ctx ends: the
// outcome may still commit; the job's retry then finds the delivery done).
func (b *outcomeBatcher) record(ctx context.Context, rec store.OutcomeRecord) (*whitecross.DeliveryChange, error) {
	q := &queuedOutcome{rec: rec, done: make(chan outcomeReply, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, q)
	if !b.writing {
		b.writing = true
		go b.write()
	}
	b.mu.Unlock()
	select {
	case r := <-q.done:
		return r.change, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// write records queued batches until the queue is empty.
func (b *outcomeBatcher) write() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxOutcomeBatch)
		if n == 0 {
			b.writing = false
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		b.commit(batch)
	}
}

// commit records one batch and answers each of its workers.
func (b *outcomeBatcher) commit(batch []*queuedOutcome) {
	recs := make([]store.OutcomeRecord, len(batch))
	for i, q := range batch {
		recs[i] = q.rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), RecordTimeout)
	defer cancel()
	res, err := b.store.RecordDeliveryOutcomes(ctx, recs)
	b.batches.Add(1)
	for i, q := range batch {
		if err != nil {
			q.done <- outcomeReply{err: err}
			continue
		}
		if c := res[i].Change; c != nil && !res[i].Announced {
			// No event carries it to ObserveEvents: count it here.
			b.metrics.observeDelivery(c.Delivery)
		}
		q.done <- outcomeReply{change: res[i].Change, err: res[i].Err}
	}
}
