package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/internal/oidctest"
	"whitecross/store"
	"whitecross/store/storetest"
)

// ssoBundle is an API bundle whose district springfield signs in with a
// test OpenID provider (allowed domain springfield.example).
type ssoBundle struct {
	*bundle
	idp        *oidctest.Provider
	noRedirect *http.Client
}

func forEachSSODialect(t *testing.T, fn func(t *testing.T, b *ssoBundle)) {
	t.Helper()
	forEachSSODialectWith(t, auth.DefaultConfig(publicURL), fn)
}

// forEachSSODialectWith is forEachSSODialect with the auth service's cfg.
func forEachSSODialectWith(t *testing.T, cfg auth.Config, fn func(t *testing.T, b *ssoBundle)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		idp := oidctest.Start(t)
		b := setup(t, db, api.Config{}, func(d *api.Deps) {
			st := d.Users.(*store.Store)
			keys, err := auth.LoadKeyring(context.Background(), st, nil)
			require.NoError(t, err)
			svc := auth.NewService(cfg, auth.Deps{
				Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
				Hasher: storetest.InsecureHasher(), Signin: st, OIDC: st, MFA: st, Keys: keys,
			})
			d.Auth, d.SSO, d.JWKS = svc, svc, keys.JWKS
		})
		admin := b.token(t, b.d, b.d.Admin)
		res := b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin, body: map[string]any{"settings": map[string]any{
			"oidc": map[string]any{"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
				"allowed_domains": []string{"Springfield.Example"}}}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.NotContains(t, string(res.body), idp.ClientSecret, "the secret is write-only")
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		fn(t, &ssoBundle{bundle: b, idp: idp, noRedirect: noRedirect})
	})
}

// signIn goes through the flow as a browser would: start, the provider
// (which signs in who), then the callback, which tamper may alter first.
func (b *ssoBundle) signIn(t *testing.T, who oidctest.Identity, tamper func(back *url.URL, cookie *http.Cookie)) *response {
	t.Helper()
	b.idp.SignInAs(who)
	res := b.do(t, req{method: "GET", path: "/api/v1/auth/oidc/start?tenant=springfield", client: b.noRedirect})
	require.Equal(t, http.StatusFound, res.status, "%s", res.body)
	loc := res.header.Get("Location")
	require.True(t, strings.HasPrefix(loc, b.idp.URL+"/authorize?"), loc)
	authz, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, "S256", authz.Query().Get("code_challenge_method"))
	require.NotEmpty(t, authz.Query().Get("nonce"))
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "wc_oidc" {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "the state cookie")
	require.True(t, cookie.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, cookie.SameSite, "the provider sends the browser back cross-site")
	require.Equal(t, "/api/v1/auth/oidc", cookie.Path)
	require.NotContains(t, cookie.Value, authz.Query().Get("state"), "the state is sealed")

	at, err := b.noRedirect.Get(loc)
	require.NoError(t, err)
	at.Body.Close()
	require.Equal(t, http.StatusFound, at.StatusCode)
	back, err := url.Parse(at.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, publicURL+"/api/v1/auth/oidc/callback", back.Scheme+"://"+back.Host+back.Path)
	if tamper != nil {
		tamper(back, cookie)
	}
	header := map[string]string{}
	if cookie.Value != "" {
		header["Cookie"] = cookie.Name + "=" + cookie.Value
	}
	return b.do(t, req{method: "GET", path: back.Path + "?" + back.RawQuery, header: header, client: b.noRedirect})
}

// cookies are the response's cookies by name.
func (r *response) cookies() map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// ssoFailures are the reasons of the tenant's failed SSO sign-ins.
func (b *ssoBundle) ssoFailures(t *testing.T) []string {
	t.Helper()
	events, err := b.st.AuditEvents(context.Background(), b.d.Tenant.ID, 0, 1000)
	require.NoError(t, err)
	var reasons []string
	for _, e := range events {
		if e.Action == whitecross.AuditLoginFailed && e.Detail["method"] == "sso" {
			reasons = append(reasons, e.Detail["reason"])
		}
	}
	return reasons
}

func TestSSOSignsInAndLandsInTheApp(t *testing.T) {
	t.Parallel()
	forEachSSODialect(t, func(t *testing.T, b *ssoBundle) {
		nurse := b.d.LincolnNurse
		res := b.signIn(t, oidctest.Identity{Email: strings.ToUpper(nurse.Email)}, nil)
		require.Equal(t, http.StatusFound, res.status, "%s", res.body)
		require.Equal(t, "/", res.header.Get("Location"), "into the app")
		cookies := res.cookies()
		for _, name := range []string{"wc_access", "wc_refresh", "wc_csrf"} {
			require.NotEmpty(t, cookies[name].Value, name)
		}
		require.Equal(t, -1, cookies["wc_oidc"].MaxAge, "the state is spent")

		me := b.do(t, req{method: "GET", path: "/api/v1/me", header: map[string]string{"Cookie": "wc_access=" + cookies["wc_access"].Value}})
		require.Equal(t, http.StatusOK, me.status, "%s", me.body)
		require.Contains(t, string(me.body), nurse.ID)

		events, err := b.st.AuditEvents(context.Background(), b.d.Tenant.ID, 0, 1000)
		require.NoError(t, err)
		var sso int
		for _, e := range events {
			if e.Action == whitecross.AuditLoginSucceeded && e.Detail["method"] == "sso" {
				sso++
				require.Equal(t, nurse.ID, e.ActorID)
			}
			require.NotContains(t, string(e.StoredDetail), b.idp.ClientSecret)
		}
		require.Equal(t, 1, sso, "the sign-in is audited with method sso")

		require.Equal(t, http.StatusFound, b.signIn(t, oidctest.Identity{Email: nurse.Email}, nil).status)
		require.Equal(t, 1, b.idp.Discoveries(), "the provider's discovery is cached")

		admin := b.token(t, b.d, b.d.Admin)
		tenant := b.do(t, req{method: "GET", path: "/api/v1/tenant", token: admin})
		require.NotContains(t, string(tenant.body), b.idp.ClientSecret, "GET never returns the secret")
		require.Contains(t, string(tenant.body), `"client_secret_set":true`)
		require.Contains(t, string(tenant.body), `"allowed_domains":["springfield.example"]`)
	})
}

func TestSSORefusals(t *testing.T) {
	t.Parallel()
	forEachSSODialect(t, func(t *testing.T, b *ssoBundle) {
		nurse := b.d.LincolnNurse.Email
		cases := []struct {
			name, reason string
			who          oidctest.Identity
			tamper       func(back *url.URL, cookie *http.Cookie)
		}{
			{"another state", "bad_state", oidctest.Identity{Email: nurse}, func(back *url.URL, _ *http.Cookie) {
				q := back.Query()
				q.Set("state", "forged")
				back.RawQuery = q.Encode()
			}},
			{"a forged nonce", "bad_nonce", oidctest.Identity{Email: nurse, Nonce: "replayed"}, nil},
			{"another audience", "bad_id_token", oidctest.Identity{Email: nurse, Audience: "some-other-app"}, nil},
			{"another issuer", "bad_id_token", oidctest.Identity{Email: nurse, Issuer: "https://evil.example"}, nil},
			{"an expired token", "bad_id_token", oidctest.Identity{Email: nurse, Expired: true}, nil},
			{"a forged signature", "bad_id_token", oidctest.Identity{Email: nurse, Forged: true}, nil},
			{"an unverified email", "email_unverified", oidctest.Identity{Email: nurse, EmailVerified: false}, nil},
			{"an unverified email, as a string", "email_unverified", oidctest.Identity{Email: nurse, EmailVerified: "false"}, nil},
			{"another domain", "domain_not_allowed", oidctest.Identity{Email: b.other.LincolnNurse.Email}, nil},
			{"an unknown user", "unknown_user", oidctest.Identity{Email: "nobody@springfield.example"}, nil},
			{"a deactivated user", "deactivated", oidctest.Identity{Email: b.d.FormerStaff.Email}, nil},
			{"the provider's error", "provider_error", oidctest.Identity{Email: nurse}, func(back *url.URL, _ *http.Cookie) {
				back.RawQuery = url.Values{"state": {back.Query().Get("state")}, "error": {"access_denied"}}.Encode()
			}},
		}
		var want []string
		for _, c := range cases {
			res := b.signIn(t, c.who, c.tamper)
			require.Equal(t, http.StatusUnauthorized, res.status, "%s: %s", c.name, res.body)
			require.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"), c.name)
			require.Contains(t, string(res.body), "Start again from the sign-in page", c.name)
			require.NotContains(t, strings.ToLower(string(res.body)), strings.ToLower(c.who.Email), c.name)
			require.NotContains(t, res.cookies(), "wc_access", c.name)
			want = append(want, c.reason)
			require.Equal(t, want, b.ssoFailures(t), "%s is audited with its reason", c.name)
		}

		// Without the browser's state cookie (another browser, or a
		// link sent to a victim) nothing names a tenant: refused, and
		// there is no chain to audit in.
		res := b.signIn(t, oidctest.Identity{Email: nurse}, func(_ *url.URL, cookie *http.Cookie) { cookie.Value = "" })
		require.Equal(t, http.StatusUnauthorized, res.status)
		res = b.signIn(t, oidctest.Identity{Email: nurse}, func(_ *url.URL, cookie *http.Cookie) { cookie.Value = "x" + cookie.Value })
		require.Equal(t, http.StatusUnauthorized, res.status, "an altered cookie")
		require.Equal(t, want, b.ssoFailures(t))
	})
}

func TestSSOCodeIsSingleUse(t *testing.T) {
	t.Parallel()
	forEachSSODialect(t, func(t *testing.T, b *ssoBundle) {
		var back url.URL
		var cookie http.Cookie
		res := b.signIn(t, oidctest.Identity{Email: b.d.LincolnNurse.Email}, func(u *url.URL, c *http.Cookie) { back, cookie = *u, *c })
		require.Equal(t, http.StatusFound, res.status)
		again := b.do(t, req{method: "GET", path: back.Path + "?" + back.RawQuery,
			header: map[string]string{"Cookie": cookie.Name + "=" + cookie.Value}, client: b.noRedirect})
		require.Equal(t, http.StatusUnauthorized, again.status, "a replayed callback")
		require.Equal(t, []string{"code_exchange_failed"}, b.ssoFailures(t))
	})
}

func TestSSOProviderAndSettings(t *testing.T) {
	t.Parallel()
	forEachSSODialect(t, func(t *testing.T, b *ssoBundle) {
		res := b.do(t, req{method: "GET", path: "/api/v1/auth/oidc?tenant=springfield"})
		require.Equal(t, http.StatusOK, res.status)
		require.JSONEq(t, `{"enabled":true,"provider":"`+strings.TrimPrefix(b.idp.URL, "http://")+`"}`, string(res.body))
		for _, slug := range []string{"shelbyville", "nowhere"} {
			res = b.do(t, req{method: "GET", path: "/api/v1/auth/oidc?tenant=" + slug})
			require.JSONEq(t, `{"enabled":false,"provider":""}`, string(res.body), slug)
			start := b.do(t, req{method: "GET", path: "/api/v1/auth/oidc/start?tenant=" + slug, client: b.noRedirect})
			require.Equal(t, http.StatusNotFound, start.status, slug)
		}

		admin := b.token(t, b.d, b.d.Admin)
		patch := func(token string, oidc map[string]any) *response {
			return b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: token, body: map[string]any{"settings": map[string]any{"oidc": oidc}}})
		}
		for _, bad := range []struct {
			field string
			oidc  map[string]any
		}{
			{"body.settings.oidc.issuer", map[string]any{"issuer": "http://idp.example", "client_id": "x"}},
			{"body.settings.oidc.issuer", map[string]any{"issuer": "https://idp.example/?q=1", "client_id": "x"}},
			{"body.settings.oidc.client_id", map[string]any{"issuer": "https://idp.example"}},
			{"body.settings.oidc.allowed_domains[0]", map[string]any{"issuer": "https://idp.example", "client_id": "x", "allowed_domains": []string{"not a domain"}}},
		} {
			res := patch(admin, bad.oidc)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", bad.oidc, res.body)
			require.Equal(t, bad.field, res.problem(t).Errors[0].Location)
		}
		nurse := b.token(t, b.d, b.d.LincolnNurse)
		require.Equal(t, http.StatusForbidden, patch(nurse, map[string]any{"issuer": ""}).status, "ADMIN only")

		// A change without a secret keeps the stored one; sign-in still works.
		res = patch(admin, map[string]any{"issuer": b.idp.URL, "client_id": b.idp.ClientID})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, http.StatusFound, b.signIn(t, oidctest.Identity{Email: b.d.LincolnNurse.Email}, nil).status)

		// A provider that cannot be reached: a page saying so.
		res = patch(admin, map[string]any{"issuer": "http://127.0.0.1:1", "client_id": "x"})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res = b.do(t, req{method: "GET", path: "/api/v1/auth/oidc/start?tenant=springfield", client: b.noRedirect})
		require.Equal(t, http.StatusServiceUnavailable, res.status)
		require.Contains(t, string(res.body), "cannot be reached")

		// An empty issuer removes single sign-on.
		res = patch(admin, map[string]any{"issuer": ""})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.NotContains(t, string(res.body), `"oidc"`)
		res = b.do(t, req{method: "GET", path: "/api/v1/auth/oidc/start?tenant=springfield", client: b.noRedirect})
		require.Equal(t, http.StatusNotFound, res.status)
		require.Contains(t, res.header.Get("Content-Type"), "text/html")
	})
}

// TestSSORefusalsCountTowardTheAddressLockout: refused callbacks are
// charged to the client's address like wrong passwords, so a flood of them
// is cut off; a sign-in that works gives its charge back.
func TestSSORefusalsCountTowardTheAddressLockout(t *testing.T) {
	t.Parallel()
	cfg := auth.DefaultConfig(publicURL)
	cfg.AddressThrottle = whitecross.ThrottlePolicy{Threshold: 3, Window: time.Hour, Lockout: time.Hour, MaxLockout: time.Hour}
	forEachSSODialectWith(t, cfg, func(t *testing.T, b *ssoBundle) {
		nurse := b.d.LincolnNurse.Email
		for range 4 {
			require.Equal(t, http.StatusFound, b.signIn(t, oidctest.Identity{Email: nurse}, nil).status, "successes are not counted")
		}
		for range 3 {
			require.Equal(t, http.StatusUnauthorized, b.signIn(t, oidctest.Identity{Email: nurse, EmailVerified: false}, nil).status)
		}
		res := b.signIn(t, oidctest.Identity{Email: nurse}, nil)
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
		require.Contains(t, string(res.body), "Too many sign-in attempts")
		require.Len(t, b.ssoFailures(t), 3, "the refused attempt is not checked")
	})
}

// TestSSOAsksForTheSecondStep: a user with two-step sign-in who comes back
// from the provider gets no session, only the mfa_token in the fragment of
// the redirect to the app, and the second step then signs them in.
func TestSSOAsksForTheSecondStep(t *testing.T) {
	t.Parallel()
	forEachSSODialect(t, func(t *testing.T, b *ssoBundle) {
		nurse := b.d.LincolnNurse
		token := b.token(t, b.d, nurse)
		res := b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp", token: token})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var setup struct {
			Secret string `json:"secret"`
		}
		res.decode(t, &setup)
		code, err := totp.GenerateCode(setup.Secret, time.Now())
		require.NoError(t, err)
		res = b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp/confirm", token: token, body: map[string]string{"code": code}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var rc struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		res.decode(t, &rc)

		back := b.signIn(t, oidctest.Identity{Email: nurse.Email}, nil)
		require.Equal(t, http.StatusFound, back.status, "%s", back.body)
		loc := back.header.Get("Location")
		require.True(t, strings.HasPrefix(loc, "/#mfa="), "the second step, in the app: %s", loc)
		require.Empty(t, back.cookies()["wc_access"], "no session before the second step")
		mfaToken, err := url.QueryUnescape(strings.TrimPrefix(loc, "/#mfa="))
		require.NoError(t, err)
		done := b.do(t, req{method: "POST", path: "/api/v1/auth/mfa", body: map[string]string{"mfa_token": mfaToken, "code": rc.RecoveryCodes[0]}})
		require.Equal(t, http.StatusOK, done.status, "%s", done.body)
		require.Contains(t, string(done.body), nurse.ID)
	})
}
