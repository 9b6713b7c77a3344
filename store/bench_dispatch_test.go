package store_test

import (
	"fmt"
	"testing"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// BenchmarkDispatch10k measures the background dispatch of one message to
// 10,000 staff (the send itself is not timed): every batch from the first
// to the one that makes the message SENT, in-app only and in-app plus
// email. It reports the statements and batches per message. The realtime
// fan-out is not part of it (no notifier); delivery/ and realtime/ measure
// theirs.
func BenchmarkDispatch10k(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			key, err := vault.GenerateMasterKey()
			if err != nil {
				b.Fatal(err)
			}
			v, err := vault.New(key)
			if err != nil {
				b.Fatal(err)
			}
			st := store.New(db, storetest.InsecureHasher(), v)
			st.SetDispatchQueue(acceptQueue{})
			dist := storetest.SeedDistrict(b, st)
			staff := storetest.BulkStaff(b, db, dist.Tenant.ID, dist.Lincoln.ID, whitecross.MaxRecipientIDs)
			ctx := dist.As(dist.DistrictNurse)
			for _, chans := range [][]whitecross.Channel{{whitecross.ChannelInApp}, {whitecross.ChannelInApp, whitecross.ChannelEmail}} {
				b.Run(fmt.Sprint(chans), func(b *testing.B) {
					in := &whitecross.MessageCreate{Subject: "Benchmark", Body: "Hello from the nurse's office.",
						RecipientIDs: staff, Channels: chans}
					var statements, batches int
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						m, err := st.SendMessage(ctx, in)
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						job := store.DispatchJob{TenantID: dist.Tenant.ID, MessageID: m.ID}
						for done := false; !done; batches++ {
							var n int
							if done, n, err = st.DispatchMessageCountingQueries(b.Context(), job); err != nil {
								b.Fatal(err)
							}
							statements += n
						}
					}
					b.ReportMetric(float64(statements)/float64(b.N), "statements/op")
					b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
				})
			}
		})
	}
}
