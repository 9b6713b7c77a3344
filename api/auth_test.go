package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestLoginRefreshLogoutWithBearer(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		tok := b.login(t, b.d, b.d.LincolnNurse)
		require.Equal(t, "Bearer", tok.TokenType)
		require.Positive(t, tok.ExpiresIn)
		require.NotEmpty(t, tok.AccessToken)
		require.NotEmpty(t, tok.RefreshToken)
		require.Equal(t, b.d.LincolnNurse.ID, tok.User.ID)
		require.Equal(t, "NURSE", tok.User.Role)
		require.Equal(t, []string{b.d.Lincoln.ID}, tok.User.LocationIDs)

		res := b.do(t, req{method: "GET", path: "/api/v1/me", token: tok.AccessToken})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var me api.User
		res.decode(t, &me)
		require.Equal(t, b.d.LincolnNurse.ID, me.ID)
		require.Equal(t, b.d.Tenant.ID, me.TenantID)

		// Refresh with the body: a new pair, and the old refresh token is spent.
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var next api.TokenResponse
		res.decode(t, &next)
		require.NotEqual(t, tok.RefreshToken, next.RefreshToken)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", token: next.AccessToken}).status)

		// Reusing the spent token revokes the family: the newer refresh
		// token and its access token stop working too.
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}})
		require.Equal(t, http.StatusUnauthorized, res.status)
		res.problem(t)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": next.RefreshToken}})
		require.Equal(t, http.StatusUnauthorized, res.status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/me", token: next.AccessToken}).status)

		// Logout with only the bearer token ends that session.
		fresh := b.login(t, b.d, b.d.LincolnNurse)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/logout", token: fresh.AccessToken})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		res = b.do(t, req{method: "GET", path: "/api/v1/me", token: fresh.AccessToken})
		require.Equal(t, http.StatusUnauthorized, res.status)
		res.problem(t)
		require.Equal(t, http.StatusUnauthorized,
			b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": fresh.RefreshToken}}).status)

		// Logout with a refresh token in the body and no bearer.
		other := b.login(t, b.d, b.d.LincolnNurse)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": other.RefreshToken}})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/me", token: other.AccessToken}).status)
	})
}

func TestUnauthenticatedRequestsAre401(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		for _, q := range []req{
			{method: "GET", path: "/api/v1/me"},
			{method: "GET", path: "/api/v1/users"},
			{method: "GET", path: "/api/v1/users/" + b.d.Admin.ID},
			{method: "POST", path: "/api/v1/groups", body: map[string]any{"name": "x", "member_ids": []string{}}},
			{method: "GET", path: "/api/v1/me", token: "not-a-jwt"},
			{method: "POST", path: "/api/v1/auth/refresh"},
		} {
			res := b.do(t, q)
			require.Equal(t, http.StatusUnauthorized, res.status, "%s %s", q.method, q.path)
			res.problem(t)
		}
	})
}

func TestCookieSessionNeedsCSRFToken(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		browser := &http.Client{Jar: jar}
		res := b.do(t, req{method: "POST", path: "/api/v1/auth/login", client: browser,
			body: map[string]string{"tenant": "springfield", "email": b.d.Admin.Email, "password": storetest.SeedPassword}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var tok api.TokenResponse
		res.decode(t, &tok)

		cookies := map[string]*http.Cookie{}
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			cookies[c.Name] = c
		}
		access, refresh, csrf := cookies["wc_access"], cookies["wc_refresh"], cookies["wc_csrf"]
		require.NotNil(t, access)
		require.Equal(t, tok.AccessToken, access.Value)
		require.True(t, access.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, access.SameSite)
		require.Equal(t, "/", access.Path)
		require.Equal(t, tok.ExpiresIn, access.MaxAge)
		require.False(t, access.Secure, "http public URL")
		require.NotNil(t, refresh)
		require.Equal(t, tok.RefreshToken, refresh.Value)
		require.True(t, refresh.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, refresh.SameSite)
		require.Equal(t, "/api/v1/auth", refresh.Path)
		require.Equal(t, 30*24*3600, refresh.MaxAge)
		require.NotNil(t, csrf)
		require.False(t, csrf.HttpOnly, "scripts must read wc_csrf")
		require.Equal(t, http.SameSiteStrictMode, csrf.SameSite)
		raw, err := base64.RawURLEncoding.DecodeString(csrf.Value)
		require.NoError(t, err)
		require.Len(t, raw, 32)

		// Reads need no CSRF token.
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", client: browser}).status)

		group := map[string]any{"name": "Nurses", "member_ids": []string{b.d.LincolnNurse.ID}}
		res = b.do(t, req{method: "POST", path: "/api/v1/groups", client: browser, body: group})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		require.Contains(t, res.problem(t).Detail, "X-CSRF-Token")
		res = b.do(t, req{method: "POST", path: "/api/v1/groups", client: browser, body: group,
			header: map[string]string{"X-CSRF-Token": csrf.Value + "x"}})
		require.Equal(t, http.StatusForbidden, res.status)
		res = b.do(t, req{method: "POST", path: "/api/v1/groups", client: browser, body: group,
			header: map[string]string{"X-CSRF-Token": csrf.Value, "Origin": "https://evil.example"}})
		require.Equal(t, http.StatusForbidden, res.status)
		res.problem(t)
		res = b.do(t, req{method: "POST", path: "/api/v1/groups", client: browser, body: group,
			header: map[string]string{"X-CSRF-Token": csrf.Value, "Origin": publicURL}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)

		// A bearer request needs no CSRF token.
		res = b.do(t, req{method: "POST", path: "/api/v1/groups", token: tok.AccessToken, body: group})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)

		// Refresh from the cookie is state-changing: CSRF header required.
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", client: browser})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", client: browser,
			header: map[string]string{"X-CSRF-Token": csrf.Value}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var next api.TokenResponse
		res.decode(t, &next)
		require.NotEqual(t, tok.RefreshToken, next.RefreshToken)
		u, err := url.Parse(b.url + "/api/v1/auth/refresh")
		require.NoError(t, err)
		newCSRF := ""
		for _, c := range jar.Cookies(u) {
			switch c.Name {
			case "wc_refresh":
				require.Equal(t, next.RefreshToken, c.Value, "the cookie follows the rotation")
			case "wc_csrf":
				newCSRF = c.Value
			}
		}
		require.NotEmpty(t, newCSRF)

		// Logout from the cookie: CSRF required, then every cookie expires.
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/logout", client: browser})
		require.Equal(t, http.StatusForbidden, res.status)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/logout", client: browser,
			header: map[string]string{"X-CSRF-Token": newCSRF}})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Empty(t, jar.Cookies(u), "logout expires the cookies")
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/me", token: next.AccessToken}).status)
	})
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	b := setup(t, db, api.Config{PublicURL: "https://wc.example"})
	res := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"tenant": "springfield", "email": b.d.Admin.Email, "password": storetest.SeedPassword}})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	cookies := (&http.Response{Header: res.header}).Cookies()
	require.Len(t, cookies, 3)
	for _, c := range cookies {
		require.True(t, c.Secure, c.Name)
	}
	require.Contains(t, res.header.Get("Strict-Transport-Security"), "max-age=")
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		attempt := func(tenant, email, password string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"tenant": tenant, "email": email, "password": password}})
		}
		wrongPassword := attempt("springfield", b.d.LincolnNurse.Email, "not the password")
		require.Equal(t, http.StatusUnauthorized, wrongPassword.status)
		p := wrongPassword.problem(t)
		require.NotEmpty(t, p.Detail)
		for name, res := range map[string]*response{
			"unknown tenant":   attempt("nowhere", b.d.LincolnNurse.Email, storetest.SeedPassword),
			"unknown user":     attempt("springfield", "nobody@springfield.example", storetest.SeedPassword),
			"other tenant":     attempt("shelbyville", b.d.LincolnNurse.Email, storetest.SeedPassword),
			"deactivated user": attempt("springfield", b.d.FormerStaff.Email, storetest.SeedPassword),
		} {
			require.Equal(t, http.StatusUnauthorized, res.status, name)
			require.Equal(t, string(wrongPassword.body), string(res.body), name)
			require.Empty(t, res.header.Values("Set-Cookie"), name)
		}
	})
}

func TestLoginLockoutIs429WithRetryAfter(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		var res *response
		for i := 0; i < 10; i++ {
			res = b.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"tenant": "springfield", "email": b.d.LincolnStaff.Email, "password": "wrong password"}})
			if res.status != http.StatusUnauthorized {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s", res.body)
		res.problem(t)
		secs, err := strconv.Atoi(res.header.Get("Retry-After"))
		require.NoError(t, err)
		require.Positive(t, secs)
		// The right password does not get through a lockout either.
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": "springfield", "email": b.d.LincolnStaff.Email, "password": storetest.SeedPassword}})
		require.Equal(t, http.StatusTooManyRequests, res.status)
	})
}

func TestJWKSVerifiesAccessToken(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		res := b.do(t, req{method: "GET", path: "/.well-known/jwks.json"})
		require.Equal(t, http.StatusOK, res.status)
		var set struct {
			Keys []struct {
				Kty, Crv, X, Kid string
			} `json:"keys"`
		}
		res.decode(t, &set)
		require.NotEmpty(t, set.Keys)
		keys := map[string]ed25519.PublicKey{}
		for _, k := range set.Keys {
			require.Equal(t, "OKP", k.Kty)
			require.Equal(t, "Ed25519", k.Crv)
			x, err := base64.RawURLEncoding.DecodeString(k.X)
			require.NoError(t, err)
			keys[k.Kid] = ed25519.PublicKey(x)
		}

		access := b.token(t, b.d, b.d.Admin)
		claims := jwt.MapClaims{}
		parsed, err := jwt.ParseWithClaims(access, claims, func(tok *jwt.Token) (any, error) {
			kid, _ := tok.Header["kid"].(string)
			k, ok := keys[kid]
			require.True(t, ok, "kid %q is in the JWKS", kid)
			return k, nil
		}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired())
		require.NoError(t, err)
		require.True(t, parsed.Valid)
		require.Equal(t, b.d.Admin.ID, claims["sub"])
	})
}

// gatedHasher is the test hasher, except that a verification waits at the
// gate (announcing itself on entered) while the gate is closed.
type gatedHasher struct {
	whitecross.PasswordHasher
	entered chan struct{}
	gate    chan struct{}
}

func (h *gatedHasher) VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	h.entered <- struct{}{}
	<-h.gate
	return h.PasswordHasher.VerifyPassword(ctx, hash, password)
}

// TestLoginWhenHashingIsBusyIs503WithRetryAfter: with every hashing slot
// taken, a sign-in is answered 503 with Retry-After as a problem, and is
// not counted against the account.
func TestLoginWhenHashingIsBusyIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		gated := &gatedHasher{PasswordHasher: storetest.InsecureHasher(), entered: make(chan struct{}, 10), gate: make(chan struct{})}
		b := setup(t, db, api.Config{}, func(d *api.Deps) {
			st := d.Users.(*store.Store)
			keys, err := auth.LoadKeyring(context.Background(), st, nil)
			require.NoError(t, err)
			d.Auth = auth.NewService(auth.DefaultConfig(publicURL), auth.Deps{
				Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
				Hasher: auth.NewBoundedHasher(gated, 1, time.Nanosecond), Keys: keys,
			})
		})
		login := func(password string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"tenant": "springfield", "email": b.d.LincolnStaff.Email, "password": password}})
		}
		var open sync.Once
		openGate := func() { open.Do(func() { close(gated.gate) }) }
		t.Cleanup(openGate) // before the server closes, even when the test fails
		held := make(chan *response, 1)
		go func() { held <- login(storetest.SeedPassword) }()
		<-gated.entered // it holds the only slot
		for range 6 {
			res := login("wrong password")
			require.Equal(t, http.StatusServiceUnavailable, res.status, "%s", res.body)
			p := res.problem(t)
			require.Contains(t, p.Detail, "busy")
			secs, err := strconv.Atoi(res.header.Get("Retry-After"))
			require.NoError(t, err)
			require.Positive(t, secs)
		}
		openGate()
		require.Equal(t, http.StatusOK, (<-held).status, "the sign-in holding the slot completes")
		require.Equal(t, http.StatusOK, login(storetest.SeedPassword).status, "busy answers did not lock the account")
	})
}
