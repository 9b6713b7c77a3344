package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		first, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)

		b.clock.Advance(20 * time.Minute) // the access token has expired
		_, err = b.svc.Authenticate(b.ctx, first.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)

		second, user, err := b.svc.Refresh(b.ctx, first.RefreshToken, testIP)
		require.NoError(t, err)
		require.Equal(t, b.user.ID, user.ID)
		require.NotEqual(t, first.RefreshToken, second.RefreshToken)
		require.Equal(t, first.SessionID, second.SessionID)
		actor, err := b.svc.Authenticate(b.ctx, second.AccessToken)
		require.NoError(t, err)
		require.Equal(t, first.SessionID, actor.SessionID)

		third, _, err := b.svc.Refresh(b.ctx, second.RefreshToken, testIP)
		require.NoError(t, err)
		require.NotEqual(t, second.RefreshToken, third.RefreshToken)

		for name, tok := range map[string]string{
			"empty": "", "garbage": "not-a-token", "unknown": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		} {
			_, _, err := b.svc.Refresh(b.ctx, tok, testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
			require.NotErrorIs(t, err, whitecross.ErrRefreshReuse, name)
		}

		// A refresh token expires after 30 days without use.
		b.clock.Advance(30*24*time.Hour + time.Second)
		_, _, err = b.svc.Refresh(b.ctx, third.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
	})
}

// TestRefreshReuseRevokesFamily: presenting a spent refresh token revokes
// the session, so the newer token the thief or the user holds stops working.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		first, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		second, _, err := b.svc.Refresh(b.ctx, first.RefreshToken, testIP)
		require.NoError(t, err)

		_, _, err = b.svc.Refresh(b.ctx, first.RefreshToken, "192.0.2.66")
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		require.ErrorIs(t, err, whitecross.ErrRefreshReuse)

		_, _, err = b.svc.Refresh(b.ctx, second.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, err = b.svc.Authenticate(b.ctx, second.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)

		reused := eventsOf(b.auditActions(t), whitecross.AuditRefreshReused)
		require.Len(t, reused, 1)
		require.Equal(t, first.SessionID, reused[0].TargetID)
		require.Equal(t, b.user.ID, reused[0].ActorID)
		require.Equal(t, "192.0.2.66", reused[0].ClientIP)

		// Other sessions of the user are untouched.
		other, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		_, err = b.svc.Authenticate(b.ctx, other.AccessToken)
		require.NoError(t, err)
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		pair, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)
		other, _, err := b.login(testEmail, testPassword, testIP)
		require.NoError(t, err)

		// By refresh token.
		require.NoError(t, b.svc.Logout(b.ctx, pair.RefreshToken, nil))
		_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.svc.Refresh(b.ctx, pair.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, err = b.svc.Authenticate(b.ctx, other.AccessToken)
		require.NoError(t, err, "only that session ends")

		// Idempotent, and quiet about unknown tokens.
		require.NoError(t, b.svc.Logout(b.ctx, pair.RefreshToken, nil))
		require.NoError(t, b.svc.Logout(b.ctx, "garbage", nil))
		require.NoError(t, b.svc.Logout(b.ctx, "", nil))

		// By the bearer's session.
		actor, err := b.svc.Authenticate(b.ctx, other.AccessToken)
		require.NoError(t, err)
		actor.ClientIP = testIP
		require.NoError(t, b.svc.Logout(b.ctx, "", actor))
		_, err = b.svc.Authenticate(b.ctx, other.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.svc.Refresh(b.ctx, other.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)

		logouts := eventsOf(b.auditActions(t), whitecross.AuditLogout)
		require.GreaterOrEqual(t, len(logouts), 2)
		require.Equal(t, pair.SessionID, logouts[0].TargetID)
		require.Equal(t, other.SessionID, logouts[len(logouts)-1].TargetID)
		require.Equal(t, b.user.ID, logouts[len(logouts)-1].ActorID)
	})
}

func TestDeactivatedUserIsSignedOut(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		u := b.createUser(t, "leaving@springfield.example", whitecross.RoleGuardian)
		pair, _, err := b.login(u.Email, testPassword, testIP)
		require.NoError(t, err)
		_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
		require.NoError(t, err)

		require.NoError(t, b.store.DeactivateUser(whitecross.SystemContext(b.ctx, b.tenant.ID), u.ID))
		_, err = b.svc.Authenticate(b.ctx, pair.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.svc.Refresh(b.ctx, pair.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.login(u.Email, testPassword, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
	})
}
