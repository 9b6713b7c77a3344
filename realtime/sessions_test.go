package realtime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// sessionCountingStore records how many sessions each of the gateway's
// session checks carried, one entry per store call.
type sessionCountingStore struct {
	realtime.Store
	mu    sync.Mutex
	calls []int
}

func (s *sessionCountingStore) SessionActors(ctx context.Context, ids []string) (map[string]*whitecross.Actor, error) {
	s.mu.Lock()
	s.calls = append(s.calls, len(ids))
	s.mu.Unlock()
	return s.Store.SessionActors(ctx, ids)
}

// callsSince returns the calls recorded from index from on.
func (s *sessionCountingStore) callsSince(from int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.calls[min(from, len(s.calls)):]...)
}

// waitCall polls until a call carries n sessions and returns its index.
func (s *sessionCountingStore) waitCall(t *testing.T, n int) int {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for from := 0; time.Now().Before(deadline); {
		calls := s.callsSince(from)
		for i, got := range calls {
			if got == n {
				return from + i
			}
		}
		from += len(calls)
		time.Sleep(5 * time.Millisecond) // polling a recorder, not waiting for an effect
	}
	require.FailNow(t, "no session check carried all the connections", "want %d", n)
	return 0
}

// waitCalls polls until k calls were recorded from index from on, and
// returns them.
func (s *sessionCountingStore) waitCalls(t *testing.T, from, k int) []int {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if calls := s.callsSince(from); len(calls) >= k {
			return calls[:k]
		}
		time.Sleep(5 * time.Millisecond) // polling a recorder, not waiting for an effect
	}
	require.FailNow(t, "too few session checks")
	return nil
}

// TestSessionChecksBatched: the session checks of a sweep are one store
// call whatever the number of connections (not one per session), and a
// revoked session among them still closes its connection, and only it.
func TestSessionChecksBatched(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		counting := &sessionCountingStore{}
		b := setup(t, db, options{config: func(cfg *realtime.Config) {
			counting.Store = cfg.Store
			cfg.Store = counting
			cfg.SessionEvery = cfg.Tick // every connection in every sweep
			noPresence(cfg)
		}})
		d := b.d
		pair := b.login(t, b.first, d.LincolnNurse)
		revoked := b.dial(t, b.first, dialer{header: bearer(pair.AccessToken)})
		others := []*client{b.connect(t, b.first, d.LincolnStaff)}
		counting.waitCall(t, 2)

		for _, u := range []*whitecross.User{d.Admin, d.LincolnAdmin, d.LincolnStaff, d.LincolnParent, d.AnnexStaff,
			d.WashingtonNurse, d.DistrictNurse, d.LincolnStaff, d.WashingtonParent, d.AnnexParent} {
			others = append(others, b.connect(t, b.first, u))
		}
		n := len(others) + 1
		from := counting.waitCall(t, n)
		for _, got := range counting.waitCalls(t, from, 4) {
			require.Equal(t, n, got, "one call per sweep carries every connection")
		}

		require.NoError(t, b.first.auth.Logout(context.Background(), pair.RefreshToken, nil))
		err := revoked.closed(t)
		require.Equal(t, realtime.CloseSessionRevoked, closeStatus(err), "%v", err)
		for _, c := range others {
			require.Empty(t, c.sync(t), "other sessions stay")
		}
	})
}
