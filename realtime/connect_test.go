package realtime_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// logCountingStore counts the gateway's reads of the event log.
type logCountingStore struct {
	realtime.Store
	reads atomic.Int64
}

func (s *logCountingStore) ReadEvents(ctx context.Context, tenantID, userID string, after int64, limit int) ([]whitecross.Event, error) {
	s.reads.Add(1)
	return s.Store.ReadEvents(ctx, tenantID, userID, after, limit)
}

// TestUpToDateResumeReadsNoLog: a client that resumes from hello's
// last_seq (or sends any other first frame) with nothing new goes live
// without a read of the event log, and still gets what comes next, in
// order; one that resumes from further back gets the replay.
func TestUpToDateResumeReadsNoLog(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		counting := &logCountingStore{}
		b := setup(t, db, options{config: func(cfg *realtime.Config) {
			counting.Store = cfg.Store
			cfg.Store = counting
			noPresence(cfg)
		}})
		d := b.d
		b.send(t, b.first, d.LincolnNurse, "before", d.LincolnStaff)
		token := b.login(t, b.first, d.LincolnStaff).AccessToken
		last := int64(1)
		upToDate := b.dial(t, b.first, dialer{header: bearer(token), resume: &last})
		pinged := b.dial(t, b.first, dialer{header: bearer(token)})
		var h helloData
		upToDate.hello.decode(t, &h)
		require.Equal(t, last, h.LastSeq)
		require.Empty(t, pinged.held, "nothing replayed")

		b.send(t, b.first, d.LincolnNurse, "live", d.LincolnStaff)
		for _, c := range []*client{upToDate, pinged} {
			f, m := c.messageCreated(t)
			require.Equal(t, int64(2), f.Seq)
			require.Equal(t, "live", m.Subject)
		}
		require.Zero(t, counting.reads.Load(), "no log read for an up-to-date client")

		from := int64(0)
		behind := b.dial(t, b.first, dialer{header: bearer(token), resume: &from})
		f, m := behind.messageCreated(t)
		require.Equal(t, int64(1), f.Seq)
		require.Equal(t, "before", m.Subject)
		require.Positive(t, counting.reads.Load(), "a client behind is replayed from the log")
	})
}
