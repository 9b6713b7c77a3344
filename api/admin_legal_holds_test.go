package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLegalHoldsAPI places a hold on a person and one on a student, lists
// them, releases one, and checks the problems of bad input and the roles.
func TestLegalHoldsAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		admin := b.token(t, d, d.Admin)
		const path = "/api/v1/admin/legal-holds"
		type hold struct {
			ID         string  `json:"id"`
			UserID     *string `json:"user_id"`
			StudentID  *string `json:"student_id"`
			Name       string  `json:"name"`
			Reason     string  `json:"reason"`
			Active     bool    `json:"active"`
			ReleasedAt *string `json:"released_at"`
			ReleasedBy *string `json:"released_by"`
		}
		res := b.do(t, req{method: "POST", path: path, token: admin, body: map[string]any{"user_id": d.LincolnParent.ID, "reason": "Records request"}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var onParent hold
		res.decode(t, &onParent)
		require.NotEmpty(t, onParent.ID)
		require.Equal(t, d.LincolnParent.ID, *onParent.UserID)
		require.Nil(t, onParent.StudentID)
		require.Equal(t, d.LincolnParent.Name, onParent.Name)
		require.True(t, onParent.Active)

		res = b.do(t, req{method: "POST", path: path, token: admin, body: map[string]any{"student_id": d.LincolnStudent.ID, "reason": "Hearing"}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var onStudent hold
		res.decode(t, &onStudent)

		res = b.do(t, req{method: "DELETE", path: path + "/" + onParent.ID, token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var released hold
		res.decode(t, &released)
		require.False(t, released.Active)
		require.NotNil(t, released.ReleasedAt)
		require.Equal(t, d.Admin.ID, *released.ReleasedBy)
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "DELETE", path: path + "/" + onParent.ID, token: admin}).status, "released already")

		res = b.do(t, req{method: "GET", path: path, token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var list struct{ Items []hold }
		res.decode(t, &list)
		require.Len(t, list.Items, 2)
		require.Equal(t, onStudent.ID, list.Items[0].ID, "active first")
		require.Equal(t, onParent.ID, list.Items[1].ID, "the released hold is kept")

		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"reason": "x"}, "body.user_id"},
			{map[string]any{"user_id": d.LincolnParent.ID, "student_id": d.LincolnStudent.ID, "reason": "x"}, "body.user_id"},
			{map[string]any{"user_id": b.other.LincolnParent.ID, "reason": "x"}, "body.user_id"},
			{map[string]any{"student_id": b.other.LincolnStudent.ID, "reason": "x"}, "body.student_id"},
			{map[string]any{"user_id": d.LincolnParent.ID, "reason": " "}, "body.reason"},
			{map[string]any{"user_id": d.LincolnParent.ID}, "body.reason"},
			{map[string]any{"user_id": d.LincolnParent.ID, "reason": strings.Repeat("x", 501)}, "body.reason"},
		} {
			res := b.do(t, req{method: "POST", path: path, token: admin, body: tc.body})
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", tc.body, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors)
			require.Equal(t, tc.field, p.Errors[0].Location, "%v", tc.body)
		}

		nurse := b.token(t, d, d.LincolnNurse)
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "GET", path: path, token: nurse}).status)
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "POST", path: path, token: nurse,
			body: map[string]any{"user_id": d.LincolnParent.ID, "reason": "x"}}).status)
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "DELETE", path: path + "/" + onStudent.ID, token: nurse}).status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: path}).status)
		otherAdmin := b.token(t, b.other, b.other.Admin)
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "DELETE", path: path + "/" + onStudent.ID, token: otherAdmin}).status,
			"another district's hold is not found")
	})
}
