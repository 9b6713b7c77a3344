package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
	"whitecross/store/storetest"
)

// The who-may-message check is one statement whatever the number of ids,
// and answers the same for ids past the old batch boundaries.
func TestFilterMessageableOneQuery(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st := store.New(db, storetest.InsecureHasher(), nil)
		dist := storetest.SeedDistrict(t, st)
		staff := storetest.BulkStaff(t, db, dist.Tenant.ID, dist.Lincoln.ID, 3000)
		ctx := dist.As(dist.LincolnNurse)
		refused := []string{dist.WashingtonNurse.ID, dist.FormerStaff.ID, "not-a-uuid"}
		for _, n := range []int{1, 501, 3000} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				ids := append(append([]string{}, staff[:n]...), refused...)
				ok, queries, err := st.FilterMessageableCountingQueries(ctx, ids)
				require.NoError(t, err)
				require.Equal(t, 1, queries, "one statement for %d ids", len(ids))
				require.Len(t, ok, n)
				for _, id := range staff[:n] {
					require.True(t, ok[id], id)
				}
			})
		}
	})
}
