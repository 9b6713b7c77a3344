package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store/storetest"
)

func TestDirectoryFlows(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)

		res := b.do(t, req{method: "POST", path: "/api/v1/locations", token: admin,
			body: map[string]any{"name": "Jefferson High", "kind": "SCHOOL", "parent_id": b.d.District.ID}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var school api.Location
		res.decode(t, &school)
		require.NotEmpty(t, school.ID)
		require.Equal(t, "SCHOOL", school.Kind)
		require.Equal(t, b.d.District.ID, *school.ParentID)

		res = b.do(t, req{method: "POST", path: "/api/v1/locations", token: admin,
			body: map[string]any{"name": "Second District", "kind": "DISTRICT", "parent_id": nil}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		require.Contains(t, string(res.body), `"parent_id":null`)

		res = b.do(t, req{method: "GET", path: "/api/v1/locations", token: admin})
		require.Equal(t, http.StatusOK, res.status)
		var locs api.LocationList
		res.decode(t, &locs)
		require.Len(t, locs.Items, 6)

		newNurse := map[string]any{"email": "jo@springfield.example", "name": "Jo Jefferson-Nurse", "role": "NURSE",
			"phone": "+15551234567", "location_ids": []string{school.ID}}
		res = b.do(t, req{method: "POST", path: "/api/v1/users", token: admin, body: newNurse})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var jo api.User
		res.decode(t, &jo)
		require.Equal(t, "NURSE", jo.Role)
		require.Equal(t, []string{school.ID}, jo.LocationIDs)
		require.Equal(t, b.d.Tenant.ID, jo.TenantID)
		require.NotContains(t, string(res.body), "password")
		// The operator (the system) gives the new nurse a first password.
		require.NoError(t, b.deps.Users.SetPassword(whitecross.SystemContext(context.Background(), b.d.Tenant.ID), jo.ID, storetest.SeedPassword))

		res = b.do(t, req{method: "POST", path: "/api/v1/users", token: admin, body: newNurse})
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		res.problem(t)

		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + jo.ID, token: admin, body: map[string]any{"name": "Jo Jefferson"}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var patched api.User
		res.decode(t, &patched)
		require.Equal(t, "Jo Jefferson", patched.Name)
		require.Equal(t, "+15551234567", patched.Phone, "fields not sent stay")

		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/users/" + jo.ID, token: admin}).status)
		joUser := &whitecross.User{Email: jo.Email}
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", token: b.token(t, b.d, joUser)}).status)

		// Deactivation: 204, then no sign-in and no directory entry.
		res = b.do(t, req{method: "DELETE", path: "/api/v1/users/" + jo.ID, token: admin})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Empty(t, res.body)
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": "springfield", "email": jo.Email, "password": storetest.SeedPassword}})
		require.Equal(t, http.StatusUnauthorized, res.status)

		// Students and groups.
		res = b.do(t, req{method: "POST", path: "/api/v1/students", token: admin, body: map[string]any{
			"name": "Kim Kindergarten", "location_id": b.d.Lincoln.ID, "grade": "K",
			"guardians": []map[string]any{{"user_id": b.d.LincolnParent.ID, "custody": true}}}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var kim api.Student
		res.decode(t, &kim)
		require.Equal(t, "K", kim.Grade)
		require.Equal(t, []api.Guardian{{UserID: b.d.LincolnParent.ID, Custody: true}}, kim.Guardians)
		res = b.do(t, req{method: "GET", path: "/api/v1/students/" + kim.ID, token: admin})
		require.Equal(t, http.StatusOK, res.status)
		res = b.do(t, req{method: "GET", path: "/api/v1/students", token: admin})
		var students api.StudentList
		res.decode(t, &students)
		require.Len(t, students.Items, 4)

		res = b.do(t, req{method: "POST", path: "/api/v1/groups", token: admin,
			body: map[string]any{"name": "Lincoln health team", "member_ids": []string{b.d.LincolnNurse.ID, b.d.LincolnStaff.ID}}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var group api.Group
		res.decode(t, &group)
		require.ElementsMatch(t, []string{b.d.LincolnNurse.ID, b.d.LincolnStaff.ID}, group.MemberIDs)
		require.Equal(t, b.d.Admin.ID, group.CreatedBy)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/groups/" + group.ID, token: admin}).status)
		var groups api.GroupList
		b.do(t, req{method: "GET", path: "/api/v1/groups", token: admin}).decode(t, &groups)
		require.Len(t, groups.Items, 1)
	})
}

func TestListUsersFiltersAndPages(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		list := func(query string) api.UserPage {
			t.Helper()
			res := b.do(t, req{method: "GET", path: "/api/v1/users" + query, token: admin})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var page api.UserPage
			res.decode(t, &page)
			return page
		}
		nurses := list("?role=nurse")
		require.Len(t, nurses.Items, 3) // district, Lincoln, Washington
		require.Nil(t, nurses.NextCursor)
		for _, u := range nurses.Items {
			require.Equal(t, "NURSE", u.Role)
		}
		require.Equal(t, nurses, list("?role=NURSE"), "enum values are case-insensitive in queries")

		// Walk the whole directory two at a time.
		seen := map[string]bool{}
		query := "?limit=2"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20, "paging must end")
			page := list(query)
			require.LessOrEqual(t, len(page.Items), 2)
			for _, u := range page.Items {
				require.False(t, seen[u.ID], "user %s listed twice", u.ID)
				seen[u.ID] = true
			}
			if page.NextCursor == nil {
				break
			}
			query = "?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		// Everyone active but the admin themself: 13 seeded, 1 deactivated.
		require.Len(t, seen, 11)
		require.False(t, seen[b.d.FormerStaff.ID])
		require.False(t, seen[b.other.Admin.ID])

		res := b.do(t, req{method: "GET", path: "/api/v1/users?role=janitor", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.role", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "GET", path: "/api/v1/users?limit=0", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.limit", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "GET", path: "/api/v1/users?limit=101", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
	})
}

// TestCrossTenantMatrix: every id of another district is "not found",
// whether in the path or inside a body, and a refused request stores nothing.
func TestCrossTenantMatrix(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		o := b.other
		otherGroup := &whitecross.Group{Name: "Shelbyville nurses", MemberIDs: []string{o.LincolnNurse.ID}}
		require.NoError(t, o.Store.CreateGroup(o.As(o.Admin), otherGroup))

		for _, q := range []req{
			{method: "GET", path: "/api/v1/users/" + o.LincolnNurse.ID},
			{method: "PATCH", path: "/api/v1/users/" + o.LincolnNurse.ID, body: map[string]any{"name": "Hijacked"}},
			{method: "DELETE", path: "/api/v1/users/" + o.LincolnNurse.ID},
			{method: "GET", path: "/api/v1/users/" + o.Admin.ID},
			{method: "GET", path: "/api/v1/students/" + o.LincolnStudent.ID},
			{method: "GET", path: "/api/v1/groups/" + otherGroup.ID},
			{method: "GET", path: "/api/v1/users/not-a-uuid"},
		} {
			q.token = admin
			res := b.do(t, q)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", q.method, q.path, res.body)
			res.problem(t)
		}
		// The other district's nurse is untouched and still signs in.
		nurse, err := o.Store.FindUserByID(o.System(), o.LincolnNurse.ID)
		require.NoError(t, err)
		require.Equal(t, o.LincolnNurse.Name, nurse.Name)
		require.True(t, nurse.Active())
		b.token(t, o, o.LincolnNurse)

		for _, q := range []req{
			{method: "POST", path: "/api/v1/locations", body: map[string]any{"name": "Trojan Campus", "kind": "CAMPUS", "parent_id": o.Lincoln.ID}},
			{method: "POST", path: "/api/v1/users", body: map[string]any{"email": "trojan@springfield.example", "name": "Trojan",
				"role": "STAFF", "location_ids": []string{o.Lincoln.ID}}},
			{method: "POST", path: "/api/v1/students", body: map[string]any{"name": "Trojan Student", "location_id": o.Lincoln.ID, "grade": "3"}},
			{method: "POST", path: "/api/v1/students", body: map[string]any{"name": "Trojan Student", "location_id": b.d.Lincoln.ID,
				"grade": "3", "guardians": []map[string]any{{"user_id": o.LincolnParent.ID, "custody": true}}}},
			{method: "POST", path: "/api/v1/groups", body: map[string]any{"name": "Trojan Group", "member_ids": []string{o.LincolnNurse.ID}}},
			{method: "PATCH", path: "/api/v1/users/" + b.d.LincolnStaff.ID, body: map[string]any{"location_ids": []string{o.Lincoln.ID}}},
		} {
			q.token = admin
			res := b.do(t, q)
			require.True(t, res.status >= 400 && res.status < 500, "%s %s: %d %s", q.method, q.path, res.status, res.body)
			res.problem(t)
		}

		// Nothing was stored.
		var locs api.LocationList
		b.do(t, req{method: "GET", path: "/api/v1/locations", token: admin}).decode(t, &locs)
		require.Len(t, locs.Items, 4)
		var users api.UserPage
		b.do(t, req{method: "GET", path: "/api/v1/users?q=trojan", token: admin}).decode(t, &users)
		require.Empty(t, users.Items)
		var students api.StudentList
		b.do(t, req{method: "GET", path: "/api/v1/students", token: admin}).decode(t, &students)
		require.Len(t, students.Items, 3)
		var groups api.GroupList
		b.do(t, req{method: "GET", path: "/api/v1/groups", token: admin}).decode(t, &groups)
		require.Empty(t, groups.Items)
		var staff api.User
		b.do(t, req{method: "GET", path: "/api/v1/users/" + b.d.LincolnStaff.ID, token: admin}).decode(t, &staff)
		require.Equal(t, []string{b.d.Lincoln.ID}, staff.LocationIDs)
	})
}

// TestGuardianSeesOnlyTheirFamily: a guardian lists only their children's
// staff and reaches no other family.
func TestGuardianSeesOnlyTheirFamily(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		parent := b.token(t, d, d.LincolnParent)

		res := b.do(t, req{method: "GET", path: "/api/v1/users", token: parent})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var page api.UserPage
		res.decode(t, &page)
		var got []string
		for _, u := range page.Items {
			require.NotEqual(t, "GUARDIAN", u.Role, "a guardian never lists another guardian")
			got = append(got, u.ID)
		}
		require.ElementsMatch(t, []string{d.DistrictNurse.ID, d.LincolnAdmin.ID, d.LincolnNurse.ID, d.LincolnStaff.ID}, got)

		var guardianOnly api.UserPage
		b.do(t, req{method: "GET", path: "/api/v1/users?role=guardian", token: parent}).decode(t, &guardianOnly)
		require.Empty(t, guardianOnly.Items)

		for _, path := range []string{
			"/api/v1/students/" + d.WashingtonStudent.ID,
			"/api/v1/students/" + d.AnnexStudent.ID,
			"/api/v1/users/" + d.WashingtonParent.ID,
			"/api/v1/users/" + d.NonCustodialParent.ID,
			"/api/v1/users/" + d.WashingtonNurse.ID,
		} {
			res := b.do(t, req{method: "GET", path: path, token: parent})
			require.Equal(t, http.StatusNotFound, res.status, path)
		}
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/students/" + d.LincolnStudent.ID, token: parent}).status)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/users/" + d.LincolnNurse.ID, token: parent}).status)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", token: parent}).status)

		var students api.StudentList
		b.do(t, req{method: "GET", path: "/api/v1/students", token: parent}).decode(t, &students)
		require.Len(t, students.Items, 1)
		require.Equal(t, d.LincolnStudent.ID, students.Items[0].ID)

		res = b.do(t, req{method: "POST", path: "/api/v1/users", token: parent,
			body: map[string]any{"email": "x@springfield.example", "name": "X", "role": "GUARDIAN"}})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.WashingtonParent.ID, token: parent, body: map[string]any{"name": "X"}})
		require.Equal(t, http.StatusNotFound, res.status)
	})
}
