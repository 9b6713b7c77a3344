package realtime_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestMFASetupOnlySessionHasNoSocket: once the district requires two-step
// sign-in of the nurse's role, her session (without it) loses its socket
// and cannot open another.
func TestMFASetupOnlySessionHasNoSocket(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: quickSessionChecks})
		d := b.d
		token := b.login(t, b.first, d.LincolnNurse).AccessToken
		c := b.dial(t, b.first, dialer{header: bearer(token)})

		_, err := b.first.st.UpdateTenantSettings(d.System(), whitecross.TenantSettings{
			MFARequiredRoles: []whitecross.Role{whitecross.RoleNurse}})
		require.NoError(t, err)
		err = c.closed(t)
		require.Equal(t, realtime.CloseTokenExpired, closeStatus(err), "%v", err)

		status, _, problem := refuse(t, b.first, bearer(token))
		require.Equal(t, http.StatusForbidden, status)
		require.Contains(t, problem["detail"], "two-step sign-in")
	})
}
