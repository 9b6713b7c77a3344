package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/internal/testutil"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		for _, path := range []string{"/healthz", "/readyz"} {
			res := b.do(t, req{method: "GET", path: path})
			require.Equal(t, http.StatusOK, res.status, path)
			require.JSONEq(t, `{"status":"ok"}`, string(res.body), path)
		}
	})
}

type pinger func(context.Context) error

func (p pinger) Ping(ctx context.Context) error { return p(ctx) }

func TestReadinessNamesWhatIsDown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.New(api.Config{}, api.Deps{Ready: map[string]whitecross.Pinger{
		"database": pinger(func(context.Context) error { return nil }),
		"queue":    pinger(func(context.Context) error { return errors.New("dial tcp 10.0.0.5:5432: refused") }),
		// Each ping gets a deadline, so a hanging dependency cannot hang /readyz.
		"broker": pinger(func(ctx context.Context) error {
			if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > 2*time.Second {
				return nil
			}
			return context.DeadlineExceeded
		}),
	}}))
	t.Cleanup(srv.Close)
	b := &bundle{url: srv.URL}
	res := b.do(t, req{method: "GET", path: "/readyz"})
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	p := res.problem(t)
	require.Equal(t, "Not ready: broker, queue.", p.Detail)
	require.Len(t, p.Errors, 2)
	require.NotContains(t, string(res.body), "10.0.0.5", "ping errors stay in the log")
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.New(api.Config{}, api.Deps{}))
	t.Cleanup(srv.Close)
	b := &bundle{url: srv.URL}
	for _, q := range []req{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/api/docs"},
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/nowhere"},
		{method: "DELETE", path: "/api/v1/groups"},
	} {
		res := b.do(t, q)
		require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), q.path)
		require.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"), q.path)
		require.Equal(t, "DENY", res.header.Get("X-Frame-Options"), q.path)
		require.True(t, strings.HasPrefix(res.header.Get("Content-Security-Policy"), "default-src 'self'"), q.path)
		require.Len(t, res.header.Get("X-Request-Id"), 32, q.path)
		if strings.HasPrefix(q.path, "/api/") {
			require.Equal(t, "no-store", res.header.Get("Cache-Control"), q.path)
		}
	}
	res := b.do(t, req{method: "DELETE", path: "/api/v1/groups"})
	require.Equal(t, http.StatusMethodNotAllowed, res.status)
	require.Contains(t, res.header.Get("Allow"), "GET")
	res.problem(t)
}

// TestRequestLog: one JSON line per request with the route pattern and the
// caller, and none of the request's content.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		tok := b.login(t, b.d, b.d.LincolnNurse)
		res := b.do(t, req{method: "GET", path: "/api/v1/users/" + b.d.LincolnStaff.ID + "?q=secret-query", token: tok.AccessToken})
		require.Equal(t, http.StatusOK, res.status)
		requestID := res.header.Get("X-Request-Id")

		logs := b.logs.String()
		var found map[string]any
		lines := 0
		sc := bufio.NewScanner(strings.NewReader(logs))
		for sc.Scan() {
			lines++
			var line map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
			if line["request_id"] == requestID {
				found = line
			}
		}
		require.Equal(t, 2, lines, "one line per request: %s", logs)
		require.NotNil(t, found, logs)
		require.Equal(t, "GET", found["method"])
		require.Equal(t, "/api/v1/users/{id}", found["route"])
		require.EqualValues(t, 200, found["status"])
		require.Contains(t, found, "duration_ms")
		require.Equal(t, b.d.LincolnNurse.ID, found["user_id"])
		require.Equal(t, b.d.Tenant.ID, found["tenant_id"])

		for _, secret := range []string{b.d.LincolnNurse.Email, b.d.LincolnStaff.ID, "secret-query", tok.AccessToken,
			tok.RefreshToken, b.d.LincolnNurse.Name, "springfield"} {
			require.NotContains(t, logs, secret)
		}
		require.Contains(t, logs, `"route":"/api/v1/auth/login"`)
	})
}

// TestInternalErrorsAreGeneric: an uncoded error is a 500 that says
// nothing, and the log has the detail with the request id.
func TestInternalErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	logs := &testutil.SyncBuffer{}
	srv := httptest.NewServer(api.New(api.Config{}, api.Deps{
		Auth:   failingAuth{},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	}))
	t.Cleanup(srv.Close)
	b := &bundle{url: srv.URL}
	res := b.do(t, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"tenant": "a", "email": "b", "password": "c"}})
	require.Equal(t, http.StatusInternalServerError, res.status)
	p := res.problem(t)
	require.Equal(t, "Internal error.", p.Detail)
	require.NotContains(t, string(res.body), "db exploded")
	require.Contains(t, logs.String(), "db exploded")
	require.Contains(t, logs.String(), res.header.Get("X-Request-Id"))
}

type failingAuth struct{ whitecross.AuthService }

func (failingAuth) Login(context.Context, whitecross.LoginRequest) (*whitecross.TokenPair, *whitecross.User, error) {
	return nil, nil, errors.New("db exploded at 10.0.0.5")
}
