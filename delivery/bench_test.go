package delivery_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/internal/testutil"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkDispatchThroughput sends a 10,000-recipient message through the
// real queue and waits until every recipient has it. It reports
// deliveries/s (dispatch only: from the accepted send to the completed job)
// and send-ms (the time to accept the send).
func BenchmarkDispatchThroughput(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			sb := newProductionSendBundle(b, storetest.Open(b, d))
			const audience = 10000
			recipients := sb.staff(b, audience)
			var dispatching, sending time.Duration
			sends := 0
			for b.Loop() {
				start := time.Now()
				m := sb.send(b, message("Newsletter", recipients))
				accepted := time.Now()
				sb.waitDispatch(b, m.ID, nil)
				dispatching += time.Since(accepted)
				sending += accepted.Sub(start)
				sends++
				require.Equal(b, whitecross.MessageSent, sb.status(b, m.ID))
			}
			require.Equal(b, sends*audience, count(b, sb.db, "SELECT COUNT(*) FROM deliveries"))
			b.ReportMetric(float64(sends*audience)/dispatching.Seconds(), "deliveries/s")
			b.ReportMetric(float64(sending.Milliseconds())/float64(sends), "send-ms")
		})
	}
}

// newProductionSendBundle is newSendBundle with the production queue
// configuration: real clocks, River's database time and start-up jitter.
func newProductionSendBundle(b *testing.B, db *store.DB) *sendBundle {
	b.Helper()
	st := store.New(db, storetest.InsecureHasher(), testSealer(b))
	q, err := delivery.NewQueue(db, st, delivery.QueueConfig{}, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	st.SetDispatchQueue(q)
	events, cancel := q.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	b.Cleanup(cancel)
	sb := &sendBundle{queueBundle: &queueBundle{db: db, queue: q, logs: &testutil.SyncBuffer{}, events: events}, st: st, d: storetest.SeedDistrict(b, st)}
	sb.start(b)
	return sb
}
