package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// testReachProfiles: users with the same role, locations and custody share
// a profile key; any difference in those, or deactivation, gives another;
// other tenants' and unknown ids are left out.
func testReachProfiles(t *testing.T, open Opener) {
	b := setupDirectory(t, open)
	d := SeedDistrict(t, b.st)
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	twin, err := b.st.CreateUser(d.System(), &whitecross.UserCreate{Email: "twin@springfield.example", Name: "Tina Twin",
		Role: whitecross.RoleStaff, LocationIDs: []string{d.Lincoln.ID}, Password: SeedPassword})
	require.NoError(t, err)
	ids := []string{twin.ID, other.LincolnStaff.ID, "00000000-0000-0000-0000-000000000001", "not-a-uuid"}
	for _, u := range d.Users() {
		ids = append(ids, u.ID)
	}
	got, err := b.st.ReachProfiles(context.Background(), d.Tenant.ID, ids)
	require.NoError(t, err)
	require.Len(t, got, len(d.Users())+1, "only this district's users")
	require.Equal(t, got[d.LincolnStaff.ID], got[twin.ID], "same role and location: one profile")
	require.Equal(t, whitecross.RoleStaff, got[twin.ID].Role)
	keys := map[string]string{}
	for _, u := range d.Users() {
		k := got[u.ID].Key
		require.NotEmpty(t, k)
		require.Empty(t, keys[k], "%s and %s differ in role, location, custody or state", d.Labels[u.ID], keys[k])
		keys[k] = d.Labels[u.ID]
	}
}
