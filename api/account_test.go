package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store/storetest"
)

// TestUpdateMe: PATCH /api/v1/me changes the caller's own name, language,
// time zone and phone, each optional, validated at the edge with a problem
// naming the field; email and role are not the caller's to change.
func TestUpdateMe(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		parent := b.token(t, d, d.LincolnParent)
		patch := func(body any) *response {
			return b.do(t, req{method: "PATCH", path: "/api/v1/me", token: parent, body: body})
		}
		res := patch(map[string]any{"name": "Pat Parent-Renamed", "locale": "es-MX", "timezone": "America/Denver", "phone": "+15557654321"})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var u api.User
		res.decode(t, &u)
		require.Equal(t, d.LincolnParent.ID, u.ID)
		require.Equal(t, "Pat Parent-Renamed", u.Name)
		require.Equal(t, "es-MX", u.Locale)
		require.Equal(t, "America/Denver", u.Timezone)
		require.Equal(t, "+15557654321", u.Phone)
		require.Equal(t, d.LincolnParent.Email, u.Email)

		res = patch(map[string]any{"phone": ""})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &u)
		require.Empty(t, u.Phone)
		require.Equal(t, "Pat Parent-Renamed", u.Name, "fields left out keep their values")

		for _, tc := range []struct {
			body     map[string]any
			location string
		}{
			{map[string]any{"name": ""}, "body.name"},
			{map[string]any{"name": "   "}, "body.name"},
			{map[string]any{"name": strings.Repeat("x", 201)}, "body.name"},
			{map[string]any{"locale": "Spanish"}, "body.locale"},
			{map[string]any{"timezone": "Mars/Olympus"}, "body.timezone"},
			{map[string]any{"phone": "555-1234"}, "body.phone"},
			{map[string]any{"phone": "+1555123456789012"}, "body.phone"},
			{map[string]any{"email": "new@example.org"}, "body.email"},
			{map[string]any{"role": "ADMIN"}, "body.role"},
		} {
			res := patch(tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", tc.body, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors)
			require.Equal(t, tc.location, p.Errors[0].Location, "%v: %s", tc.body, res.body)
		}
		res = b.do(t, req{method: "GET", path: "/api/v1/me", token: parent})
		res.decode(t, &u)
		require.Equal(t, "Pat Parent-Renamed", u.Name, "refused changes store nothing")
		require.Equal(t, whitecross.RoleGuardian, whitecross.Role(u.Role))

		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "PATCH", path: "/api/v1/me", body: map[string]any{"name": "x"}}).status)
	})
}

// TestIdleTimeoutSetting: idle_timeout_minutes is 30 unless set, 0 to 720,
// an ADMIN's to change.
func TestIdleTimeoutSetting(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		admin := b.token(t, d, d.Admin)
		patch := func(token string, v any) *response {
			return b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: token, body: map[string]any{"settings": map[string]any{"idle_timeout_minutes": v}}})
		}
		minutes := func(res *response) int {
			t.Helper()
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var out api.Tenant
			res.decode(t, &out)
			return out.Settings.IdleTimeoutMinutes
		}
		require.Equal(t, 30, minutes(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: admin})), "the default")
		require.Equal(t, 10, minutes(patch(admin, 10)))
		require.Equal(t, 0, minutes(patch(admin, 0)), "0 is off, not the default")
		require.Equal(t, 0, minutes(b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin,
			body: map[string]any{"settings": map[string]any{"retention_days": 5}}})), "left out, kept")
		for _, v := range []any{-1, 721, "ten", 1.5} {
			res := patch(admin, v)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", v, res.body)
			require.Equal(t, "body.settings.idle_timeout_minutes", res.problem(t).Errors[0].Location)
		}
		require.Equal(t, http.StatusForbidden, patch(b.token(t, d, d.LincolnNurse), 60).status)
		require.Equal(t, 0, minutes(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: admin})), "refused changes store nothing")
	})
}

// TestIdleSessionIsSignedOut: a nurse's session unused past the district's
// timeout is refused on the next request and its refresh token is dead; a
// guardian's is not timed out; a session in use stays.
func TestIdleSessionIsSignedOut(t *testing.T) {
	t.Parallel()
	forEachDialectAt(t, func(t *testing.T, b *bundle, clock *storetest.Clock) {
		d := b.d
		admin := b.token(t, d, d.Admin)
		res := b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin, body: map[string]any{"settings": map[string]any{"idle_timeout_minutes": 5}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		nurse := b.login(t, d, d.LincolnNurse)
		parent := b.login(t, d, d.LincolnParent)
		me := func(token string) int {
			return b.do(t, req{method: "GET", path: "/api/v1/me", token: token}).status
		}
		for range 3 {
			clock.Advance(4 * time.Minute)
			require.Equal(t, http.StatusOK, me(nurse.AccessToken), "in use, it stays")
		}
		clock.Advance(7 * time.Minute) // 5, and 2 of grace (whitecross.IdleAfter)
		require.Equal(t, http.StatusUnauthorized, me(nurse.AccessToken))
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": nurse.RefreshToken}})
		require.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
		require.Equal(t, http.StatusOK, me(parent.AccessToken), "guardians are not timed out")
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": parent.RefreshToken}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, http.StatusUnauthorized, me(admin), "the admin who set it 19 minutes ago and walked away is signed out too")
	})
}
