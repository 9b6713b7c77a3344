package whitecross_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// TestIdleTimeout: staff are timed out after the district's minutes (30
// unset, none at 0), guardians never; the server's end comes after the
// timeout by twice the recording interval (a quarter of short timeouts).
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	ten, zero := 10, 0
	for _, role := range []whitecross.Role{whitecross.RoleAdmin, whitecross.RoleSchoolAdmin, whitecross.RoleNurse, whitecross.RoleStaff} {
		require.Equal(t, 30*time.Minute, whitecross.IdleTimeout(role, nil), role)
		require.Equal(t, 10*time.Minute, whitecross.IdleTimeout(role, &ten), role)
		require.Zero(t, whitecross.IdleTimeout(role, &zero), role)
	}
	require.Zero(t, whitecross.IdleTimeout(whitecross.RoleGuardian, nil))
	require.Zero(t, whitecross.IdleTimeout(whitecross.RoleGuardian, &ten))

	require.Equal(t, 32*time.Minute, whitecross.IdleAfter(30*time.Minute))
	require.Equal(t, 90*time.Second, whitecross.IdleAfter(time.Minute))
	require.Equal(t, 15*time.Second, whitecross.SessionUseEvery(time.Minute))
	require.Equal(t, time.Minute, whitecross.SessionUseEvery(30*time.Minute))

	require.Equal(t, 30, whitecross.TenantSettings{}.IdleTimeoutMinutesOrDefault())
	require.Equal(t, 0, whitecross.TenantSettings{IdleTimeoutMinutes: &zero}.IdleTimeoutMinutesOrDefault())
}
