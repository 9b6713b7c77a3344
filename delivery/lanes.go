package delivery

import (
	"time"

	"github.com/riverqueue/river"

	"whitecross/store"
)

// Lanes: which River queue each kind and priority of job runs in, and how
// each is fetched.

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

// Fetch timing of the lanes.
const (
	// deliverFetchCooldown is the deliver lanes' shortest time between two
	// fetches of jobs (River's default is 100 ms). A lane fetches at most
	// as many jobs as it has free workers, so the cooldown caps its
	// throughput at about workers per cooldown when sends are quick.
	deliverFetchCooldown = 20 * time.Millisecond
	// sqliteUrgentPoll is how often the urgent deliver lane looks for new
	// jobs on SQLite (River's default is every second). PostgreSQL tells
	// River of each insert (LISTEN/NOTIFY), SQLite cannot, so without this
	// an emergency's sends would wait up to a second to be picked up. One
	// poll is a short indexed query.
	sqliteUrgentPoll = 200 * time.Millisecond
	// sqliteDispatchPoll is how often both dispatch lanes look for new jobs
	// on SQLite: a dispatch job is inserted in the send's transaction, so
	// nothing wakes the lane when it commits, and the time to pick it up is
	// added to every recipient's wait (a 10,000-recipient GENERAL message
	// waited up to River's default second in the bulk lane). River's
	// FetchCooldown (100 ms) is the shortest interval it accepts.
	sqliteDispatchPoll = 100 * time.Millisecond
)

// riverQueues configures River's queues (lanes) from cfg.
func riverQueues(cfg QueueConfig, dialect store.Dialect) map[string]river.QueueConfig {
	var urgentPoll, dispatchPoll time.Duration // River's default
	if dialect == store.SQLite {
		urgentPoll, dispatchPoll = sqliteUrgentPoll, sqliteDispatchPoll
	}
	return map[string]river.QueueConfig{
		QueueUrgent:  {MaxWorkers: cfg.UrgentWorkers, FetchPollInterval: dispatchPoll},
		QueueDefault: {MaxWorkers: cfg.BulkWorkers, FetchPollInterval: dispatchPoll},
		QueueDeliverUrgent: {MaxWorkers: cfg.UrgentDeliverWorkers, FetchCooldown: deliverFetchCooldown,
			FetchPollInterval: urgentPoll},
		QueueDeliver: {MaxWorkers: cfg.DeliverWorkers, FetchCooldown: deliverFetchCooldown},
	}
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
