package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmailSuppressionsAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		ctx := context.Background()
		admin := b.token(t, d, d.Admin)
		nurse := b.token(t, d, d.LincolnNurse)
		require.NoError(t, b.d.Store.SuppressEmail(ctx, d.LincolnParent.Email, "bounce"))
		require.NoError(t, b.d.Store.SuppressEmail(ctx, b.other.LincolnParent.Email, "complaint"))

		const path = "/api/v1/admin/email-suppressions"
		res := b.do(t, req{method: "GET", path: path, token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		res.decode(t, &page)
		require.Nil(t, page.NextCursor)
		require.Len(t, page.Items, 1, "only this district's people")
		item := page.Items[0]
		require.Equal(t, d.LincolnParent.ID, item["user_id"])
		require.Equal(t, d.LincolnParent.Name, item["user_name"])
		require.Equal(t, d.LincolnParent.Email, item["email"])
		require.Equal(t, "bounce", item["reason"])
		require.NotEmpty(t, item["since"])

		res = b.do(t, req{method: "GET", path: path + "?limit=0", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.limit", res.problem(t).Errors[0].Location)
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "GET", path: path, token: nurse}).status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: path}).status)

		lift := func(token, userID string) int {
			return b.do(t, req{method: "DELETE", path: path + "/" + userID, token: token}).status
		}
		require.Equal(t, http.StatusForbidden, lift(nurse, d.LincolnParent.ID))
		require.Equal(t, http.StatusNotFound, lift(admin, b.other.LincolnParent.ID), "another district's person is 404")
		require.Equal(t, http.StatusNotFound, lift(admin, d.LincolnNurse.ID), "not suppressed")
		require.Equal(t, http.StatusNoContent, lift(admin, d.LincolnParent.ID))
		require.Equal(t, http.StatusNotFound, lift(admin, d.LincolnParent.ID), "already lifted")

		res = b.do(t, req{method: "GET", path: path, token: admin})
		res.decode(t, &page)
		require.Empty(t, page.Items)
		res = b.do(t, req{method: "GET", path: path, token: b.token(t, b.other, b.other.Admin)})
		res.decode(t, &page)
		require.Len(t, page.Items, 1, "the other district's suppression stays")
	})
}
