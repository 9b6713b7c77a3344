package store_test

import (
	"context"
	"fmt"
	"testing"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// acceptQueue is a store.DispatchQueue that accepts every job and keeps
// none. It exists only for this benchmark, which measures how fast a send
// is accepted (validation, reach check, sealing, the message, recipient and
// audit rows, the job insert) and not the background dispatch; real code
// always uses package delivery's River queue.
type acceptQueue struct{}

func (acceptQueue) EnqueueDispatch(context.Context, *store.Tx, store.DispatchJob) error { return nil }

func (acceptQueue) EnqueueDeliveries(context.Context, *store.Tx, []store.DeliverJob) error {
	return nil
}

// BenchmarkSend measures SendMessage from a district nurse to 1, 100 and
// 10,000 staff. Up to store.InlineDispatchMax recipients the send also
// dispatches inline (the message is in every inbox on return); above it the
// job is handed to the queue.
func BenchmarkSend(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			st := newTestStore(b, db)
			st.SetDispatchQueue(acceptQueue{})
			dist := storetest.SeedDistrict(b, st)
			staff := storetest.BulkStaff(b, db, dist.Tenant.ID, dist.Lincoln.ID, whitecross.MaxRecipientIDs)
			ctx := dist.As(dist.DistrictNurse)
			for _, n := range []int{1, 100, whitecross.MaxRecipientIDs} {
				b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
					in := &whitecross.MessageCreate{Subject: "Benchmark", Body: "Hello from the nurse's office.",
						RecipientIDs: staff[:n], Channels: []whitecross.Channel{whitecross.ChannelEmail}}
					for b.Loop() {
						if _, err := st.SendMessage(ctx, in); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
