package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestIdleSessionEnds: with the district's idle_timeout_minutes, a staff
// session unused that long is refused by Authenticate although its access
// token is still valid, its refresh token no longer works, and the end is
// audited once with reason idle; requests keep a session alive, refreshes
// alone do not; 0 turns it off.
func TestIdleSessionEnds(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		setIdle := func(minutes int) {
			_, err := b.store.UpdateTenantSettings(whitecross.SystemContext(b.ctx, b.tenant.ID),
				whitecross.TenantSettings{IdleTimeoutMinutes: &minutes})
			require.NoError(t, err)
		}
		setIdle(5)
		pair, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		for range 3 {
			b.clock.Advance(4 * time.Minute)
			_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
			require.NoError(t, err, "in use, it stays")
		}
		// Refreshing alone (what an unattended tab does) is not use.
		b.clock.Advance(3 * time.Minute)
		pair, _, err = b.svc.Refresh(b.ctx, pair.RefreshToken, testIP)
		require.NoError(t, err)
		b.clock.Advance(4 * time.Minute) // 5 minutes + 2 of grace since the last request
		_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.svc.Refresh(b.ctx, pair.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)

		var ended []*whitecross.AuditEvent
		for _, e := range b.auditActions(t) {
			if e.Action == whitecross.AuditSessionEnded {
				ended = append(ended, e)
			}
		}
		require.Len(t, ended, 1)
		require.Equal(t, pair.SessionID, ended[0].TargetID)
		require.Equal(t, b.user.ID, ended[0].ActorID)
		require.Equal(t, "idle", ended[0].Detail["reason"])

		setIdle(0)
		pair, _, err = b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		b.clock.Advance(10 * time.Minute)
		_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
		require.NoError(t, err, "0 is off")
		b.clock.Advance(10 * time.Hour)
		_, _, err = b.svc.Refresh(b.ctx, pair.RefreshToken, testIP)
		require.NoError(t, err, "0 is off")
	})
}
