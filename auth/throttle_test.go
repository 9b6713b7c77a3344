package auth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestAccountLockout(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		for i := 0; i < 5; i++ {
			_, _, err := b.login(testEmail, "wrong password", testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		// Locked: even the right password from another address is refused,
		// and the password is not checked.
		before := b.hasher.verifies.Load()
		_, _, err := b.login(testEmail, testPassword, "198.51.100.1")
		var rl *whitecross.Error
		require.ErrorAs(t, err, &rl)
		require.Equal(t, whitecross.ERATELIMIT, rl.Code)
		require.Equal(t, "Too many failed sign-in attempts. Try again later.", rl.Message)
		require.Equal(t, 60, rl.RetryAfterSeconds)
		require.Equal(t, before, b.hasher.verifies.Load())

		locked := eventsOf(b.auditActions(t), whitecross.AuditLoginLocked)
		require.Len(t, locked, 1)
		require.Equal(t, b.user.ID, locked[0].ActorID)
		require.Equal(t, "account", locked[0].Detail["scope"])

		// Another account is not affected.
		b.createUser(t, "other@springfield.example", whitecross.RoleGuardian)
		_, _, err = b.login("other@springfield.example", testPassword, testIP)
		require.NoError(t, err)

		b.clock.Advance(30 * time.Second)
		_, _, err = b.login(testEmail, testPassword, testIP)
		require.ErrorAs(t, err, &rl)
		require.Equal(t, 30, rl.RetryAfterSeconds)

		// After the lockout the next one is twice as long.
		b.clock.Advance(31 * time.Second)
		for i := 0; i < 6; i++ {
			if _, _, err = b.login(testEmail, "wrong password", testIP); whitecross.ErrorCode(err) == whitecross.ERATELIMIT {
				break
			}
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		requireCode(t, err, whitecross.ERATELIMIT)
		require.ErrorAs(t, err, &rl)
		require.Equal(t, 120, rl.RetryAfterSeconds)

		// Once it ends, the right password works and clears the failures
		// and the lockout history.
		// (From a fresh address, whose own count is not what this tests.)
		b.clock.Advance(2 * time.Minute)
		const ip2 = "198.51.100.2"
		fail := func(n int) {
			for i := 0; i < n; i++ {
				_, _, err := b.login(testEmail, "wrong password", ip2)
				requireCode(t, err, whitecross.EUNAUTHORIZED)
			}
		}
		fail(3)
		_, _, err = b.login(testEmail, testPassword, ip2)
		require.NoError(t, err)
		fail(4)
		_, _, err = b.login(testEmail, testPassword, ip2)
		require.NoError(t, err, "failures before a success do not count after it")
		fail(5)
		_, _, err = b.login(testEmail, testPassword, ip2)
		require.ErrorAs(t, err, &rl)
		require.Equal(t, 60, rl.RetryAfterSeconds, "the doubling starts over after a success")
	})
}

// TestUnknownAccountLocksToo: the lockout does not reveal whether an
// account exists.
func TestUnknownAccountLocksToo(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		for i := 0; i < 5; i++ {
			_, _, err := b.login("ghost@springfield.example", "guess", testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		_, _, err := b.login("ghost@springfield.example", "guess", testIP)
		requireCode(t, err, whitecross.ERATELIMIT)
	})
}

func TestAddressLockout(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		// 20 failures from one address, spread over accounts so that no
		// account locks.
		for i := 0; i < 20; i++ {
			email := []string{"a", "b", "c", "d", "e"}[i%5] + "@springfield.example"
			_, _, err := b.login(email, "guess", testIP)
			requireCode(t, err, whitecross.EUNAUTHORIZED)
		}
		_, _, err := b.login(testEmail, testPassword, testIP)
		var rl *whitecross.Error
		require.ErrorAs(t, err, &rl)
		require.Equal(t, whitecross.ERATELIMIT, rl.Code)
		require.Equal(t, 60, rl.RetryAfterSeconds)

		// Another address signs in to the same account.
		_, _, err = b.login(testEmail, testPassword, "198.51.100.1")
		require.NoError(t, err)

		locked := eventsOf(b.auditActions(t), whitecross.AuditLoginLocked)
		require.Len(t, locked, 1)
		require.Equal(t, "address", locked[0].Detail["scope"])
	})
}
