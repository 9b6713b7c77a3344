package auth

import (
	"context"
	"errors"
	"fmt"

	"whitecross"
)

// Refresh implements whitecross.AuthService: it spends the refresh token,
// stores its successor in the same session and returns a new pair with the
// user as they are now (role changes apply). EUNAUTHORIZED for a malformed,
// unknown, expired or revoked token or a deactivated user. Presenting a
// spent token revokes the whole session — the newer token stops working
// too — records AuditRefreshReused and returns whitecross.ErrRefreshReuse.
func (s *Service) Refresh(ctx context.Context, refreshToken, clientIP string) (*whitecross.TokenPair, *whitecross.User, error) {
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return nil, nil, errInvalidRefreshToken
	}
	// Look the session up first: once reuse revokes it, the store no longer
	// returns it, and the audit event needs its tenant.
	sess, err := s.deps.Sessions.FindSessionByRefreshToken(ctx, hash)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, nil, errInvalidRefreshToken
	} else if err != nil {
		return nil, nil, fmt.Errorf("find session: %w", err)
	}
	now := s.now()
	token, next, err := NewRefreshToken(sess.ID, now.Add(s.cfg.RefreshTTL))
	if err != nil {
		return nil, nil, err
	}
	rotated, err := s.deps.Sessions.RotateRefreshToken(ctx, hash, next)
	if errors.Is(err, whitecross.ErrRefreshReuse) {
		if aerr := s.audit(ctx, &whitecross.AuditEvent{
			TenantID: sess.TenantID, At: now, ActorID: sess.UserID, Action: whitecross.AuditRefreshReused,
			TargetType: "session", TargetID: sess.ID, Outcome: whitecross.OutcomeDenied, ClientIP: clientIP,
		}); aerr != nil {
			return nil, nil, aerr
		}
		return nil, nil, whitecross.ErrRefreshReuse
	} else if code := whitecross.ErrorCode(err); code == whitecross.EUNAUTHORIZED || code == whitecross.ENOTFOUND {
		return nil, nil, errInvalidRefreshToken
	} else if err != nil {
		return nil, nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	user, err := s.deps.Users.FindUserByID(whitecross.SystemContext(ctx, rotated.TenantID), rotated.UserID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, nil, errInvalidRefreshToken
	} else if err != nil {
		return nil, nil, fmt.Errorf("find user: %w", err)
	}
	if !user.Active() {
		return nil, nil, errInvalidRefreshToken
	}
	pair, err := s.issuePair(user, rotated.ID, token)
	if err != nil {
		return nil, nil, err
	}
	return pair, user, nil
}

// Logout implements whitecross.AuthService: it revokes the session of the
// refresh token when one is given and known (spent or not), else the
// caller's own session, and audits AuditLogout. It is idempotent and
// returns no error for an unknown or missing token; only storage failures
// are returned.
func (s *Service) Logout(ctx context.Context, refreshToken string, actor *whitecross.Actor) error {
	var sess *whitecross.Session
	if hash, ok := hashRefreshToken(refreshToken); ok {
		found, err := s.deps.Sessions.FindSessionByRefreshToken(ctx, hash)
		if err == nil {
			sess = found
		} else if whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
			return fmt.Errorf("find session: %w", err)
		}
	}
	if sess == nil && actor != nil && actor.TenantID != "" && actor.SessionID != "" {
		sess = &whitecross.Session{ID: actor.SessionID, TenantID: actor.TenantID, UserID: actor.UserID}
	}
	if sess == nil {
		return nil
	}
	if err := s.deps.Sessions.RevokeSession(ctx, sess.TenantID, sess.ID); err != nil {
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return nil
		}
		return fmt.Errorf("revoke session: %w", err)
	}
	clientIP := ""
	if actor != nil {
		clientIP = actor.ClientIP
	} else if a := whitecross.ActorFromContext(ctx); a != nil {
		clientIP = a.ClientIP
	}
	return s.audit(ctx, &whitecross.AuditEvent{
		TenantID: sess.TenantID, ActorID: sess.UserID, Action: whitecross.AuditLogout,
		TargetType: "session", TargetID: sess.ID, Outcome: whitecross.OutcomeSuccess, ClientIP: clientIP,
	})
}
