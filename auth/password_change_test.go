package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

const newPassword = "lunchbox violin 47 harbor"

// signedIn signs the test user in from ip and returns the context of a
// request made with the access token, as the API builds it.
func (b *serviceBundle) signedIn(t *testing.T, ip string) (context.Context, *whitecross.TokenPair) {
	t.Helper()
	pair, _, err := b.login(testEmail, testPassword, ip)
	require.NoError(t, err)
	a, err := b.svc.Authenticate(b.ctx, pair.AccessToken)
	require.NoError(t, err)
	a.ClientIP = ip
	return whitecross.NewContextWithActor(b.ctx, a), pair
}

// A stolen session must not be enough to take the account over: changing
// the password needs the current one, and guessing it there is held by the
// same lockout as guessing it at sign-in.
func TestChangePasswordNeedsTheCurrentOne(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		ctx, _ := b.signedIn(t, testIP)

		// A weak new password is refused before any guess is charged.
		for range 10 {
			err := b.svc.ChangePassword(ctx, testPassword, "password1234")
			requireFieldCode(t, err, whitecross.EINVALID, "body.new_password")
		}
		for range 5 {
			err := b.svc.ChangePassword(ctx, "a guess at it", newPassword)
			requireFieldCode(t, err, whitecross.EFORBIDDEN, "body.current_password")
		}
		before := b.hasher.verifies.Load()
		requireCode(t, b.svc.ChangePassword(ctx, testPassword, newPassword), whitecross.ERATELIMIT)
		require.Equal(t, before, b.hasher.verifies.Load(), "a locked account checks nothing")
		_, _, err := b.login(testEmail, testPassword, "198.51.100.1")
		requireCode(t, err, whitecross.ERATELIMIT)

		events := b.auditActions(t)
		failed := eventsOf(events, whitecross.AuditLoginFailed)
		require.Len(t, failed, 5)
		for _, e := range failed {
			require.Equal(t, b.user.ID, e.ActorID)
			require.Equal(t, "bad_current_password", e.Detail["reason"])
		}
		require.Len(t, eventsOf(events, whitecross.AuditLoginLocked), 1)
		_, _, err = b.login(testEmail, newPassword, "198.51.100.1")
		requireCode(t, err, whitecross.ERATELIMIT)
	})
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		ctx, mine := b.signedIn(t, testIP)
		_, stolen := b.signedIn(t, "198.51.100.9")
		// A wrong guess before the right one is forgotten once it is proved.
		requireFieldCode(t, b.svc.ChangePassword(ctx, "a guess at it", newPassword), whitecross.EFORBIDDEN, "body.current_password")

		require.NoError(t, b.svc.ChangePassword(ctx, testPassword, newPassword))

		_, err := b.svc.Authenticate(b.ctx, stolen.AccessToken)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, _, err = b.svc.Refresh(b.ctx, stolen.RefreshToken, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		_, err = b.svc.Authenticate(b.ctx, mine.AccessToken)
		require.NoError(t, err, "the changer's own session stays")

		_, _, err = b.login(testEmail, testPassword, testIP)
		requireCode(t, err, whitecross.EUNAUTHORIZED)
		for range 3 { // the count started afresh: with the old password's, four failures do not lock
			_, _, err = b.login(testEmail, "wrong password", testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		_, _, err = b.login(testEmail, newPassword, testIP)
		require.NoError(t, err)
		updated := eventsOf(b.auditActions(t), whitecross.AuditUserUpdated)
		require.Equal(t, map[string]string{"fields": "password", "sessions_ended": "1"}, updated[len(updated)-1].Detail)
		require.Equal(t, b.user.ID, updated[len(updated)-1].ActorID)
	})
}

func TestChangePasswordNeedsASignedInPerson(t *testing.T) {
	b := setupService(t, storetest.Open(t, store.SQLite), fastHasher())
	requireCode(t, b.svc.ChangePassword(b.ctx, testPassword, newPassword), whitecross.EUNAUTHORIZED)
	sys := whitecross.SystemContext(b.ctx, b.tenant.ID)
	requireCode(t, b.svc.ChangePassword(sys, testPassword, newPassword), whitecross.EUNAUTHORIZED)
}

// An IPv6 client can take a new address of its /64 for every attempt, so
// the address lockout counts the /64.
func TestAddressKeyOfIPv6IsItsBlock(t *testing.T) {
	for addr, key := range map[string]string{
		"2001:db8:1:2:aaaa::1":    "ip:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9":    "ip:2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "ip:2001:db8:1:3::/64",
		"::ffff:203.0.113.7":      "ip:203.0.113.7",
		"203.0.113.7":             "ip:203.0.113.7",
		"fe80::1%eth0":            "ip:fe80::/64",
		"not an address, somehow": "ip:not an address, somehow",
	} {
		require.Equal(t, key, addressThrottleKey(addr), addr)
	}
}

func requireFieldCode(t *testing.T, err error, code, field string) {
	t.Helper()
	requireCode(t, err, code)
	var e *whitecross.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, field, e.Field)
}
