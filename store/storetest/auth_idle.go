package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseIdleLogoff covers automatic logoff (issue 14): a staff session
// unused for the district's idle_timeout_minutes is refused by
// SessionActor, SessionActors and RotateRefreshToken, ended and audited
// once; use is recorded at most once a minute; 0 turns it off; guardians
// are not timed out; a refresh is not use.
func exerciseIdleLogoff(t *testing.T, open Opener) {
	const ttl = 30 * 24 * time.Hour
	ctx := context.Background()

	// use is one authenticated request with the session.
	use := func(t *testing.T, a *authSetup, session string) error {
		t.Helper()
		_, err := a.st.SessionActor(ctx, a.tenant, session)
		return err
	}
	setTimeout := func(t *testing.T, a *authSetup, settings string) {
		t.Helper()
		execSQL(t, a.db, `UPDATE tenants SET settings = $2 WHERE id = $1`, a.tenant, settings)
	}
	ended := func(t *testing.T, a *authSetup, session string) []*whitecross.AuditEvent {
		t.Helper()
		var out []*whitecross.AuditEvent
		for _, e := range auditEvents(t, a.st, a.tenant) {
			if e.Action == whitecross.AuditSessionEnded && e.TargetID == session {
				out = append(out, e)
			}
		}
		return out
	}

	t.Run("DefaultThirtyMinutesForStaff", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, _ := a.newSession(t, ttl)
		// Used every 29 minutes it stays, however long the day.
		for range 4 {
			a.clock.Advance(29 * time.Minute)
			require.NoError(t, use(t, a, sess.ID))
		}
		// Ended 30 minutes plus twice the recording interval after the last
		// recorded use (whitecross.IdleAfter).
		a.clock.Advance(32 * time.Minute)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(use(t, a, sess.ID)))
		require.False(t, a.active(t, a.tenant, sess.ID))
		events := ended(t, a, sess.ID)
		require.Len(t, events, 1)
		e := events[0]
		require.Equal(t, a.user, e.ActorID)
		require.Equal(t, "session", e.TargetType)
		require.Equal(t, "idle", e.Detail["reason"])
		require.Equal(t, "30", e.Detail["idle_timeout_minutes"])
		// Ended for good: a later check does not revive it nor audit again.
		a.clock.Advance(time.Minute)
		require.Error(t, use(t, a, sess.ID))
		require.Len(t, ended(t, a, sess.ID), 1)
	})

	t.Run("IdleSessionsRefreshTokenIsRefused", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, tok := a.newSession(t, ttl)
		a.clock.Advance(10 * time.Minute)
		require.NoError(t, use(t, a, sess.ID))
		// A refresh is not use: refreshing every 15 minutes does not keep
		// an unattended session alive.
		a.clock.Advance(15 * time.Minute)
		_, tok, err := a.rotate(t, tok, ttl)
		require.NoError(t, err)
		a.clock.Advance(17 * time.Minute)
		_, _, err = a.rotate(t, tok, ttl)
		require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
		require.Equal(t, "Invalid refresh token.", whitecross.ErrorMessage(err))
		require.Len(t, ended(t, a, sess.ID), 1, "the refresh that found it idle ended it")
		require.Error(t, use(t, a, sess.ID))
	})

	t.Run("RealtimeChecksRefuseButDoNotUse", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, _ := a.newSession(t, ttl)
		for range 5 {
			a.clock.Advance(5 * time.Minute)
			live, err := a.st.SessionActors(ctx, []string{sess.ID})
			require.NoError(t, err)
			require.Contains(t, live, sess.ID, "an open socket is checked, not counted as use")
		}
		a.clock.Advance(7 * time.Minute)
		live, err := a.st.SessionActors(ctx, []string{sess.ID})
		require.NoError(t, err)
		require.NotContains(t, live, sess.ID)
		require.Len(t, ended(t, a, sess.ID), 1)
	})

	t.Run("DistrictTimeoutAndOff", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		setTimeout(t, a, `{"idle_timeout_minutes":5}`)
		sess, _ := a.newSession(t, ttl)
		a.clock.Advance(4 * time.Minute)
		require.NoError(t, use(t, a, sess.ID))
		a.clock.Advance(6*time.Minute + 59*time.Second)
		require.NoError(t, use(t, a, sess.ID), "not before 5 + 2 minutes")
		a.clock.Advance(7 * time.Minute)
		require.Error(t, use(t, a, sess.ID))
		require.Equal(t, "5", ended(t, a, sess.ID)[0].Detail["idle_timeout_minutes"])

		setTimeout(t, a, `{"idle_timeout_minutes":0}`)
		off, tok := a.newSession(t, ttl)
		a.clock.Advance(10 * time.Hour)
		_, _, err := a.rotate(t, tok, ttl)
		require.NoError(t, err, "0 turns automatic logoff off")
		require.NoError(t, use(t, a, off.ID))
		require.Empty(t, ended(t, a, off.ID))
	})

	t.Run("GuardiansAreNotTimedOut", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		execSQL(t, a.db, `UPDATE users SET role = 'GUARDIAN' WHERE id = $1`, a.user)
		sess, tok := a.newSession(t, ttl)
		a.clock.Advance(6 * time.Hour)
		require.NoError(t, use(t, a, sess.ID))
		a.clock.Advance(6 * time.Hour)
		_, _, err := a.rotate(t, tok, ttl)
		require.NoError(t, err)
		// The role now decides: staff again, the session idle since its
		// last use six hours ago ends.
		execSQL(t, a.db, `UPDATE users SET role = 'STAFF' WHERE id = $1`, a.user)
		require.Error(t, use(t, a, sess.ID))
	})

	t.Run("UseIsRecordedAtMostOnceAMinute", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		sess, _ := a.newSession(t, ttl)
		lastUsed := func() *time.Time {
			var at *time.Time
			require.NoError(t, a.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT last_used_at FROM sessions WHERE id = $1`, sess.ID).Scan(&at))
			return at
		}
		created := a.clock.Now()
		a.clock.Advance(30 * time.Second)
		require.NoError(t, use(t, a, sess.ID))
		require.Nil(t, lastUsed(), "no write within a minute of the last recorded use")
		a.clock.Advance(40 * time.Second)
		require.NoError(t, use(t, a, sess.ID))
		at := lastUsed()
		require.NotNil(t, at)
		require.True(t, at.Equal(created.Add(70*time.Second)), "recorded %v", at)
		a.clock.Advance(50 * time.Second)
		require.NoError(t, use(t, a, sess.ID))
		require.True(t, lastUsed().Equal(*at), "not again within the minute")
		// An unknown session is simply not found.
		require.Error(t, use(t, a, uuid.NewString()))
	})
}
