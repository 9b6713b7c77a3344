package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"whitecross"
)

// Automatic logoff: a session whose user is timed out (staff, see
// whitecross.IdleTimeout) and that went unused for the district's
// idle_timeout_minutes ends — the store refuses it to SessionActor,
// SessionActors and RotateRefreshToken, and revokes it with an
// auth.session.ended event the first time it notices.
//
// Use is recorded by SessionActor (every authenticated request) at most
// once per whitecross.SessionUseInterval per session, by a conditional
// UPDATE of that session's own row: no row shared between sessions is
// written, and a busy session costs one small write a minute, not one per
// request. A refresh and the realtime gateway's session checks are not use.

// idleColumns are read with a session to decide whether it is idle: the
// user's role, the session's last use (NULL: its creation) and the
// district's idle_timeout_minutes (NULL: unset). The query joins users u,
// sessions s and tenants t.
func (db *DB) idleColumns() string {
	return `u.role, s.last_used_at, ` + db.settingsInt("t.settings", "idle_timeout_minutes") + `, ` + db.mfaSetupOnly()
}

// settingsInt reads one integer field of a tenant's settings JSON in SQL,
// NULL when absent, so that a per-request check parses no JSON in Go.
func (db *DB) settingsInt(col, field string) string {
	if db.Dialect == SQLite {
		return `json_extract(` + col + `, '$.` + field + `')`
	}
	return `CAST(CAST(` + col + ` AS json) ->> '` + field + `' AS integer)`
}

// sessionUse is what idleColumns read.
type sessionUse struct {
	role       string
	lastUsedAt *time.Time
	minutes    *int64
	// setupOnly: the district requires two-step sign-in of the user's
	// role and the user has not set it up (see mfaSetupOnly).
	setupOnly bool
}

func (u *sessionUse) dest() []any { return []any{&u.role, &u.lastUsedAt, &u.minutes, &u.setupOnly} }

// lastUse is when the session was last used: its recorded use, else its
// creation.
func (u *sessionUse) lastUse(created time.Time) time.Time {
	if u.lastUsedAt != nil {
		return u.lastUsedAt.UTC()
	}
	return created.UTC()
}

// timeout is the idle timeout of the session's user (0: none).
func (u *sessionUse) timeout() time.Duration {
	var m *int
	if u.minutes != nil {
		n := int(*u.minutes)
		m = &n
	}
	return whitecross.IdleTimeout(whitecross.Role(u.role), m)
}

// idleAt reports whether a session created at created, with use u, has
// been unused for its timeout at now (whitecross.IdleAfter: the timeout
// plus the staleness its recorded use may have).
func (u *sessionUse) idleAt(created, now time.Time) bool {
	d := u.timeout()
	return d > 0 && !now.Before(u.lastUse(created).Add(whitecross.IdleAfter(d)))
}

// useEvery is how stale the recorded use may get before a request records
// it again.
func (u *sessionUse) useEvery() time.Duration {
	if d := u.timeout(); d > 0 {
		return whitecross.SessionUseEvery(d)
	}
	return whitecross.SessionUseInterval
}

// endIdleSession revokes an idle session and records auth.session.ended
// (reason idle) in one transaction. The UPDATE's condition makes it a
// no-op, and the event is not written, when another request revoked the
// session first or recorded a use meanwhile.
func (s *Store) endIdleSession(ctx context.Context, tenantID, userID, sessionID string, use *sessionUse, created time.Time) error {
	ctx = inTenant(ctx, tenantID)
	return s.db.InTx(ctx, func(tx *Tx) error {
		return s.endIdleSessionTx(ctx, tx, tenantID, userID, sessionID, use, created)
	})
}

func (s *Store) endIdleSessionTx(ctx context.Context, tx *Tx, tenantID, userID, sessionID string, use *sessionUse, created time.Time) error {
	now := s.db.now()
	timeout := use.timeout()
	n, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2
		WHERE id = $1 AND revoked_at IS NULL AND COALESCE(last_used_at, created_at) <= $3`,
		sessionID, now, now.Add(-whitecross.IdleAfter(timeout)))
	if err != nil {
		return fmt.Errorf("end idle session: %w", err)
	}
	if n == 0 {
		return nil
	}
	return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{
		TenantID: tenantID, At: now, ActorID: userID, Action: whitecross.AuditSessionEnded,
		TargetType: "session", TargetID: sessionID,
		Detail: map[string]string{
			"reason": "idle", "idle_timeout_minutes": strconv.Itoa(int(timeout / time.Minute)),
			"last_used_at": use.lastUse(created).Format(time.RFC3339),
		},
	})
}

// recordSessionUse notes that the session was used at now, unless a use
// within the last useEvery is already recorded (by this or another
// instance): one conditional UPDATE of the session's own row, run at most
// once a minute per session (a quarter of a shorter timeout).
func (s *Store) recordSessionUse(ctx context.Context, sessionID string, use *sessionUse, created, now time.Time) error {
	every := use.useEvery()
	if now.Before(use.lastUse(created).Add(every)) {
		return nil
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = $2
			WHERE id = $1 AND revoked_at IS NULL AND COALESCE(last_used_at, created_at) < $3`,
			sessionID, now, now.Add(-every)); err != nil {
			return fmt.Errorf("record session use: %w", err)
		}
		return nil
	})
}
