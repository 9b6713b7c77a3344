package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkDispatch10k measures the background dispatch of one message to
// 10,000 staff (the send itself is not timed): every batch from the first
// to the one that makes the message SENT, in-app only and in-app plus
// email. It reports the statements and batches per message and, as
// last-notify-ms, when the last recipient's message.created event was
// handed to the notifier (the realtime gateway's fan-out, which delivery/
// and realtime/ measure, is not part of it).
func BenchmarkDispatch10k(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			st := newTestStore(b, db)
			st.SetDispatchQueue(acceptQueue{})
			var notified int
			st.SetEventNotifier(func(_ context.Context, evs []whitecross.Event) {
				for _, e := range evs {
					if e.Type == whitecross.EventMessageCreated {
						notified++
					}
				}
			})
			dist := storetest.SeedDistrict(b, st)
			staff := storetest.BulkStaff(b, db, dist.Tenant.ID, dist.Lincoln.ID, whitecross.MaxRecipientIDs)
			ctx := dist.As(dist.DistrictNurse)
			for _, chans := range [][]whitecross.Channel{{whitecross.ChannelInApp}, {whitecross.ChannelInApp, whitecross.ChannelEmail}} {
				b.Run(fmt.Sprint(chans), func(b *testing.B) {
					in := &whitecross.MessageCreate{Subject: "Benchmark", Body: "Hello from the nurse's office.",
						RecipientIDs: staff, Channels: chans}
					var statements, batches int
					var lastNotify time.Duration
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						m, err := st.SendMessage(ctx, in)
						if err != nil {
							b.Fatal(err)
						}
						notified = 0
						b.StartTimer()
						start := time.Now()
						job := store.DispatchJob{TenantID: dist.Tenant.ID, MessageID: m.ID}
						for done := false; !done; batches++ {
							var n int
							if done, n, err = st.DispatchMessageCountingQueries(b.Context(), job); err != nil {
								b.Fatal(err)
							}
							statements += n
							if notified == len(staff) {
								lastNotify += time.Since(start)
								notified = -1 // counted once
							}
						}
					}
					b.ReportMetric(float64(statements)/float64(b.N), "statements/op")
					b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
					b.ReportMetric(float64(lastNotify.Milliseconds())/float64(b.N), "last-notify-ms")
				})
			}
		})
	}
}
