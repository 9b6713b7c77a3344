package realtime_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// stallingStore is a database that stops answering once stall is set: its
// event log reads hang until their context ends.
type stallingStore struct {
	realtime.Store
	stall atomic.Bool
}

func (s *stallingStore) LastEventSeq(ctx context.Context, tenantID, userID string) (int64, error) {
	if s.stall.Load() {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return s.Store.LastEventSeq(ctx, tenantID, userID)
}

// TestStalledDatabaseCallsAreBounded: when the database stops answering,
// the gateway's calls end at StoreTimeout and the client is told to try
// again (1013), on connect and during a replay, instead of waiting forever.
func TestStalledDatabaseCallsAreBounded(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		stalling := &stallingStore{}
		b := setup(t, db, options{config: func(cfg *realtime.Config) {
			stalling.Store = cfg.Store
			cfg.Store = stalling
			cfg.StoreTimeout = 50 * time.Millisecond
			noPresence(cfg)
		}})
		token := b.login(t, b.first, b.d.LincolnStaff).AccessToken

		// Connected and live; then the database stalls and a resume
		// needs the log.
		c := b.connect(t, b.first, b.d.LincolnStaff)
		stalling.stall.Store(true)
		c.send(t, "resume", map[string]int64{"after_seq": 0})
		require.Equal(t, realtime.CloseTryAgain, closeStatus(c.closed(t)), "during a replay")

		// A new connection cannot read its last seq for hello.
		c = b.dial(t, b.first, dialer{header: bearer(token), raw: true})
		require.Equal(t, realtime.CloseTryAgain, closeStatus(c.closed(t)), "on connect")
	})
}
