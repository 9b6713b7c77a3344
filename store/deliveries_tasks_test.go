package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestLoadDeliveryTasks checks that loading deliveries together gives each
// the task LoadDeliveryTask gives it alone (but for the recipient's own
// read state, which sending does not use), in the order asked, with
// ENOTFOUND for another tenant's or an unknown delivery.
func TestLoadDeliveryTasks(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		ctx := context.Background()
		m := sendEmail(t, st, d, storetest.BulkStaff(t, db, d.Tenant.ID, d.Lincoln.ID, 3))
		ids := deliveryIDs(t, db, m.ID)
		refs := []store.DeliveryRef{
			{TenantID: d.Tenant.ID, DeliveryID: ids[2]},
			{TenantID: d.Tenant.ID, DeliveryID: ids[0]},
			{TenantID: "0197a3b0-0000-7000-8000-000000000000", DeliveryID: ids[1]},
			{TenantID: d.Tenant.ID, DeliveryID: "not an id"},
			{TenantID: d.Tenant.ID, DeliveryID: ids[1]},
		}
		res, err := st.LoadDeliveryTasks(ctx, refs)
		require.NoError(t, err)
		require.Len(t, res, len(refs))
		for _, i := range []int{0, 1, 4} {
			require.NoError(t, res[i].Err)
			alone, err := st.LoadDeliveryTask(ctx, d.Tenant.ID, refs[i].DeliveryID)
			require.NoError(t, err)
			require.Equal(t, alone, res[i].Task)
		}
		require.NotSame(t, res[0].Task.Message, res[1].Task.Message, "each task has its own message")
		for _, i := range []int{2, 3} {
			require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(res[i].Err))
		}
	})
}
