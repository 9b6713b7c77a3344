package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.SessionStore = (*Store)(nil)

// errInvalidRefresh is the one answer for every refresh token that cannot
// be used, so a caller learns nothing about why.
func errInvalidRefresh() error {
	return whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid refresh token.")
}

// CreateSession implements whitecross.SessionStore: it stores s and its
// first refresh token in one transaction, filling s.ID (a new UUIDv7 when
// empty), s.CreatedAt (now when zero) and first.SessionID. ENOTFOUND when
// s.UserID is not a user of s.TenantID.
func (s *Store) CreateSession(ctx context.Context, sess *whitecross.Session, first *whitecross.RefreshToken) error {
	ctx = inTenant(ctx, sess.TenantID)
	if sess == nil || first == nil || len(first.Hash) == 0 || first.ExpiresAt.IsZero() {
		return errors.New("create session: session and first refresh token (hash, expiry) required")
	}
	if sess.ID == "" {
		sess.ID = newID()
	}
	if !validUUID(sess.ID) {
		return errors.New("create session: session id must be a UUID")
	}
	if !validUUID(sess.TenantID) || !validUUID(sess.UserID) {
		return whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	now := s.db.now()
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now
	}
	sess.CreatedAt = sess.CreatedAt.UTC().Truncate(time.Microsecond)
	sess.RevokedAt = nil
	first.SessionID = sess.ID
	first.ExpiresAt = first.ExpiresAt.UTC().Truncate(time.Microsecond)
	return s.db.InTx(ctx, func(tx *Tx) error {
		// Insert through the users table so a user of another tenant can
		// never be given a session in this one.
		n, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, client_ip, user_agent, created_at)
			SELECT $1, tenant_id, id, $4, $5, $6 FROM users WHERE id = $2 AND tenant_id = $3`,
			sess.ID, sess.UserID, sess.TenantID, sess.ClientIP, sess.UserAgent, sess.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if n == 0 {
			return whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
		}
		return insertRefreshToken(ctx, tx, first, now)
	})
}

func insertRefreshToken(ctx context.Context, tx *Tx, t *whitecross.RefreshToken, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.SessionID, now, t.ExpiresAt.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken implements whitecross.SessionStore. In one
// transaction it spends the token whose hash is old and stores next in the
// same session (filling next.SessionID). EUNAUTHORIZED "Invalid refresh
// token." when the token is unknown, expired, its session revoked or its
// user deactivated, and when the session was left idle past the district's
// timeout (it is then ended, sessions_idle.go).
//
// A token that is already spent — including one spent a moment ago by a
// concurrent rotation — is reuse: the whole session is revoked (and the
// revocation committed) and the error wraps whitecross.ErrRefreshReuse.
// Reuse is checked before expiry, since a replayed old token is as
// suspicious expired as not.
func (s *Store) RotateRefreshToken(ctx context.Context, old []byte, next *whitecross.RefreshToken) (*whitecross.Session, error) {
	ctx = AllTenants(ctx) // the token alone names the session
	if next == nil || len(next.Hash) == 0 || next.ExpiresAt.IsZero() {
		return nil, errors.New("rotate refresh token: next token (hash, expiry) required")
	}
	if len(old) == 0 {
		return nil, errInvalidRefresh()
	}
	var sess *whitecross.Session
	reused, idle := false, false
	err := s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.now()
		var expiresAt time.Time
		var spentAt, deactivatedAt *time.Time
		var use sessionUse
		found, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+`, rt.expires_at, rt.spent_at, u.deactivated_at, `+s.db.idleColumns()+`
			FROM refresh_tokens rt
			JOIN sessions s ON s.id = rt.session_id
			JOIN users u ON u.id = s.user_id
			JOIN tenants t ON t.id = s.tenant_id
			WHERE rt.hash = $1`, old), append([]any{&expiresAt, &spentAt, &deactivatedAt}, use.dest()...)...)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return errInvalidRefresh()
		} else if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		if found.RevokedAt != nil || deactivatedAt != nil {
			return errInvalidRefresh()
		}
		if spentAt != nil {
			reused = true
			return revokeSessionTx(ctx, tx, found.ID, now)
		}
		if !now.Before(expiresAt.UTC()) {
			return errInvalidRefresh()
		}
		// A refresh is not use: a tab left open renews its tokens, and must
		// not keep an unattended session alive.
		if use.idleAt(found.CreatedAt, now) {
			idle = true
			return s.endIdleSessionTx(ctx, tx, found.TenantID, found.UserID, found.ID, &use, found.CreatedAt)
		}
		// The conditional update is what stops two concurrent rotations of
		// one token from both succeeding: only one sees spent_at still NULL
		// (PostgreSQL re-checks the condition after waiting on the row lock;
		// SQLite has a single writer).
		n, err := tx.Exec(ctx, `UPDATE refresh_tokens SET spent_at = $2 WHERE hash = $1 AND spent_at IS NULL`, old, now)
		if err != nil {
			return fmt.Errorf("spend refresh token: %w", err)
		}
		if n == 0 {
			reused = true
			return revokeSessionTx(ctx, tx, found.ID, now)
		}
		next.SessionID = found.ID
		if err := insertRefreshToken(ctx, tx, next, now); err != nil {
			return err
		}
		sess = found
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, fmt.Errorf("rotate refresh token: %w", whitecross.ErrRefreshReuse)
	}
	if idle {
		return nil, errInvalidRefresh()
	}
	return sess, nil
}

// FindSessionByRefreshToken implements whitecross.SessionStore: it returns
// the session of the token whose hash is given, spent, expired or not, as
// long as the session is not revoked. ENOTFOUND otherwise.
func (s *Store) FindSessionByRefreshToken(ctx context.Context, hash []byte) (*whitecross.Session, error) {
	ctx = AllTenants(ctx) // the token alone names the session
	if len(hash) == 0 {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Session not found.")
	}
	sess, err := scanSession(s.db.Reader().QueryRow(ctx, `SELECT `+sessionColumns+`
		FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE rt.hash = $1 AND s.revoked_at IS NULL`, hash))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find session by refresh token: %w", err)
	}
	return sess, nil
}

// RevokeSession implements whitecross.SessionStore. Revoking an unknown,
// already revoked or other tenant's session (or a non-UUID id) does nothing
// and returns nil.
func (s *Store) RevokeSession(ctx context.Context, tenantID, sessionID string) error {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) || !validUUID(sessionID) {
		return nil
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
			sessionID, tenantID, s.db.now()); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
		return nil
	})
}

// revokeSessionTx revokes a session inside tx (idempotent).
func revokeSessionTx(ctx context.Context, tx *Tx, sessionID string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, sessionID, now); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// SessionActor implements whitecross.SessionStore in one query per
// request: the session joined to its user, whose current role it returns,
// and to its district, whose idle timeout it applies (sessions_idle.go). An
// unknown id, a non-UUID id, a revoked or another tenant's session, a
// deactivated user and a session left idle past the timeout (which is then
// ended) are all ENOTFOUND. A live session's use is recorded, at most once
// a minute.
func (s *Store) SessionActor(ctx context.Context, tenantID, sessionID string) (*whitecross.Actor, error) {
	ctx = inTenant(ctx, tenantID)
	notFound := whitecross.Errorf(whitecross.ENOTFOUND, "Session not found.")
	if !validUUID(tenantID) || !validUUID(sessionID) {
		return nil, notFound
	}
	a := &whitecross.Actor{}
	var created time.Time
	var use sessionUse
	err := s.db.Reader().QueryRow(ctx, `SELECT s.id, s.tenant_id, u.id, s.created_at, `+s.db.idleColumns()+`
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
		WHERE s.id = $1 AND s.tenant_id = $2 AND s.revoked_at IS NULL AND u.deactivated_at IS NULL`,
		sessionID, tenantID).Scan(append([]any{&a.SessionID, &a.TenantID, &a.UserID, &created}, use.dest()...)...)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, fmt.Errorf("check session: %w", err)
	}
	a.Role, a.MFASetupOnly = whitecross.Role(use.role), use.setupOnly
	now := s.db.now()
	if use.idleAt(created, now) {
		if err := s.endIdleSession(ctx, a.TenantID, a.UserID, a.SessionID, &use, created); err != nil {
			return nil, err
		}
		return nil, notFound
	}
	if err := s.recordSessionUse(ctx, a.SessionID, &use, created, now); err != nil {
		return nil, err
	}
	return a, nil
}

// sessionColumns are read by scanSession; the session table is aliased s.
const sessionColumns = `s.id, s.tenant_id, s.user_id, s.client_ip, s.user_agent, s.created_at, s.revoked_at`

// scanSession scans sessionColumns followed by any extra destinations.
func scanSession(row Row, extra ...any) (*whitecross.Session, error) {
	var sess whitecross.Session
	dest := append([]any{&sess.ID, &sess.TenantID, &sess.UserID, &sess.ClientIP, &sess.UserAgent, &sess.CreatedAt, &sess.RevokedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	sess.CreatedAt = sess.CreatedAt.UTC()
	if sess.RevokedAt != nil {
		t := sess.RevokedAt.UTC()
		sess.RevokedAt = &t
	}
	return &sess, nil
}

// SessionActors is SessionActor for many sessions at once, in one query per
// batch of ids (the realtime gateway checks every connection's session
// this way, one query per sweep slice instead of one per session). The
// answer holds the live sessions (not revoked, their user active) by
// canonical (lower-case) id with their tenant, user and current role; a
// session that is absent is one to refuse. The caller compares the tenant
// with the one it knows: ids are not scoped by tenant here.
func (s *Store) SessionActors(ctx context.Context, sessionIDs []string) (map[string]*whitecross.Actor, error) {
	ctx = AllTenants(ctx) // the sessions of a gateway may be of several districts
	canon := parseIDs(sessionIDs)
	out := make(map[string]*whitecross.Actor, len(canon))
	for _, batch := range batches(canon) {
		if err := s.sessionActorsBatch(ctx, batch, out); err != nil {
			return nil, fmt.Errorf("check sessions: %w", err)
		}
	}
	return out, nil
}

func (s *Store) sessionActorsBatch(ctx context.Context, ids []string, out map[string]*whitecross.Actor) error {
	type idle struct {
		actor   *whitecross.Actor
		use     sessionUse
		created time.Time
	}
	var ended []idle
	err := func() error {
		rows, err := s.db.Reader().Query(ctx, `SELECT s.id, s.tenant_id, u.id, s.created_at, `+s.db.idleColumns()+`
			FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
			WHERE s.id IN (`+placeholders(1, len(ids))+`) AND s.revoked_at IS NULL AND u.deactivated_at IS NULL`, anySlice(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		now := s.db.now()
		for rows.Next() {
			r := idle{actor: &whitecross.Actor{}}
			a := r.actor
			if err := rows.Scan(append([]any{&a.SessionID, &a.TenantID, &a.UserID, &r.created}, r.use.dest()...)...); err != nil {
				return err
			}
			a.Role, a.MFASetupOnly = whitecross.Role(r.use.role), r.use.setupOnly
			if r.use.idleAt(r.created, now) {
				ended = append(ended, r)
				continue
			}
			out[strings.ToLower(a.SessionID)] = a
		}
		return rows.Err()
	}()
	if err != nil {
		return err
	}
	// Ended after the rows are closed: SQLite's writer must not wait on
	// this reader. A session left idle is absent from the answer (its
	// connections close) whether or not this wins the race to end it.
	for _, r := range ended {
		if err := s.endIdleSession(ctx, r.actor.TenantID, r.actor.UserID, r.actor.SessionID, &r.use, r.created); err != nil {
			return err
		}
	}
	return nil
}
