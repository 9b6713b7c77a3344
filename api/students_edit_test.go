package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
)

func TestStudentAdministration(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		lincolnAdmin := b.token(t, b.d, b.d.LincolnAdmin)
		lily := "/api/v1/students/" + b.d.LincolnStudent.ID

		// Search and pages.
		var page api.StudentList
		res := b.do(t, req{method: "GET", path: "/api/v1/students?limit=2&q=" + url.QueryEscape("STUDENT"), token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &page)
		require.Len(t, page.Items, 2)
		require.NotNil(t, page.NextCursor)
		require.Equal(t, "Andy Annex-Student", page.Items[0].Name)
		res = b.do(t, req{method: "GET", path: "/api/v1/students?limit=2&q=student&cursor=" + url.QueryEscape(*page.NextCursor), token: admin})
		res.decode(t, &page)
		require.Len(t, page.Items, 1)
		require.Nil(t, page.NextCursor)
		require.Contains(t, string(res.body), `"next_cursor":null`)
		res = b.do(t, req{method: "GET", path: "/api/v1/students?location_id=" + b.d.Washington.ID + "&grade=3", token: lincolnAdmin})
		res.decode(t, &page)
		require.Empty(t, page.Items, "filters never widen a school admin's scope")
		res = b.do(t, req{method: "GET", path: "/api/v1/students?cursor=nope", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.cursor", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "GET", path: "/api/v1/students?include_deactivated=true", token: b.token(t, b.d, b.d.LincolnNurse)})
		require.Equal(t, http.StatusForbidden, res.status)
		require.Equal(t, "query.include_deactivated", res.problem(t).Errors[0].Location)

		// Edit, with refusals.
		res = b.do(t, req{method: "PATCH", path: lily, token: lincolnAdmin, body: map[string]any{"grade": "4", "location_id": b.d.Annex.ID}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var st api.Student
		res.decode(t, &st)
		require.Equal(t, "4", st.Grade)
		require.Equal(t, b.d.Annex.ID, st.LocationID)
		require.False(t, st.FromRoster)
		require.Contains(t, string(res.body), `"deactivated_at":null`)
		res = b.do(t, req{method: "PATCH", path: lily, token: lincolnAdmin, body: map[string]any{"location_id": b.d.Washington.ID}})
		require.Equal(t, http.StatusForbidden, res.status)
		require.Equal(t, "body.location_id", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "PATCH", path: lily, token: b.token(t, b.d, b.d.WashingtonAdmin), body: map[string]any{"grade": "5"}})
		require.Equal(t, http.StatusNotFound, res.status, "another school's student is not found")
		res = b.do(t, req{method: "PATCH", path: lily, token: b.token(t, b.d, b.d.LincolnNurse), body: map[string]any{"grade": "5"}})
		require.Equal(t, http.StatusForbidden, res.status)
		res = b.do(t, req{method: "PATCH", path: lily, token: admin, body: map[string]any{"grade": ""}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)

		// Guardians and custody.
		annexParent := lily + "/guardians/" + b.d.AnnexParent.ID
		res = b.do(t, req{method: "PUT", path: annexParent, token: lincolnAdmin, body: map[string]any{"custody": true}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &st)
		require.Contains(t, st.Guardians, api.Guardian{UserID: b.d.AnnexParent.ID, Custody: true})
		res = b.do(t, req{method: "GET", path: lily, token: b.token(t, b.d, b.d.AnnexParent)})
		require.Equal(t, http.StatusOK, res.status, "custody shows the child")
		res = b.do(t, req{method: "PUT", path: lily + "/guardians/" + b.d.NonCustodialParent.ID, token: lincolnAdmin, body: map[string]any{"custody": true}})
		require.Equal(t, http.StatusForbidden, res.status)
		require.Equal(t, "body.custody", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "PUT", path: lily + "/guardians/" + b.d.LincolnNurse.ID, token: lincolnAdmin, body: map[string]any{"custody": true}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "path.user_id", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "PUT", path: "/api/v1/students/" + b.d.WashingtonStudent.ID + "/guardians/" + b.d.AnnexParent.ID,
			token: lincolnAdmin, body: map[string]any{"custody": true}})
		require.Equal(t, http.StatusNotFound, res.status)
		res = b.do(t, req{method: "DELETE", path: annexParent, token: lincolnAdmin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &st)
		for _, g := range st.Guardians {
			require.NotEqual(t, b.d.AnnexParent.ID, g.UserID)
		}
		res = b.do(t, req{method: "DELETE", path: annexParent, token: lincolnAdmin})
		require.Equal(t, http.StatusNotFound, res.status)
		res = b.do(t, req{method: "GET", path: lily, token: b.token(t, b.d, b.d.AnnexParent)})
		require.Equal(t, http.StatusNotFound, res.status, "unlinked: the child is hidden again")
	})
}

func TestGroupAdministration(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		lincolnAdmin := b.token(t, b.d, b.d.LincolnAdmin)
		res := b.do(t, req{method: "POST", path: "/api/v1/groups", token: lincolnAdmin,
			body: map[string]any{"name": "Lincoln team", "member_ids": []string{b.d.LincolnNurse.ID, b.d.LincolnStaff.ID}}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var g api.Group
		res.decode(t, &g)
		path := "/api/v1/groups/" + g.ID

		res = b.do(t, req{method: "PATCH", path: path, token: lincolnAdmin,
			body: map[string]any{"name": "Lincoln health team", "member_ids": []string{b.d.LincolnNurse.ID, b.d.AnnexStaff.ID}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &g)
		require.Equal(t, "Lincoln health team", g.Name)
		require.ElementsMatch(t, []string{b.d.LincolnNurse.ID, b.d.AnnexStaff.ID}, g.MemberIDs)

		res = b.do(t, req{method: "PATCH", path: path, token: lincolnAdmin, body: map[string]any{"member_ids": []string{b.d.WashingtonNurse.ID}}})
		require.Equal(t, http.StatusForbidden, res.status)
		require.Equal(t, "body.member_ids[0]", res.problem(t).Errors[0].Location)
		res = b.do(t, req{method: "PATCH", path: path, token: lincolnAdmin, body: map[string]any{"member_ids": []string{}}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		res = b.do(t, req{method: "PATCH", path: path, token: b.token(t, b.d, b.d.LincolnNurse), body: map[string]any{"name": "Mine"}})
		require.Equal(t, http.StatusForbidden, res.status)
		res = b.do(t, req{method: "DELETE", path: path, token: b.token(t, b.d, b.d.WashingtonAdmin)})
		require.Equal(t, http.StatusNotFound, res.status)

		res = b.do(t, req{method: "DELETE", path: path, token: lincolnAdmin})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "GET", path: path, token: lincolnAdmin}).status)
	})
}
