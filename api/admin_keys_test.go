package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
)

// TestDataKeyAPI: the admin sees the district's key version and the
// re-encryption's progress after a rotation; others get 403; the other
// district is not affected.
func TestDataKeyAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		ctx := context.Background()
		admin := b.token(t, d, d.Admin)
		get := func(token string) api.DataKey {
			t.Helper()
			res := b.do(t, req{method: "GET", path: "/api/v1/admin/data-key", token: token})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var k api.DataKey
			res.decode(t, &k)
			return k
		}
		require.Equal(t, api.DataKey{ReencryptedPercent: 100}, get(admin), "nothing sealed yet")
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "GET", path: "/api/v1/admin/data-key", token: b.token(t, d, d.LincolnNurse)}).status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/admin/data-key"}).status)

		nurse := b.token(t, d, d.LincolnNurse)
		for range 4 {
			b.sendTo(t, nurse, []string{"IN_APP"}, d.LincolnParent)
		}
		k := get(admin)
		require.Equal(t, 1, k.Version)
		require.NotNil(t, k.Since)
		_, err := b.st.RotateDataKey(ctx, d.Tenant.ID)
		require.NoError(t, err)
		b.sendTo(t, nurse, []string{"IN_APP"}, d.LincolnParent)
		require.Equal(t, api.DataKey{Version: 2, Since: get(admin).Since, ReencryptedPercent: 20, RowsLeft: 4}, get(admin))
		_, err = b.st.ReencryptDataKeys(ctx, d.Tenant.ID, 3)
		require.NoError(t, err)
		require.Equal(t, 80, get(admin).ReencryptedPercent)
		require.Equal(t, api.DataKey{ReencryptedPercent: 100}, get(b.token(t, b.other, b.other.Admin)))
	})
}
