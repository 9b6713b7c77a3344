package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseRotationRace forces the interleaving that a plain read-then-update
// would get wrong: on PostgreSQL a third transaction holds the token's row
// lock until both rotations have read the token as unspent and are waiting
// to spend it. Exactly one may succeed. (SQLite runs one writer at a time,
// so there the rotations simply serialize.)
func exerciseRotationRace(t *testing.T, open Opener) {
	t.Run("RotationsThatBothReadTheTokenUnspentSucceedOnce", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		sess, tok := a.newSession(t, time.Hour)

		release := func() {}
		if a.db.Dialect == store.Postgres {
			release = holdRefreshTokenLock(t, a.db, tok)
		}
		const n = 2
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			next := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: a.clock.Now().Add(time.Hour)}
			wg.Go(func() { _, errs[i] = a.st.RotateRefreshToken(ctx, tok, next) })
		}
		if a.db.Dialect == store.Postgres {
			waitForLockWaiters(t, a.db, n)
		}
		release()
		wg.Wait()

		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, whitecross.ErrRefreshReuse)
			}
		}
		require.Equal(t, 1, ok, "errors: %v", errs)
		require.False(t, a.active(t, a.tenant, sess.ID))
	})
}

// holdRefreshTokenLock locks the token's row in a transaction of its own
// and returns the function that commits it.
func holdRefreshTokenLock(t *testing.T, db *store.DB, hash []byte) (release func()) {
	t.Helper()
	locked, done := make(chan error, 1), make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := db.InTx(store.AllTenants(context.Background()), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), `UPDATE refresh_tokens SET spent_at = spent_at WHERE hash = $1`, hash)
			locked <- err
			if err == nil {
				<-done
			}
			return err
		})
		if err != nil {
			t.Errorf("hold lock: %v", err)
		}
	}()
	require.NoError(t, <-locked)
	var once sync.Once
	release = func() {
		once.Do(func() { close(done); <-finished })
	}
	t.Cleanup(release)
	return release
}

// waitForLockWaiters polls until n transactions wait on locks of this
// test's refresh_tokens table or on a transaction that holds one: the
// first rotation waits for the holder, later ones for the first.
func waitForLockWaiters(t *testing.T, db *store.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting int
		err := db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT count(DISTINCT w.pid) FROM pg_locks w
			WHERE NOT w.granted AND (w.relation = 'refresh_tokens'::regclass OR w.transactionid IN (
				SELECT h.transactionid FROM pg_locks h
				WHERE h.granted AND h.locktype = 'transactionid' AND h.pid IN (
					SELECT pid FROM pg_locks WHERE granted AND relation = 'refresh_tokens'::regclass)))`).Scan(&waiting)
		require.NoError(t, err)
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d rotations reached the row lock", waiting, n)
		}
		<-tick.C
	}
}
