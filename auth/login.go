package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"whitecross"
)

// errInvalidCredentials is the one answer to every failed sign-in, so it
// tells nobody whether the tenant or the account exists.
var errInvalidCredentials = whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid tenant, email or password.")

// Reason codes in the detail of AuditLoginFailed events.
const (
	reasonUnknownUser = "unknown_user"
	reasonBadPassword = "bad_password"
	reasonDeactivated = "deactivated"
)

// Login implements whitecross.AuthService.
//
// While the account key ("acct:<slug>:<email>") or the address key
// ("ip:<addr>") is locked out it returns ERATELIMIT with RetryAfterSeconds
// and checks nothing. Otherwise every failure — unknown tenant, unknown or
// deactivated user, empty or wrong password — returns the same EUNAUTHORIZED
// error after the same password-hash work, counts against both keys and is
// audited in the tenant's chain (reason code, never the email). Success
// clears the account key, opens a session and returns its tokens.
func (s *Service) Login(ctx context.Context, req whitecross.LoginRequest) (*whitecross.TokenPair, *whitecross.User, error) {
	now := s.now()
	slug := strings.ToLower(strings.TrimSpace(req.TenantSlug))
	email := strings.ToLower(strings.TrimSpace(req.Email))
	keys := []throttleKey{{key: "acct:" + slug + ":" + email, policy: s.cfg.AccountThrottle, scope: "account"}}
	if req.ClientIP != "" {
		keys = append(keys, throttleKey{key: "ip:" + req.ClientIP, policy: s.cfg.AddressThrottle, scope: "address"})
	}
	if err := s.checkLockouts(ctx, keys, now); err != nil {
		return nil, nil, err
	}

	tenant, err := s.deps.Tenants.FindTenantBySlug(ctx, slug)
	if code := whitecross.ErrorCode(err); code == whitecross.ENOTFOUND || code == whitecross.EINVALID {
		tenant = nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find tenant: %w", err)
	}
	var creds *whitecross.Credentials
	if tenant != nil {
		creds, err = s.deps.Credentials.FindCredentials(whitecross.SystemContext(ctx, tenant.ID), tenant.ID, email)
		if code := whitecross.ErrorCode(err); code == whitecross.ENOTFOUND || code == whitecross.EINVALID {
			creds = nil
		} else if err != nil {
			return nil, nil, fmt.Errorf("find credentials: %w", err)
		}
	}

	// Always verify something, so the time taken does not tell whether the
	// tenant or user exists or has a password.
	hash := s.decoyHash()
	hasHash := creds != nil && creds.PasswordHash != ""
	if hasHash {
		hash = creds.PasswordHash
	}
	matched := s.deps.Hasher.VerifyPassword(hash, req.Password) && hasHash && req.Password != ""

	reason := ""
	switch {
	case creds == nil:
		reason = reasonUnknownUser
	case !creds.User.Active():
		reason = reasonDeactivated
	case !matched:
		reason = reasonBadPassword
	}
	if reason != "" {
		return nil, nil, s.loginFailed(ctx, tenant, creds, req, reason, keys, now)
	}
	return s.loginSucceeded(ctx, creds.User, req, keys[0].key, now)
}

// throttleKey is one counter a sign-in attempt is charged to.
type throttleKey struct {
	key    string
	policy whitecross.ThrottlePolicy
	scope  string // "account" or "address", for the audit detail
}

// checkLockouts returns ERATELIMIT when any key is locked at now.
func (s *Service) checkLockouts(ctx context.Context, keys []throttleKey, now time.Time) error {
	var until time.Time
	for _, k := range keys {
		u, err := s.deps.Throttle.LockedUntil(ctx, k.key, now)
		if err != nil {
			return fmt.Errorf("check login throttle: %w", err)
		}
		if u.After(until) {
			until = u
		}
	}
	if !until.After(now) {
		return nil
	}
	return rateLimited(until.Sub(now))
}

// rateLimited returns the ERATELIMIT error for a lockout with d left,
// rounded up to whole seconds.
func rateLimited(d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	e := whitecross.Errorf(whitecross.ERATELIMIT, "Too many failed sign-in attempts. Try again later.")
	e.RetryAfterSeconds = secs
	return e
}

// loginFailed counts the failure against every key, audits it (and any
// lockout it starts) in the tenant's chain, and returns the uniform error.
// An unknown tenant has no chain, so nothing is audited for it.
func (s *Service) loginFailed(ctx context.Context, tenant *whitecross.Tenant, creds *whitecross.Credentials,
	req whitecross.LoginRequest, reason string, keys []throttleKey, now time.Time) error {
	var locked []throttleKey
	var lockedUntil []time.Time
	for _, k := range keys {
		until, err := s.deps.Throttle.RecordFailure(ctx, k.key, now, k.policy)
		if err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
		if until.After(now) {
			locked = append(locked, k)
			lockedUntil = append(lockedUntil, until)
		}
	}
	if tenant == nil {
		return errInvalidCredentials
	}
	actorID, targetType := "", ""
	if creds != nil {
		actorID, targetType = creds.User.ID, "user"
	}
	if err := s.audit(ctx, &whitecross.AuditEvent{
		TenantID: tenant.ID, At: now, ActorID: actorID, Action: whitecross.AuditLoginFailed,
		TargetType: targetType, TargetID: actorID, Outcome: whitecross.OutcomeFailure,
		ClientIP: req.ClientIP, Detail: map[string]string{"reason": reason},
	}); err != nil {
		return err
	}
	// A lockout is audited once, when this failure starts it, rather than
	// on every refused attempt, so a flood of attempts cannot flood the log.
	for i, k := range locked {
		if err := s.audit(ctx, &whitecross.AuditEvent{
			TenantID: tenant.ID, At: now, ActorID: actorID, Action: whitecross.AuditLoginLocked,
			TargetType: targetType, TargetID: actorID, Outcome: whitecross.OutcomeDenied,
			ClientIP: req.ClientIP, Detail: map[string]string{
				"scope":           k.scope,
				"lockout_seconds": fmt.Sprint(int(lockedUntil[i].Sub(now) / time.Second)),
			},
		}); err != nil {
			return err
		}
	}
	return errInvalidCredentials
}

// loginSucceeded clears the account's failures, opens a session with its
// first refresh token, audits the sign-in and returns the tokens.
func (s *Service) loginSucceeded(ctx context.Context, user *whitecross.User, req whitecross.LoginRequest,
	accountKey string, now time.Time) (*whitecross.TokenPair, *whitecross.User, error) {
	if err := s.deps.Throttle.Reset(ctx, accountKey); err != nil {
		return nil, nil, fmt.Errorf("reset login throttle: %w", err)
	}
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
		ClientIP: req.ClientIP, UserAgent: req.UserAgent,
	}
	if err := s.deps.Sessions.CreateSession(ctx, sess, stored); err != nil {
		return nil, nil, fmt.Errorf("create session: %w", err)
	}
	pair, err := s.issuePair(user, sess.ID, refresh)
	if err != nil {
		return nil, nil, err
	}
	if err := s.audit(ctx, &whitecross.AuditEvent{
		TenantID: user.TenantID, At: now, ActorID: user.ID, Action: whitecross.AuditLoginSucceeded,
		TargetType: "session", TargetID: sess.ID, Outcome: whitecross.OutcomeSuccess, ClientIP: req.ClientIP,
	}); err != nil {
		return nil, nil, err
	}
	return pair, user, nil
}
