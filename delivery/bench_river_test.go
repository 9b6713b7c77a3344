package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/require"

	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkRiverNoop is the queue's own limit beside
// BenchmarkDeliveryThroughput (run both in one `go test -bench`): a River
// client on a production-sized pool of a new database, one lane with the
// deliver lane's workers and fetch cooldown, working jobs that do nothing.
// Each iteration inserts 2,000 jobs in one transaction — as many as the
// throughput benchmark's deliveries — and reports jobs/s from that commit
// to the last job completed.
func BenchmarkRiverNoop(b *testing.B) {
	const jobs = 2000
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := openProductionDB(b, d)
			rb := newRiverNoop(b, db)
			var elapsed time.Duration
			runs := 0
			for b.Loop() {
				elapsed += rb.run(b, jobs)
				runs++
			}
			b.ReportMetric(float64(runs*jobs)/elapsed.Seconds(), "jobs/s")
		})
	}
}

// noopArgs is a job that does nothing.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// riverNoop is a started River client of no-op workers on either dialect.
type riverNoop struct {
	db        *store.DB
	completed <-chan *river.Event
	insert    func(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
}

func newRiverNoop(b *testing.B, db *store.DB) *riverNoop {
	b.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	cfg := &river.Config{
		Queues: map[string]river.QueueConfig{delivery.QueueDeliver: {
			MaxWorkers: delivery.DefaultDeliverWorkers, FetchCooldown: 20 * time.Millisecond}},
		Workers: workers,
	}
	rn := &riverNoop{db: db}
	var c interface {
		Start(context.Context) error
		Stop(context.Context) error
		Subscribe(...river.EventKind) (<-chan *river.Event, func())
	}
	if db.Dialect == store.Postgres {
		pc, err := river.NewClient(riverpgxv5.New(db.PgxPool()), cfg)
		require.NoError(b, err)
		c = pc
		rn.insert = func(ctx context.Context, tx *store.Tx, p []river.InsertManyParams) error {
			_, err := pc.InsertManyFastTx(ctx, tx.PgxTx(), p)
			return err
		}
	} else {
		sc, err := river.NewClient(riversqlite.New(db.SQLWriter()), cfg)
		require.NoError(b, err)
		c = sc
		rn.insert = func(ctx context.Context, tx *store.Tx, p []river.InsertManyParams) error {
			_, err := sc.InsertManyFastTx(ctx, tx.SQLTx(), p)
			return err
		}
	}
	events, cancel := c.Subscribe(river.EventKindJobCompleted)
	b.Cleanup(cancel)
	rn.completed = events
	require.NoError(b, c.Start(context.Background()))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return rn
}

// run inserts n jobs and returns the time from their commit until the
// last is completed.
func (rn *riverNoop) run(b *testing.B, n int) time.Duration {
	b.Helper()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}, InsertOpts: &river.InsertOpts{Queue: delivery.QueueDeliver}}
	}
	ctx := context.Background()
	require.NoError(b, rn.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error { return rn.insert(ctx, tx, params) }))
	start := time.Now()
	deadline := time.After(benchWaitTimeout)
	for done := 0; done < n; done++ {
		select {
		case <-rn.completed:
		case <-deadline:
			b.Fatalf("%d of %d no-op jobs completed within %s", done, n, benchWaitTimeout)
		}
	}
	return time.Since(start)
}
