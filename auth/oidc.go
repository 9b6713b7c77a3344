package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"whitecross"
)

// OIDCCallbackPath is the redirect URI's path, after the public URL: what
// a district registers with its identity provider.
const OIDCCallbackPath = "/api/v1/auth/oidc/callback"

// errSSORefused is the one answer to every refused SSO sign-in, so it
// tells nobody whether an email has an account.
var errSSORefused = whitecross.Errorf(whitecross.EUNAUTHORIZED,
	"Single sign-on did not sign you in. Start again from the sign-in page; if it keeps failing, ask your district's IT staff whether your account may use it.")

// Reason codes of refused SSO sign-ins (audit detail "reason").
const (
	reasonBadState       = "bad_state"
	reasonProviderError  = "provider_error"
	reasonExchange       = "code_exchange_failed"
	reasonBadIDToken     = "bad_id_token"
	reasonBadNonce       = "bad_nonce"
	reasonUnverified     = "email_unverified"
	reasonDomain         = "domain_not_allowed"
	reasonNoSSO          = "sso_not_configured"
	reasonProviderAbsent = "provider_unavailable"
)

// SSOProvider implements whitecross.SSOService.
func (s *Service) SSOProvider(ctx context.Context, slug string) (string, error) {
	if s.deps.OIDC == nil {
		return "", whitecross.Errorf(whitecross.ENOTFOUND, "Single sign-on is not offered.")
	}
	_, o, err := s.deps.OIDC.TenantOIDC(ctx, slug)
	if err != nil {
		return "", err
	}
	return providerName(o.Issuer), nil
}

// StartSSO implements whitecross.SSOService.
func (s *Service) StartSSO(ctx context.Context, slug string) (*whitecross.SSOStart, error) {
	if s.deps.OIDC == nil {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Single sign-on is not offered.")
	}
	tenant, o, err := s.deps.OIDC.TenantOIDC(ctx, slug)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p, err := s.providers.get(ctx, o.Issuer, now)
	if err != nil {
		return nil, whitecross.Errorf(whitecross.EUNAVAILABLE, "Your district's sign-in service cannot be reached. Try again in a few minutes.")
	}
	state, err := randomToken(32)
	if err != nil {
		return nil, err
	}
	nonce, err := randomToken(32)
	if err != nil {
		return nil, err
	}
	st := ssoState{Tenant: tenant.Slug, State: state, Nonce: nonce,
		Verifier: oauth2.GenerateVerifier(), Expires: now.Add(whitecross.OIDCStateTTL)}
	cookie, err := s.sealState(st)
	if err != nil {
		return nil, err
	}
	authURL := s.oauthConfig(p, o).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return &whitecross.SSOStart{AuthURL: authURL, Cookie: cookie}, nil
}

func (s *Service) oauthConfig(p *oidc.Provider, o *whitecross.OIDCSettings) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.cfg.Issuer + OIDCCallbackPath,
		Scopes:      []string{oidc.ScopeOpenID, "email"},
	}
}

// ssoAttempt is a callback whose state cookie named its tenant.
type ssoAttempt struct {
	tenant *whitecross.Tenant
	oidc   *whitecross.OIDCSettings
	state  ssoState
	cb     whitecross.SSOCallback
	now    time.Time
}

// FinishSSO implements whitecross.SSOService. Every refusal is
// errSSORefused, audited as auth.login.failed (method sso) with its reason
// code in the tenant the state cookie names; a callback without a valid
// cookie names no tenant, so it has no chain to be audited in.
func (s *Service) FinishSSO(ctx context.Context, cb whitecross.SSOCallback) (*whitecross.TokenPair, *whitecross.User, error) {
	now := s.now()
	st, ok := s.openState(cb.Cookie)
	if !ok || s.deps.OIDC == nil {
		return nil, nil, errSSORefused
	}
	tenant, o, err := s.deps.OIDC.TenantOIDC(ctx, st.Tenant)
	if notFound(err) {
		t, terr := s.deps.Tenants.FindTenantBySlug(ctx, st.Tenant)
		if terr != nil {
			return nil, nil, errSSORefused
		}
		return nil, nil, s.refuseSSO(ctx, &ssoAttempt{tenant: t, cb: cb, now: now}, nil, reasonNoSSO)
	} else if err != nil {
		return nil, nil, err
	}
	a := &ssoAttempt{tenant: tenant, oidc: o, state: st, cb: cb, now: now}
	charges, err := s.chargeAddress(ctx, cb.ClientIP, now)
	if err != nil {
		return nil, nil, err
	}
	pair, user, err := s.finishSSO(ctx, a)
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
		return nil, nil, err // the charge stands
	}
	if rerr := s.deps.Throttle.Refund(context.WithoutCancel(ctx), charges); rerr != nil && err == nil {
		return nil, nil, fmt.Errorf("refund sso attempt: %w", rerr)
	}
	return pair, user, err
}

// chargeAddress charges an SSO callback to its client address, as a
// password attempt is (ERATELIMIT while the address is locked): each
// refused callback costs a request to the provider and an audit event, so
// a flood of them is cut off like a flood of wrong passwords.
func (s *Service) chargeAddress(ctx context.Context, clientIP string, now time.Time) ([]whitecross.ThrottleCharge, error) {
	if clientIP == "" {
		return nil, nil
	}
	return s.reserve(ctx, []throttleKey{{key: addressThrottleKey(clientIP), policy: s.cfg.AddressThrottle, scope: "address"}}, now)
}

// finishSSO checks a callback whose state cookie opened.
func (s *Service) finishSSO(ctx context.Context, a *ssoAttempt) (*whitecross.TokenPair, *whitecross.User, error) {
	st, cb, now, tenant := a.state, a.cb, a.now, a.tenant
	switch {
	case !now.Before(st.Expires) || subtle.ConstantTimeCompare([]byte(st.State), []byte(cb.State)) != 1:
		return nil, nil, s.refuseSSO(ctx, a, nil, reasonBadState)
	case cb.Error != "" || cb.Code == "":
		return nil, nil, s.refuseSSO(ctx, a, nil, reasonProviderError)
	}
	email, reason, err := s.verifiedEmail(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	if reason != "" {
		return nil, nil, s.refuseSSO(ctx, a, nil, reason)
	}
	creds, err := s.deps.Credentials.FindCredentials(whitecross.SystemContext(ctx, tenant.ID), tenant.ID, email)
	if notFound(err) {
		creds = nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find credentials: %w", err)
	}
	if reason := failureReason(creds, true); reason != "" {
		return nil, nil, s.refuseSSO(ctx, a, creds, reason)
	}
	return s.openSession(ctx, creds.User, sessionRequest{clientIP: cb.ClientIP, userAgent: cb.UserAgent,
		action: whitecross.AuditLoginSucceeded, detail: map[string]string{"method": "sso"}}, now)
}

// verifiedEmail exchanges the code (with the PKCE verifier) and verifies
// the ID token: signature by the provider's keys, issuer, audience (the
// client ID), expiry, then the nonce, email_verified and the domain. It
// returns the email, or the reason it may not sign in.
func (s *Service) verifiedEmail(ctx context.Context, a *ssoAttempt) (string, string, error) {
	p, err := s.providers.get(ctx, a.oidc.Issuer, a.now)
	if err != nil {
		return "", reasonProviderAbsent, nil
	}
	hctx, cancel := context.WithTimeout(s.providers.context(ctx), oidcHTTPTimeout)
	defer cancel()
	tok, err := s.oauthConfig(p, a.oidc).Exchange(hctx, a.cb.Code, oauth2.VerifierOption(a.state.Verifier))
	if err != nil {
		return "", reasonExchange, nil
	}
	raw, _ := tok.Extra("id_token").(string)
	verifier := p.VerifierContext(s.providers.context(ctx), &oidc.Config{ClientID: a.oidc.ClientID, Now: s.now})
	idt, err := verifier.Verify(hctx, raw)
	if err != nil {
		return "", reasonBadIDToken, nil
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.state.Nonce)) != 1 {
		return "", reasonBadNonce, nil
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", reasonBadIDToken, nil
	}
	// Some providers send the claim as the string "true".
	if v := claims.EmailVerified; v != true && v != "true" {
		return "", reasonUnverified, nil
	}
	email := strings.ToLower(strings.TrimSpace(claims.Email))
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "", reasonUnverified, nil
	}
	if len(a.oidc.AllowedDomains) > 0 && !slices.Contains(a.oidc.AllowedDomains, email[at+1:]) {
		return "", reasonDomain, nil
	}
	return email, "", nil
}

// refuseSSO audits a refused SSO sign-in (reason code and method, never a
// token or the email) and returns errSSORefused.
func (s *Service) refuseSSO(ctx context.Context, a *ssoAttempt, creds *whitecross.Credentials, reason string) error {
	e := &whitecross.AuditEvent{TenantID: a.tenant.ID, At: a.now, Action: whitecross.AuditLoginFailed,
		Outcome: whitecross.OutcomeFailure, ClientIP: a.cb.ClientIP,
		Detail: map[string]string{"reason": reason, "method": "sso"}}
	if creds != nil {
		e.ActorID, e.TargetType, e.TargetID = creds.User.ID, "user", creds.User.ID
	}
	if err := s.audit(ctx, e); err != nil {
		return err
	}
	return errSSORefused
}
