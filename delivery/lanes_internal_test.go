package delivery

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// On SQLite nothing wakes a lane when a job's transaction commits, so both
// dispatch lanes poll at sqliteDispatchPoll: a bulk broadcast is picked up
// within 100 ms rather than River's default second. PostgreSQL keeps
// River's default poll: its inserts notify the lanes.
func TestDispatchLanesPollOnSQLite(t *testing.T) {
	cfg := QueueConfig{}.withDefaults()
	sqlite := riverQueues(cfg, store.SQLite)
	for _, q := range []string{QueueUrgent, QueueDefault} {
		require.Equal(t, sqliteDispatchPoll, sqlite[q].FetchPollInterval, q)
	}
	require.Equal(t, sqliteUrgentPoll, sqlite[QueueDeliverUrgent].FetchPollInterval)
	for q, c := range riverQueues(cfg, store.Postgres) {
		require.Zero(t, c.FetchPollInterval, q)
	}
}
