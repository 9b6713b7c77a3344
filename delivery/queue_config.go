package delivery

import (
	"cmp"
	"time"

	"whitecross"
)

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

// withDefaults fills every zero field with its default.
func (c QueueConfig) withDefaults() QueueConfig {
	c.Deliver = c.Deliver.withDefaults()
	c.UrgentWorkers, c.BulkWorkers = cmp.Or(c.UrgentWorkers, DefaultUrgentWorkers), cmp.Or(c.BulkWorkers, DefaultBulkWorkers)
	c.UrgentDeliverWorkers = cmp.Or(c.UrgentDeliverWorkers, DefaultUrgentDeliverWorkers)
	c.DeliverWorkers = cmp.Or(c.DeliverWorkers, DefaultDeliverWorkers)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.DispatchTimeout, c.RescueAfter = cmp.Or(c.DispatchTimeout, DefaultDispatchTimeout), cmp.Or(c.RescueAfter, DefaultRescueAfter)
	return c
}
