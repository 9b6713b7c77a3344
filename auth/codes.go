package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.PasswordlessAuth = (*Service)(nil)

// errInvalidCode is the one answer to every code sign-in that fails —
// unknown tenant or contact, deactivated user, wrong, expired or spent
// code — so it tells nobody whether the contact is a user's.
var errInvalidCode = whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid or expired code.")

// errNoSignin answers when the server was built without a SigninStore.
var errNoSignin = whitecross.Errorf(whitecross.EUNAVAILABLE, "Signing in with a code is not available on this server.")

// Reason codes of AuditCodeFailed, AuditCodeRequested and the reset events.
const (
	reasonBadCode = "bad_code"
)

var e164Phone = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// codeDigits matches a well-formed code.
var codeDigits = regexp.MustCompile(`^[0-9]{6}$`)

// parseContact returns the contact normalised (emails lowercase) and the
// channel its code goes by. EINVALID naming body.contact when it is
// neither an email nor an E.164 phone: that says nothing of any account.
func parseContact(raw string) (string, whitecross.Channel, error) {
	c := strings.TrimSpace(raw)
	if e164Phone.MatchString(c) {
		return c, whitecross.ChannelSMS, nil
	}
	if a, err := mail.ParseAddress(c); err == nil && a.Address == c && strings.Contains(c, "@") {
		return strings.ToLower(c), whitecross.ChannelEmail, nil
	}
	return "", "", whitecross.FieldErrorf(whitecross.EINVALID, "body.contact", raw,
		"Enter an email address or a mobile number in international form, such as +15551234567.")
}

// newCode returns 6 uniformly random digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash is the stored form of a code: HMAC-SHA256 under the server's
// code key, bound to the tenant and user. Without the key, a copy of the
// database cannot test the million possible codes; a slow password hash
// would not help (a million guesses of argon2id take hours, not years)
// and would queue every request behind sign-ins for hashing slots.
func (s *Service) codeHash(tenantID, userID, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte("signin-code\x00" + tenantID + "\x00" + strings.ToLower(userID) + "\x00" + code))
	return m.Sum(nil)
}

// findContact returns the tenant and the user of contact, each nil when
// unknown.
func (s *Service) findContact(ctx context.Context, slug, contact string) (*whitecross.Tenant, *whitecross.User, error) {
	tenant, err := s.deps.Tenants.FindTenantBySlug(ctx, slug)
	if notFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find tenant: %w", err)
	}
	u, err := s.deps.Signin.FindUserByContact(whitecross.SystemContext(ctx, tenant.ID), tenant.ID, contact)
	if notFound(err) {
		return tenant, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find user by contact: %w", err)
	}
	return tenant, u, nil
}

// sendKeys are the counters of a request that sends something: the
// contact's and the address's, never refunded (each request costs a send).
func (s *Service) sendKeys(kind, slug, contact, clientIP string) []throttleKey {
	keys := []throttleKey{{key: kind + ":" + slug + ":" + contact, policy: s.cfg.SendThrottle, scope: "contact"}}
	if clientIP != "" {
		keys = append(keys, throttleKey{key: "send" + addressThrottleKey(clientIP), policy: s.cfg.SendAddressThrottle, scope: "address"})
	}
	return keys
}

// reserveSend charges a request that sends; ERATELIMIT saying so.
func (s *Service) reserveSend(ctx context.Context, keys []throttleKey, now time.Time) error {
	_, err := s.reserve(ctx, keys, now)
	var e *whitecross.Error
	if errors.As(err, &e) && e.Code == whitecross.ERATELIMIT {
		limited := whitecross.Errorf(whitecross.ERATELIMIT, "Too many requests for this address. Try again later.")
		limited.RetryAfterSeconds = e.RetryAfterSeconds
		return limited
	}
	return err
}

// RequestCode implements whitecross.PasswordlessAuth. Known and unknown
// contacts of a district take the same path: a code is made and hashed,
// the store runs the same statements (storing nothing for nobody) and
// queues a sealed notice (dropped unsent for nobody), and the request is
// audited. Only an unknown district stops early: district slugs are
// public (they are in every sign-in link).
func (s *Service) RequestCode(ctx context.Context, req whitecross.CodeRequest) error {
	if s.deps.Signin == nil {
		return errNoSignin
	}
	contact, channel, err := parseContact(req.Contact)
	if err != nil {
		return err
	}
	slug, now := strings.ToLower(strings.TrimSpace(req.TenantSlug)), s.now()
	if err := s.reserveSend(ctx, s.sendKeys("code", slug, contact, req.ClientIP), now); err != nil {
		return err
	}
	tenant, user, err := s.findContact(ctx, slug, contact)
	if err != nil || tenant == nil {
		return err
	}
	code, err := newCode()
	if err != nil {
		return err
	}
	userID := activeUserID(user)
	notice := codeNotice(channel, contact, user, tenant, code)
	if err := s.deps.Signin.IssueSigninCode(ctx, &whitecross.SigninCode{TenantID: tenant.ID, UserID: userID,
		Hash: s.codeHash(tenant.ID, userID, code), ExpiresAt: now.Add(whitecross.SigninCodeTTL)}, notice); err != nil {
		return fmt.Errorf("issue sign-in code: %w", err)
	}
	return s.auditRequest(ctx, whitecross.AuditCodeRequested, tenant, user, channel, req.ClientIP, now)
}

// activeUserID is the id of an active user, else "" (nobody).
func activeUserID(u *whitecross.User) string {
	if u == nil || !u.Active() {
		return ""
	}
	return u.ID
}

// auditRequest audits a request for a code or a reset link: a success for
// an active user, a failure naming why otherwise. The detail names the
// channel, never the contact.
func (s *Service) auditRequest(ctx context.Context, action string, tenant *whitecross.Tenant, user *whitecross.User,
	channel whitecross.Channel, clientIP string, now time.Time) error {
	e := &whitecross.AuditEvent{TenantID: tenant.ID, At: now, Action: action, Outcome: whitecross.OutcomeSuccess,
		ClientIP: clientIP, Detail: map[string]string{"channel": string(channel)}}
	switch {
	case user == nil:
		e.Outcome, e.Detail["reason"] = whitecross.OutcomeFailure, reasonUnknownUser
	case !user.Active():
		e.Outcome, e.Detail["reason"] = whitecross.OutcomeFailure, reasonDeactivated
	}
	if user != nil {
		e.ActorID, e.TargetType, e.TargetID = user.ID, "user", user.ID
	}
	return s.audit(ctx, e)
}

// LoginWithCode implements whitecross.PasswordlessAuth. A code is a guess
// at an account like a password: it is charged to the same account and
// address counters as Login (so codes and passwords share one lockout),
// every failure answers errInvalidCode and is audited, and success ends in
// openSession like every sign-in. Unknown contacts spend a lookup of
// nobody's code, the same query as a wrong code.
func (s *Service) LoginWithCode(ctx context.Context, req whitecross.CodeLogin) (*whitecross.TokenPair, *whitecross.User, error) {
	if s.deps.Signin == nil {
		return nil, nil, errNoSignin
	}
	contact, _, err := parseContact(req.Contact)
	if err != nil {
		return nil, nil, errInvalidCode
	}
	slug, now := strings.ToLower(strings.TrimSpace(req.TenantSlug)), s.now()
	keys := s.throttleKeys(slug, contact, req.ClientIP)
	charges, err := s.reserve(ctx, keys, now)
	if err != nil {
		return nil, nil, err
	}
	tenant, user, err := s.findContact(ctx, slug, contact)
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, err)
	}
	reason, err := s.checkCode(ctx, tenant, user, strings.TrimSpace(req.Code))
	if err != nil {
		return nil, nil, s.giveBack(ctx, charges, err)
	}
	if reason != "" {
		var creds *whitecross.Credentials
		if user != nil {
			creds = &whitecross.Credentials{User: user}
		}
		if err := s.recordFailureAs(ctx, whitecross.AuditCodeFailed, tenant, creds, req.ClientIP, reason, keys, charges, now); err != nil {
			return nil, nil, err
		}
		return nil, nil, errInvalidCode
	}
	if err := s.passwordProved(ctx, keys[0].key, charges[1:]); err != nil {
		return nil, nil, err
	}
	return s.openSession(ctx, user, sessionRequest{clientIP: req.ClientIP, userAgent: req.UserAgent,
		action: whitecross.AuditCodeSucceeded}, now)
}

// checkCode spends the user's code when code is it and returns "", or the
// reason the sign-in fails. Nobody's code is looked up too, so an unknown
// contact costs what a wrong code does.
func (s *Service) checkCode(ctx context.Context, tenant *whitecross.Tenant, user *whitecross.User, code string) (string, error) {
	if tenant == nil {
		return reasonUnknownUser, nil
	}
	userID := activeUserID(user)
	if !codeDigits.MatchString(code) {
		code = "" // never any user's hash
	}
	err := s.deps.Signin.SpendSigninCode(ctx, tenant.ID, orNobody(userID), s.codeHash(tenant.ID, userID, code), whitecross.SigninCodeTries)
	switch {
	case whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED:
	case err != nil:
		return "", fmt.Errorf("spend sign-in code: %w", err)
	case user != nil && user.Active():
		return "", nil
	}
	switch {
	case user == nil:
		return reasonUnknownUser, nil
	case !user.Active():
		return reasonDeactivated, nil
	}
	return reasonBadCode, nil
}

// nobody is a user id no user has.
const nobody = "00000000-0000-0000-0000-000000000000"

func orNobody(id string) string {
	if id == "" {
		return nobody
	}
	return id
}
