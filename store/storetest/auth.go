package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/vault"
)

// exerciseAuth covers the auth storage: sessions and refresh tokens
// (here and auth_race.go), credentials (auth_credentials.go), the login throttle
// (auth_throttle.go) and signing keys (auth_keys.go).
func exerciseAuth(t *testing.T, open Opener) {
	exerciseSessions(t, open)
	exerciseRotationRace(t, open)
	exerciseCredentials(t, open)
	exerciseThrottle(t, open)
	exerciseSigningKeys(t, open)
	exerciseIdleLogoff(t, open)
}

// authSetup is the bundle every auth test starts from: a store with a real
// vault, a clock, and one tenant with one active user.
type authSetup struct {
	db     *store.DB
	st     *store.Store
	clock  *Clock
	tenant string
	user   string
}

func setupAuth(t *testing.T, open Opener) *authSetup {
	t.Helper()
	db := open(t)
	clock := NewClock(time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC))
	db.Now = clock.Now
	st := store.New(db, nil, newTestVault(t))
	tenant := insertBareTenant(t, db)
	return &authSetup{db: db, st: st, clock: clock, tenant: tenant, user: insertAuthUser(t, db, tenant, "nurse@example.org")}
}

func newTestVault(t *testing.T) *vault.Vault {
	t.Helper()
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	v, err := vault.New(key)
	require.NoError(t, err)
	return v
}

// insertAuthUser adds an active user row with raw SQL (the user service is
// not used here) and returns its id.
func insertAuthUser(t *testing.T, db *store.DB, tenant, email string) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7()).String()
	now := db.Now().UTC()
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, 'Test User', 'NURSE', $4, $5, $5)`, id, tenant, email, "fixture-hash:"+id, now)
		return err
	}))
	return id
}

// execSQL runs one statement in its own transaction.
func execSQL(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	}))
}

func randomHash(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// newSession creates a session of the setup's user whose first refresh
// token expires after ttl, returning the session and that token's hash.
func (a *authSetup) newSession(t *testing.T, ttl time.Duration) (*whitecross.Session, []byte) {
	t.Helper()
	sess := &whitecross.Session{TenantID: a.tenant, UserID: a.user, ClientIP: "192.0.2.7", UserAgent: "test-agent"}
	first := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: a.clock.Now().Add(ttl)}
	require.NoError(t, a.st.CreateSession(context.Background(), sess, first))
	require.True(t, validID(sess.ID), "session id %q", sess.ID)
	require.Equal(t, sess.ID, first.SessionID)
	return sess, first.Hash
}

func validID(s string) bool { _, err := uuid.Parse(s); return err == nil }

func (a *authSetup) rotate(t *testing.T, old []byte, ttl time.Duration) (*whitecross.Session, []byte, error) {
	t.Helper()
	next := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: a.clock.Now().Add(ttl)}
	sess, err := a.st.RotateRefreshToken(context.Background(), old, next)
	return sess, next.Hash, err
}

func (a *authSetup) active(t *testing.T, tenant, session string) bool {
	t.Helper()
	return sessionLive(t, a.st, tenant, session)
}

func exerciseSessions(t *testing.T, open Opener) {
	const ttl = time.Hour

	t.Run("SessionRotationChain", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		sess, tok := a.newSession(t, ttl)
		require.True(t, a.active(t, a.tenant, sess.ID))

		hashes := [][]byte{tok}
		for range 3 {
			a.clock.Advance(time.Minute)
			got, next, err := a.rotate(t, hashes[len(hashes)-1], ttl)
			require.NoError(t, err)
			require.Equal(t, sess.ID, got.ID)
			require.Equal(t, a.tenant, got.TenantID)
			require.Equal(t, a.user, got.UserID)
			require.Equal(t, "192.0.2.7", got.ClientIP)
			require.Equal(t, "test-agent", got.UserAgent)
			require.True(t, sess.CreatedAt.Equal(got.CreatedAt), "created %v, want %v", got.CreatedAt, sess.CreatedAt)
			require.Nil(t, got.RevokedAt)
			hashes = append(hashes, next)
		}
		// Spent and current tokens both lead to the live session.
		for _, h := range hashes {
			found, err := a.st.FindSessionByRefreshToken(ctx, h)
			require.NoError(t, err)
			require.Equal(t, sess.ID, found.ID)
		}
		require.True(t, a.active(t, a.tenant, sess.ID))

		_, err := a.st.FindSessionByRefreshToken(ctx, randomHash(t))
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
		_, _, err = a.rotate(t, randomHash(t), ttl)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		require.Equal(t, "Invalid refresh token.", whitecross.ErrorMessage(err))
		require.False(t, errors.Is(err, whitecross.ErrRefreshReuse))
	})

	t.Run("CreateSessionForUserOfOtherTenantFails", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		other := insertBareTenant(t, a.db)
		sess := &whitecross.Session{TenantID: other, UserID: a.user}
		err := a.st.CreateSession(context.Background(), sess, &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: a.clock.Now().Add(ttl)})
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
		require.False(t, a.active(t, other, sess.ID))
	})

	t.Run("ReuseOfSpentTokenRevokesSession", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		sess, t1 := a.newSession(t, ttl)
		_, t2, err := a.rotate(t, t1, ttl)
		require.NoError(t, err)

		_, t3, err := a.rotate(t, t1, ttl)
		require.ErrorIs(t, err, whitecross.ErrRefreshReuse)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		// The revocation committed although an error was returned.
		require.False(t, a.active(t, a.tenant, sess.ID))
		_, err = a.st.FindSessionByRefreshToken(ctx, t2)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
		// The newer token, and the one the reuse attempt offered, are dead.
		for _, h := range [][]byte{t2, t3} {
			_, _, err = a.rotate(t, h, ttl)
			require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
			require.False(t, errors.Is(err, whitecross.ErrRefreshReuse))
		}
	})

	t.Run("ConcurrentRotationOfOneTokenSucceedsOnce", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, tok := a.newSession(t, ttl)
		const n = 6
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			next := &whitecross.RefreshToken{Hash: randomHash(t), ExpiresAt: a.clock.Now().Add(ttl)}
			wg.Go(func() {
				<-start
				_, errs[i] = a.st.RotateRefreshToken(context.Background(), tok, next)
			})
		}
		close(start)
		wg.Wait()
		ok, reuse := 0, 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			// The first loser detects reuse and revokes the session; later
			// ones find it revoked.
			require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
			if errors.Is(err, whitecross.ErrRefreshReuse) {
				reuse++
			}
		}
		require.Equal(t, 1, ok, "errors: %v", errs)
		require.GreaterOrEqual(t, reuse, 1, "errors: %v", errs)
		// A double spend is reuse: the session is gone.
		require.False(t, a.active(t, a.tenant, sess.ID))
	})

	t.Run("ExpiredTokenRejected", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		// Token expiry alone: the hour unused would end the session
		// by the idle timeout first (auth_idle.go).
		execSQL(t, a.db, `UPDATE tenants SET settings = '{"idle_timeout_minutes":0}' WHERE id = $1`, a.tenant)
		sess, tok := a.newSession(t, ttl)
		a.clock.Advance(ttl - time.Microsecond)
		_, next, err := a.rotate(t, tok, ttl)
		require.NoError(t, err, "token is valid until its expiry")

		a.clock.Advance(ttl)
		_, _, err = a.rotate(t, next, ttl)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		require.False(t, errors.Is(err, whitecross.ErrRefreshReuse))
		// Expiry of a token does not end the session by itself.
		require.True(t, a.active(t, a.tenant, sess.ID))
	})

	t.Run("DeactivatedUserTokenRejected", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, tok := a.newSession(t, ttl)
		execSQL(t, a.db, `UPDATE users SET deactivated_at = $2 WHERE id = $1`, a.user, a.clock.Now())
		require.False(t, a.active(t, a.tenant, sess.ID))
		_, _, err := a.rotate(t, tok, ttl)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		require.Equal(t, "Invalid refresh token.", whitecross.ErrorMessage(err))
	})

	t.Run("RevokeSessionIsTenantScopedAndIdempotent", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		sess, tok := a.newSession(t, ttl)
		other := insertBareTenant(t, a.db)

		require.False(t, a.active(t, other, sess.ID), "another tenant sees the session")
		require.NoError(t, a.st.RevokeSession(ctx, other, sess.ID))
		require.True(t, a.active(t, a.tenant, sess.ID), "another tenant revoked the session")

		require.NoError(t, a.st.RevokeSession(ctx, "not-a-uuid", sess.ID))
		require.NoError(t, a.st.RevokeSession(ctx, a.tenant, "not-a-uuid"))
		require.False(t, a.active(t, a.tenant, "not-a-uuid"))
		require.False(t, a.active(t, "not-a-uuid", sess.ID))
		require.False(t, a.active(t, a.tenant, uuid.Must(uuid.NewV7()).String()))
		require.True(t, a.active(t, a.tenant, sess.ID))

		require.NoError(t, a.st.RevokeSession(ctx, a.tenant, sess.ID))
		require.NoError(t, a.st.RevokeSession(ctx, a.tenant, sess.ID))
		require.False(t, a.active(t, a.tenant, sess.ID))
		_, _, err := a.rotate(t, tok, ttl)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		require.False(t, errors.Is(err, whitecross.ErrRefreshReuse))
		_, err = a.st.FindSessionByRefreshToken(ctx, tok)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
	})
}
