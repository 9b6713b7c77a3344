package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestBadInputIsAClearProblem: bad requests get the right 4xx as
// problem+json naming the field, never a 500.
func TestBadInputIsAClearProblem(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		user := "/api/v1/users/" + b.d.LincolnStaff.ID
		big := `{"name":"` + strings.Repeat("a", api.DefaultMaxBodyBytes) + `","member_ids":[]}`
		cases := []struct {
			name     string
			q        req
			status   int
			location string // errors[0].location, when the problem names a field
		}{
			{"malformed JSON", req{method: "POST", path: "/api/v1/groups", body: `{"name": "x",`}, 400, "body"},
			{"malformed JSON at login", req{method: "POST", path: "/api/v1/auth/login", body: `{"tenant"`}, 400, "body"},
			{"JSON of the wrong type", req{method: "POST", path: "/api/v1/groups", body: `{"name": 5, "member_ids": []}`}, 422, "body.name"},
			{"unknown field", req{method: "POST", path: "/api/v1/groups", body: `{"name": "x", "member_ids": [], "owner": "me"}`}, 422, "body.owner"},
			{"field in the wrong case", req{method: "POST", path: "/api/v1/locations", body: `{"Name": "x", "kind": "SCHOOL"}`}, 422, ""},
			{"email cannot be patched", req{method: "PATCH", path: user, body: `{"email": "new@springfield.example"}`}, 422, "body.email"},
			{"missing required field", req{method: "POST", path: "/api/v1/groups", body: `{"member_ids": []}`}, 422, "body.name"},
			{"bad email", req{method: "POST", path: "/api/v1/users", body: `{"email": "not-an-email", "name": "X", "role": "STAFF"}`}, 422, "body.email"},
			{"bad role", req{method: "POST", path: "/api/v1/users", body: `{"email": "x@springfield.example", "name": "X", "role": "OWNER"}`}, 422, "body.role"},
			{"bad kind", req{method: "POST", path: "/api/v1/locations", body: `{"name": "x", "kind": "COUNTY"}`}, 422, "body.kind"},
			{"domain validation", req{method: "POST", path: "/api/v1/users", body: `{"email": "x@springfield.example", "name": "X", "role": "STAFF", "phone": "555"}`}, 422, "body.phone"},
			{"password on a user", req{method: "PATCH", path: user, body: `{"password": "short"}`}, 403, "body.password"},
			{"new password too long", req{method: "PUT", path: "/api/v1/me/password",
				body: `{"current_password": "x", "new_password": "` + strings.Repeat("p", 129) + `"}`}, 422, "body.new_password"},
			{"too large", req{method: "POST", path: "/api/v1/groups", body: big}, 413, ""},
			{"wrong content type", req{method: "POST", path: "/api/v1/groups", body: `{"name": "x", "member_ids": []}`,
				header: map[string]string{"Content-Type": "text/plain"}}, 415, ""},
			{"form post", req{method: "POST", path: "/api/v1/auth/login", body: `tenant=a&email=b&password=c`,
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, ""},
			{"empty body", req{method: "POST", path: "/api/v1/groups", body: ``}, 400, ""},
			{"unknown route", req{method: "GET", path: "/api/v1/nothing"}, 404, ""},
			{"wrong method", req{method: "PUT", path: "/api/v1/groups"}, 405, ""},
		}
		for _, c := range cases {
			c.q.token = admin
			res := b.do(t, c.q)
			require.Equal(t, c.status, res.status, "%s: %s", c.name, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Detail, c.name)
			if c.location != "" {
				require.NotEmpty(t, p.Errors, c.name)
				require.Equal(t, c.location, p.Errors[0].Location, "%s: %s", c.name, res.body)
			}
			require.NotContains(t, string(res.body), "short", "%s: passwords are never echoed", c.name)
		}

		// The staff member was not changed by any of it.
		var staff api.User
		b.do(t, req{method: "GET", path: user, token: admin}).decode(t, &staff)
		require.Equal(t, b.d.LincolnStaff.Email, staff.Email)
	})
}

// TestBodyLimitBoundary: a body of exactly MaxBodyBytes is read; one byte
// more is 413, whether declared by Content-Length or streamed.
func TestBodyLimitBoundary(t *testing.T) {
	t.Parallel()
	const limit = 1024
	b := setup(t, storetest.Open(t, store.SQLite), api.Config{MaxBodyBytes: limit})
	admin := b.token(t, b.d, b.d.Admin)
	body := func(n int) string {
		head, tail := `{"name":"x","member_ids":["`+b.d.LincolnNurse.ID+`"]`, `}`
		return head + strings.Repeat(" ", n-len(head)-len(tail)) + tail
	}
	res := b.do(t, req{method: "POST", path: "/api/v1/groups", token: admin, body: body(limit)})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	res = b.do(t, req{method: "POST", path: "/api/v1/groups", token: admin, body: body(limit + 1)})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	require.Contains(t, res.problem(t).Detail, "1024")

	// Chunked: no Content-Length, so huma's own limit answers.
	r, err := http.NewRequest("POST", b.url+"/api/v1/groups", io.MultiReader(strings.NewReader(body(limit+1))))
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+admin)
	r.Header.Set("Content-Type", "application/json")
	hres, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	hres.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, hres.StatusCode)
}
