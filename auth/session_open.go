package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"whitecross"
)

// sessionRequest is how a proved sign-in asks for its session.
type sessionRequest struct {
	clientIP, userAgent string
	// action is the audit action of the sign-in: AuditLoginSucceeded for a
	// password, AuditCodeSucceeded for a code.
	action string
	// detail is the audit detail of the sign-in (none for a first factor).
	detail map[string]string
}

// openSession is where every sign-in ends, whatever proved it (a password,
// a code): it opens a session with its first refresh token, audits the
// sign-in and returns the tokens. Anything every sign-in must pass (a
// second factor) belongs here, once.
func (s *Service) openSession(ctx context.Context, user *whitecross.User, req sessionRequest, now time.Time) (*whitecross.TokenPair, *whitecross.User, error) {
	// A user with two-step sign-in gets an mfa_token instead (auth/mfa.go).
	if pair, err := s.mfaChallenge(ctx, user, req, now); pair != nil || err != nil {
		return pair, user, err
	}
	return s.startSession(ctx, user, req, now)
}

// startSession opens the session of a sign-in that has passed every step.
func (s *Service) startSession(ctx context.Context, user *whitecross.User, req sessionRequest, now time.Time) (*whitecross.TokenPair, *whitecross.User, error) {
	sessionID, err := uuid.NewV7()
	if err != nil {
		return nil, nil, fmt.Errorf("new session id: %w", err)
	}
	refresh, stored, err := NewRefreshToken(sessionID.String(), now.Add(s.cfg.RefreshTTL))
	if err != nil {
		return nil, nil, err
	}
	sess := &whitecross.Session{
		ID: sessionID.String(), TenantID: user.TenantID, UserID: user.ID, CreatedAt: now,
		ClientIP: req.clientIP, UserAgent: req.userAgent,
	}
	if err := s.deps.Sessions.CreateSession(ctx, sess, stored); err != nil {
		return nil, nil, fmt.Errorf("create session: %w", err)
	}
	pair, err := s.issuePair(user, sess.ID, refresh)
	if err != nil {
		return nil, nil, err
	}
	if err := s.audit(ctx, &whitecross.AuditEvent{
		TenantID: user.TenantID, At: now, ActorID: user.ID, Action: req.action,
		TargetType: "session", TargetID: sess.ID, Outcome: whitecross.OutcomeSuccess, ClientIP: req.clientIP,
		Detail: req.detail,
	}); err != nil {
		return nil, nil, err
	}
	return pair, user, nil
}
