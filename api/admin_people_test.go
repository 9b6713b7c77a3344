package api_test

// The administrators' People and Locations pages' API: the listing of the
// people one administers, reactivation and renaming a location.

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
)

// personNames lists the names of a page of people.
func personNames(p api.UserPage) []string {
	out := []string{}
	for _, u := range p.Items {
		out = append(out, u.Name)
	}
	return out
}

// TestListPeople: an ADMIN lists the whole district, deactivated people
// with deactivated_at; a SCHOOL_ADMIN their school only; others 403; a bad
// status 422 naming it.
func TestListPeople(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		principal := b.token(t, b.d, b.d.WashingtonAdmin)
		list := func(token, query string) (int, api.UserPage) {
			t.Helper()
			res := b.do(t, req{method: "GET", path: "/api/v1/admin/users?" + query, token: token})
			var page api.UserPage
			if res.status == http.StatusOK {
				res.decode(t, &page)
			} else {
				res.problem(t)
			}
			return res.status, page
		}

		status, page := list(admin, "status=deactivated")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, []string{b.d.FormerStaff.Name}, personNames(page))
		require.NotNil(t, page.Items[0].DeactivatedAt)
		status, page = list(admin, "limit=100")
		require.Equal(t, http.StatusOK, status)
		require.Len(t, page.Items, len(b.d.Users()), "everyone of the district, FormerStaff too, nobody of another")
		require.Nil(t, page.NextCursor)

		status, page = list(principal, "")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, []string{b.d.WashingtonAdmin.Name, b.d.WashingtonParent.Name, b.d.WashingtonNurse.Name}, personNames(page))
		status, page = list(principal, "location_id="+url.QueryEscape(b.d.Lincoln.ID))
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, page.Items, "another school's people stay hidden")

		for _, u := range []*whitecross.User{b.d.LincolnNurse, b.d.LincolnParent} {
			status, _ = list(b.token(t, b.d, u), "")
			require.Equal(t, http.StatusForbidden, status)
		}
		res := b.do(t, req{method: "GET", path: "/api/v1/admin/users?status=gone", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		require.Equal(t, "query.status", res.problem(t).Errors[0].Location)
	})
}

// TestReactivateUser: the principal reactivates a deactivated teacher of
// their school, who signs in again; another school's principal gets 404,
// a nurse 403 for someone she can see.
func TestReactivateUser(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		path := "/api/v1/users/" + b.d.FormerStaff.ID + "/reactivate"
		res := b.do(t, req{method: "POST", path: path, token: b.token(t, b.d, b.d.WashingtonAdmin)})
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		res = b.do(t, req{method: "POST", path: path, token: b.token(t, b.other, b.other.Admin)})
		require.Equal(t, http.StatusNotFound, res.status, "another district: %s", res.body)
		res = b.do(t, req{method: "POST", path: "/api/v1/users/" + b.d.LincolnStaff.ID + "/reactivate", token: b.token(t, b.d, b.d.LincolnNurse)})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res.problem(t)

		res = b.do(t, req{method: "POST", path: path, token: b.token(t, b.d, b.d.LincolnAdmin)})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var u api.User
		res.decode(t, &u)
		require.Nil(t, u.DeactivatedAt)
		require.NotContains(t, string(res.body), "deactivated_at")
		b.token(t, b.d, b.d.FormerStaff) // signs in again
	})
}

// TestRenameLocation: an ADMIN renames a school; a SCHOOL_ADMIN renames
// their campus but not another school (403) nor another district's (404).
func TestRenameLocation(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		principal := b.token(t, b.d, b.d.LincolnAdmin)
		rename := func(token, id, name string) *response {
			t.Helper()
			return b.do(t, req{method: "PATCH", path: "/api/v1/locations/" + id, token: token, body: map[string]any{"name": name}})
		}
		res := rename(principal, b.d.Annex.ID, "Lincoln North")
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var l api.Location
		res.decode(t, &l)
		require.Equal(t, "Lincoln North", l.Name)
		require.Equal(t, "CAMPUS", l.Kind)

		res = rename(principal, b.d.Washington.ID, "Taken")
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res.problem(t)
		res = rename(principal, b.other.Lincoln.ID, "Taken")
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		res = rename(b.token(t, b.d, b.d.Admin), b.d.Washington.ID, "")
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		require.Equal(t, "body.name", res.problem(t).Errors[0].Location)

		res = rename(b.token(t, b.d, b.d.Admin), b.d.Washington.ID, "Washington Middle School")
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var locs api.LocationList
		b.do(t, req{method: "GET", path: "/api/v1/locations", token: principal}).decode(t, &locs)
		got := map[string]string{}
		for _, l := range locs.Items {
			got[l.ID] = l.Name
		}
		require.Equal(t, "Washington Middle School", got[b.d.Washington.ID])
		require.Equal(t, "Lincoln North", got[b.d.Annex.ID])
	})
}
