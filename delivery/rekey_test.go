package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestRekeyJobReencryptsThenRetires: after a rotation the queue's job
// moves every old message to the new key (more than one batch), keeps the
// old key until the new one is RekeyGrace old, then retires it; the
// messages open throughout.
func TestRekeyJobReencryptsThenRetires(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sealer := testSealer(t)
		st := store.New(db, storetest.InsecureHasher(), sealer)
		qb := newStoppedQueue(t, db, st, delivery.QueueConfig{})
		st.SetRekeyQueue(qb.queue)
		d := storetest.SeedDistrict(t, st)
		var ids []string
		for i := range delivery.RekeyBatch + 3 {
			m, err := st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: fmt.Sprintf("Note %d", i),
				Body: "Body", RecipientIDs: []string{d.LincolnStaff.ID}, Channels: []whitecross.Channel{whitecross.ChannelInApp}})
			require.NoError(t, err)
			ids = append(ids, m.ID)
		}
		_, err := st.RotateDataKey(ctx, d.Tenant.ID)
		require.NoError(t, err)
		status := func() *whitecross.DataKeyStatus {
			s, err := st.TenantDataKeyStatus(ctx, d.Tenant.ID)
			require.NoError(t, err)
			return s
		}
		require.EqualValues(t, delivery.RekeyBatch+3, status().RowsLeft())

		qb.start(t)
		require.Eventually(t, func() bool { return status().RowsLeft() == 0 }, waitTimeout, 20*time.Millisecond)
		require.Nil(t, status().Keys[0].RetiredAt, "kept while the new key is younger than the grace")
		qb.clock.Advance(delivery.RekeyGrace)
		qb.waitFor(t, "the rekey job's completion", func(e *river.Event) bool {
			return e.Kind == river.EventKindJobCompleted && e.Job.Kind == delivery.RekeyKind
		})
		require.NotNil(t, status().Keys[0].RetiredAt)
		fresh := store.New(db, storetest.InsecureHasher(), sealer)
		for _, id := range []string{ids[0], ids[len(ids)-1]} {
			_, err := fresh.FindMessageByID(d.As(d.LincolnStaff), id)
			require.NoError(t, err)
		}
	})
}
