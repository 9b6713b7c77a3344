package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/internal/testutil"
	"whitecross/netguard"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// publicURL is the server's configured URL in tests; httptest picks its own
// address, so Origin checks compare against this.
const publicURL = "http://localhost:8080"

// bundle is one API server on a fresh database with two seeded districts.
type bundle struct {
	url   string
	db    *store.DB
	st    *store.Store
	deps  api.Deps
	d     *storetest.District // "springfield"
	other *storetest.District // "shelbyville", the other tenant
	logs  *testutil.SyncBuffer
}

// setup serves the real API (store, auth, vault) on db. Passwords use the
// store's fast test hasher: auth offers no cheaper argon2id setting, and
// the API does not depend on the hash. Each of with may change the deps
// before the server starts; the API's clock is db.Now.
func setup(t *testing.T, db *store.DB, cfg api.Config, with ...func(*api.Deps)) *bundle {
	t.Helper()
	ctx := context.Background()
	masterKey := make([]byte, 32)
	_, _ = rand.Read(masterKey)
	v, err := vault.New(masterKey)
	require.NoError(t, err)
	hasher := storetest.InsecureHasher()
	st := store.New(db, hasher, v)
	st.SetPushGuard(netguard.Guard{Resolver: storetest.TestResolver{}})
	keys, err := auth.LoadKeyring(ctx, st, nil)
	require.NoError(t, err)
	authSvc := auth.NewService(auth.DefaultConfig(publicURL), auth.Deps{
		Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
		Hasher: hasher, Signin: st, MFA: st, Keys: keys,
	})
	logs := &testutil.SyncBuffer{}
	deps := api.Deps{
		Auth: authSvc, Tenants: st, Users: st, Locations: st, Students: st, Groups: st, Messages: st, Audiences: st, Reports: st, Acks: st,
		DeadLetters: st, Audit: st, LegalHolds: st, TenantSettings: st, DataKeys: st, Push: st, Callbacks: &delivery.Callbacks{Store: st}, Now: db.Now, Roster: st,
		JWKS:   keys.JWKS,
		Ready:  map[string]whitecross.Pinger{"database": db},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	}
	for _, w := range with {
		w(&deps)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURL
	}
	srv := httptest.NewServer(api.New(cfg, deps))
	t.Cleanup(srv.Close)
	return &bundle{
		url: srv.URL, db: db, st: st, deps: deps, logs: logs,
		d:     storetest.SeedDistrict(t, st),
		other: storetest.SeedDistrictSlug(t, st, "shelbyville"),
	}
}

// forEachDialect runs fn on a fresh bundle per dialect, in parallel.
func forEachDialect(t *testing.T, fn func(t *testing.T, b *bundle)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		fn(t, setup(t, db, api.Config{}))
	})
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// problem decodes an RFC 9457 body, checking its content type and status.
func (r *response) problem(t *testing.T) problemBody {
	t.Helper()
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), "body: %s", r.body)
	var p problemBody
	r.decode(t, &p)
	require.Equal(t, r.status, p.Status)
	require.NotEmpty(t, p.Title)
	return p
}

type problemBody struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// req describes a request: a body that is a string or []byte is sent as
// is, anything else as JSON.
type req struct {
	method, path string
	token        string // bearer
	body         any
	header       map[string]string
	client       *http.Client
}

func (b *bundle) do(t *testing.T, q req) *response {
	t.Helper()
	var body io.Reader
	switch v := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	case []byte:
		body = bytes.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		body = bytes.NewReader(raw)
	}
	r, err := http.NewRequest(q.method, b.url+q.path, body)
	require.NoError(t, err)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	client := q.client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(r)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return &response{status: res.StatusCode, header: res.Header, body: raw}
}

// login signs u of district d in over HTTP and returns the token response.
func (b *bundle) login(t *testing.T, d *storetest.District, u *whitecross.User) api.TokenResponse {
	t.Helper()
	res := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"tenant": d.Tenant.Slug, "email": u.Email, "password": storetest.SeedPassword}})
	require.Equal(t, http.StatusOK, res.status, "login %s: %s", u.Email, res.body)
	var tok api.TokenResponse
	res.decode(t, &tok)
	return tok
}

// token signs u in and returns the access token.
func (b *bundle) token(t *testing.T, d *storetest.District, u *whitecross.User) string {
	t.Helper()
	return b.login(t, d, u).AccessToken
}
