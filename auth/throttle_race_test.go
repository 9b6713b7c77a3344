package auth

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// burstResult counts the answers to a burst of concurrent sign-ins.
type burstResult struct {
	signedIn, unauthorized, rateLimited int
}

// loginBurst sends n sign-ins at once, attempt(i) giving the email,
// password and address of the i-th, and counts the answers.
func (b *serviceBundle) loginBurst(t *testing.T, n int, attempt func(i int) (email, password, ip string)) burstResult {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		email, password, ip := attempt(i)
		wg.Go(func() {
			<-start
			_, _, errs[i] = b.login(email, password, ip)
		})
	}
	close(start)
	wg.Wait()
	var r burstResult
	for _, err := range errs {
		switch whitecross.ErrorCode(err) {
		case "":
			r.signedIn++
		case whitecross.EUNAUTHORIZED:
			r.unauthorized++
		case whitecross.ERATELIMIT:
			r.rateLimited++
		default:
			require.NoError(t, err)
		}
	}
	return r
}

// TestConcurrentLoginsEvaluateAtMostTheLimit: 40 guesses for one account
// sent at once are charged before the password is checked, so only the
// account's 5 allowed attempts are evaluated; once it is locked, a burst
// that contains the right password never signs in and hashes nothing.
func TestConcurrentLoginsEvaluateAtMostTheLimit(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		limit := DefaultConfig("").AccountThrottle.Threshold
		r := b.loginBurst(t, 40, func(i int) (string, string, string) {
			return testEmail, fmt.Sprintf("wrong %d", i), testIP
		})
		require.Equal(t, burstResult{unauthorized: limit, rateLimited: 40 - limit}, r)
		require.EqualValues(t, limit, b.hasher.verifies.Load(), "passwords evaluated")
		require.Len(t, eventsOf(b.auditActions(t), whitecross.AuditLoginLocked), 1, "the lockout is audited once")

		// Locked: the right password, in a burst, from any address.
		r = b.loginBurst(t, 40, func(i int) (string, string, string) {
			if i%4 == 0 {
				return testEmail, testPassword, fmt.Sprintf("198.51.100.%d", i)
			}
			return testEmail, fmt.Sprintf("wrong %d", i), testIP
		})
		require.Equal(t, burstResult{rateLimited: 40}, r)
		require.EqualValues(t, limit, b.hasher.verifies.Load(), "nothing hashed during the lockout")
	})
}

// TestConcurrentLoginsMixedRightAndWrong: the right password among 39
// wrong ones signs in at most once, and each lockout cycle evaluates at
// most the limit: a success clears the account's count (as a sequential
// success does), so at most twice the limit in all.
func TestConcurrentLoginsMixedRightAndWrong(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		limit := DefaultConfig("").AccountThrottle.Threshold
		r := b.loginBurst(t, 40, func(i int) (string, string, string) {
			if i == 20 {
				return testEmail, testPassword, testIP
			}
			return testEmail, fmt.Sprintf("wrong %d", i), testIP
		})
		require.LessOrEqual(t, r.signedIn, 1)
		evaluated := int(b.hasher.verifies.Load())
		require.Equal(t, r.signedIn+r.unauthorized, evaluated, "every evaluated attempt is answered by its password")
		require.LessOrEqual(t, evaluated, limit*(1+r.signedIn), "passwords evaluated")
		require.Equal(t, 40-evaluated, r.rateLimited)
	})
}

// TestConcurrentLoginsPerAddress: 40 guesses for 40 accounts from one
// address at once evaluate at most the address's 20 allowed attempts.
func TestConcurrentLoginsPerAddress(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setupService(t, db, fastHasher())
		limit := DefaultConfig("").AddressThrottle.Threshold
		r := b.loginBurst(t, 40, func(i int) (string, string, string) {
			return fmt.Sprintf("user%d@springfield.example", i), "guess", testIP
		})
		require.Equal(t, burstResult{unauthorized: limit, rateLimited: 40 - limit}, r)
		require.EqualValues(t, limit, b.hasher.verifies.Load(), "passwords evaluated")
	})
}
