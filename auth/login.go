package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

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
// The attempt is first charged to the account key ("acct:<slug>:<email>")
// and the address key ("ip:<addr>") in one atomic reservation, so however
// many attempts arrive at once, on however many instances, at most each
// key's threshold are evaluated per lockout: while a key is locked, or its
// allowed attempts are taken, it returns ERATELIMIT with RetryAfterSeconds
// and checks nothing. Otherwise every failure — unknown tenant, unknown or
// deactivated user, empty or wrong password — returns the same
// EUNAUTHORIZED error after the same password-hash work, keeps its charge
// and is audited in the tenant's chain (reason code, never the email).
// Success clears the account key, gives the address its charge back (a
// school's shared address is not penalised for correct sign-ins), opens a
// session and returns its tokens. An attempt that could not be evaluated
// (EUNAVAILABLE when the server is too busy hashing, or an internal error)
// gets its charges back.
func (s *Service) Login(ctx context.Context, req whitecross.LoginRequest) (*whitecross.TokenPair, *whitecross.User, error) {
	now := s.now()
	slug := strings.ToLower(strings.TrimSpace(req.TenantSlug))
	email := strings.ToLower(strings.TrimSpace(req.Email))
	keys := s.throttleKeys(slug, email, req.ClientIP)
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return nil, nil, err
	}
	tenant, creds, err := s.findCredentials(ctx, slug, email)
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, err)
	}
	matched, err := s.checkPassword(ctx, creds, req.Password)
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, err)
	}
	if reason := failureReason(creds, matched); reason != "" {
		if err := s.recordFailure(ctx, tenant, creds, req.ClientIP, reason, keys, charges, now); err != nil {
			return nil, nil, err
		}
		return nil, nil, errInvalidCredentials
	}
	return s.loginSucceeded(ctx, creds.User, req, keys[0].key, charges[1:], now)
}

// failureReason is the audit reason code of a failed sign-in, or "" when
// the sign-in succeeds.
func failureReason(creds *whitecross.Credentials, matched bool) string {
	switch {
	case creds == nil:
		return reasonUnknownUser
	case !creds.User.Active():
		return reasonDeactivated
	case !matched:
		return reasonBadPassword
	}
	return ""
}

// throttleKey is one counter a sign-in attempt is charged to.
type throttleKey struct {
	key    string
	policy whitecross.ThrottlePolicy
	scope  string // "account" or "address", for the audit detail
}

// throttleKeys are the account key, then the address key when the address
// is known.
func (s *Service) throttleKeys(slug, email, clientIP string) []throttleKey {
	keys := []throttleKey{{key: AccountThrottleKey(slug, email), policy: s.cfg.AccountThrottle, scope: "account"}}
	if clientIP != "" {
		keys = append(keys, throttleKey{key: addressThrottleKey(clientIP), policy: s.cfg.AddressThrottle, scope: "address"})
	}
	return keys
}

// AccountThrottleKey is the sign-in lockout counter of one account, which
// the operator clears when they set its password.
func AccountThrottleKey(slug, email string) string {
	return "acct:" + strings.ToLower(strings.TrimSpace(slug)) + ":" + strings.ToLower(strings.TrimSpace(email))
}

// addressThrottleKey is the counter of a client address. An IPv6 client
// is counted by its /64, the block one subscriber is given, since it can
// take a fresh address of its block for every attempt.
func addressThrottleKey(clientIP string) string {
	addr, err := netip.ParseAddr(clientIP)
	if err != nil {
		return "ip:" + clientIP
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return "ip:" + addr.String()
	}
	block, _ := addr.WithZone("").Prefix(64) // cannot fail: an IPv6 address and 64 bits
	return "ip:" + block.String()
}

// reserve charges the attempt to every key, or returns ERATELIMIT when any
// is locked or has no attempt left.
func (s *Service) reserve(ctx context.Context, keys []throttleKey, now time.Time) ([]whitecross.ThrottleCharge, error) {
	tks := make([]whitecross.ThrottleKey, len(keys))
	for i, k := range keys {
		tks[i] = whitecross.ThrottleKey{Key: k.key, Policy: k.policy}
	}
	charges, until, err := s.deps.Throttle.Reserve(ctx, now, tks)
	if err != nil {
		return nil, fmt.Errorf("reserve login attempt: %w", err)
	}
	if charges == nil {
		return nil, rateLimited(until.Sub(now))
	}
	return charges, nil
}

// giveBack refunds the charges of an attempt that was not evaluated and
// returns cause. The refund outlives a cancelled request, so a client that
// hangs up is not counted as a failure it never had checked.
func (s *Service) giveBack(ctx context.Context, charges []whitecross.ThrottleCharge, cause error) error {
	if err := s.deps.Throttle.Refund(context.WithoutCancel(ctx), charges); err != nil {
		return errors.Join(cause, fmt.Errorf("refund login attempt: %w", err))
	}
	return cause
}

// findCredentials returns the tenant and the user's credentials, each nil
// when unknown.
func (s *Service) findCredentials(ctx context.Context, slug, email string) (*whitecross.Tenant, *whitecross.Credentials, error) {
	tenant, err := s.deps.Tenants.FindTenantBySlug(ctx, slug)
	if notFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find tenant: %w", err)
	}
	creds, err := s.deps.Credentials.FindCredentials(whitecross.SystemContext(ctx, tenant.ID), tenant.ID, email)
	if notFound(err) {
		return tenant, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find credentials: %w", err)
	}
	return tenant, creds, nil
}

// notFound reports whether a lookup found nothing (or the name cannot
// exist), which sign-in treats like a wrong password.
func notFound(err error) bool {
	code := whitecross.ErrorCode(err)
	return code == whitecross.ENOTFOUND || code == whitecross.EINVALID
}

// checkPassword reports whether password is the user's. It always verifies
// something, so the time taken does not tell whether the tenant or user
// exists or has a password. EUNAVAILABLE when the server is too busy.
func (s *Service) checkPassword(ctx context.Context, creds *whitecross.Credentials, password string) (bool, error) {
	hasHash := creds != nil && creds.PasswordHash != ""
	var hash string
	if hasHash {
		hash = creds.PasswordHash
	} else {
		decoy, err := s.decoyHash(ctx)
		if err != nil {
			return false, err
		}
		hash = decoy
	}
	ok, err := s.deps.Hasher.VerifyPassword(ctx, hash, password)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return ok && hasHash && password != "", nil
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

// recordFailure audits a failed check of a password (its charges stand)
// and any lockout its charges started, in the tenant's chain. An unknown
// tenant has no chain, so nothing is audited for it.
func (s *Service) recordFailure(ctx context.Context, tenant *whitecross.Tenant, creds *whitecross.Credentials,
	clientIP, reason string, keys []throttleKey, charges []whitecross.ThrottleCharge, now time.Time) error {
	return s.recordFailureAs(ctx, whitecross.AuditLoginFailed, tenant, creds, clientIP, reason, keys, charges, now)
}

// recordFailureAs is recordFailure audited as action (a failed code is
// AuditCodeFailed).
func (s *Service) recordFailureAs(ctx context.Context, action string, tenant *whitecross.Tenant, creds *whitecross.Credentials,
	clientIP, reason string, keys []throttleKey, charges []whitecross.ThrottleCharge, now time.Time) error {
	if tenant == nil {
		return nil
	}
	actorID, targetType := "", ""
	if creds != nil {
		actorID, targetType = creds.User.ID, "user"
	}
	if err := s.audit(ctx, &whitecross.AuditEvent{
		TenantID: tenant.ID, At: now, ActorID: actorID, Action: action,
		TargetType: targetType, TargetID: actorID, Outcome: whitecross.OutcomeFailure,
		ClientIP: clientIP, Detail: map[string]string{"reason": reason},
	}); err != nil {
		return err
	}
	// A lockout is audited once, by the failed attempt whose charge started
	// it, rather than on every refused attempt, so a flood of attempts
	// cannot flood the log.
	for i, c := range charges {
		if c.LockedUntil.IsZero() {
			continue
		}
		if err := s.audit(ctx, &whitecross.AuditEvent{
			TenantID: tenant.ID, At: now, ActorID: actorID, Action: whitecross.AuditLoginLocked,
			TargetType: targetType, TargetID: actorID, Outcome: whitecross.OutcomeDenied,
			ClientIP: clientIP, Detail: map[string]string{
				"scope":           keys[i].scope,
				"lockout_seconds": fmt.Sprint(int(c.LockedUntil.Sub(now) / time.Second)),
			},
		}); err != nil {
			return err
		}
	}
	return nil
}

// passwordProved settles the charges of an attempt whose password was
// right: the account's count is cleared and the other keys (the address's)
// get their charge back, since a proved password was no guess.
func (s *Service) passwordProved(ctx context.Context, accountKey string, refunds []whitecross.ThrottleCharge) error {
	if err := s.deps.Throttle.Reset(ctx, accountKey); err != nil {
		return fmt.Errorf("reset login throttle: %w", err)
	}
	if err := s.deps.Throttle.Refund(ctx, refunds); err != nil {
		return fmt.Errorf("refund login attempt: %w", err)
	}
	return nil
}

// loginSucceeded clears the account's count, refunds the other charges
// (the address's) and opens the session.
func (s *Service) loginSucceeded(ctx context.Context, user *whitecross.User, req whitecross.LoginRequest,
	accountKey string, refunds []whitecross.ThrottleCharge, now time.Time) (*whitecross.TokenPair, *whitecross.User, error) {
	if err := s.passwordProved(ctx, accountKey, refunds); err != nil {
		return nil, nil, err
	}
	return s.openSession(ctx, user, sessionRequest{clientIP: req.ClientIP, userAgent: req.UserAgent,
		action: whitecross.AuditLoginSucceeded}, now)
}
