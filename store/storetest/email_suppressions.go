package storetest

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// testEmailSuppressions covers the admin's view of suppressed addresses:
// listing the district's people email no longer reaches, newest first and
// in pages, and lifting a suppression so the pipeline emails them again.
func testEmailSuppressions(t *testing.T, open Opener) {
	b := setupDeadLetters(t, open)
	d, other := b.d, b.other
	ctx := context.Background()
	admin := d.As(d.Admin)
	require.NoError(t, b.st.SuppressEmail(ctx, strings.ToUpper(d.LincolnParent.Email), "bounce"))
	b.clock.Advance(time.Minute)
	require.NoError(t, b.st.SuppressEmail(ctx, d.AnnexParent.Email, "complaint"))
	require.NoError(t, b.st.SuppressEmail(ctx, other.LincolnParent.Email, "bounce"))
	require.NoError(t, b.st.SuppressEmail(ctx, "nobody@elsewhere.example", "bounce"))

	page, err := b.st.ListEmailSuppressions(admin, 0, "")
	require.NoError(t, err)
	require.Len(t, page.Items, 2, "only the district's own people, not other districts' or unknown addresses")
	first, second := page.Items[0], page.Items[1]
	require.Equal(t, []string{d.AnnexParent.ID, d.LincolnParent.ID}, []string{first.UserID, second.UserID}, "newest first")
	require.Equal(t, d.AnnexParent.Name, first.UserName)
	require.Equal(t, d.AnnexParent.Email, first.Email)
	require.Equal(t, "complaint", first.Reason)
	require.Equal(t, "bounce", second.Reason)
	require.True(t, first.Since.After(second.Since))
	require.Empty(t, page.NextCursor)

	t.Run("pages", func(t *testing.T) {
		one, err := b.st.ListEmailSuppressions(admin, 1, "")
		require.NoError(t, err)
		require.Len(t, one.Items, 1)
		require.Equal(t, d.AnnexParent.ID, one.Items[0].UserID)
		require.NotEmpty(t, one.NextCursor)
		decoded, err := base64.RawURLEncoding.DecodeString(one.NextCursor)
		require.NoError(t, err)
		require.NotContains(t, string(decoded), "@", "the cursor does not carry the address")
		rest, err := b.st.ListEmailSuppressions(admin, 1, one.NextCursor)
		require.NoError(t, err)
		require.Len(t, rest.Items, 1)
		require.Equal(t, d.LincolnParent.ID, rest.Items[0].UserID)
		require.Empty(t, rest.NextCursor)
		_, err = b.st.ListEmailSuppressions(admin, 101, "")
		requireCode(t, err, whitecross.EINVALID, "query.limit")
		_, err = b.st.ListEmailSuppressions(admin, 0, "not-a-cursor")
		requireCode(t, err, whitecross.EINVALID, "query.cursor")
	})

	t.Run("admins only", func(t *testing.T) {
		for _, u := range []*whitecross.User{d.LincolnAdmin, d.LincolnNurse, d.LincolnParent} {
			_, err := b.st.ListEmailSuppressions(d.As(u), 0, "")
			requireCode(t, err, whitecross.EFORBIDDEN, "")
			requireCode(t, b.st.LiftEmailSuppression(d.As(u), d.LincolnParent.ID), whitecross.EFORBIDDEN, "")
		}
		_, err := b.st.ListEmailSuppressions(ctx, 0, "")
		requireCode(t, err, whitecross.EUNAUTHORIZED, "")
	})

	t.Run("lift", func(t *testing.T) {
		suppressed := func(email string) bool {
			var n int
			require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT COUNT(*) FROM email_suppressions WHERE email = $1`,
				strings.ToLower(email)).Scan(&n))
			return n == 1
		}
		requireCode(t, b.st.LiftEmailSuppression(admin, other.LincolnParent.ID), whitecross.ENOTFOUND, "")
		require.True(t, suppressed(other.LincolnParent.Email), "another district's person is not ours to lift")
		requireCode(t, b.st.LiftEmailSuppression(admin, d.LincolnNurse.ID), whitecross.ENOTFOUND, "")
		requireCode(t, b.st.LiftEmailSuppression(admin, "not-an-id"), whitecross.ENOTFOUND, "")

		require.NoError(t, b.st.LiftEmailSuppression(admin, d.LincolnParent.ID))
		require.False(t, suppressed(d.LincolnParent.Email))
		require.True(t, suppressed(d.AnnexParent.Email))
		ev := lastAudit(t, b.st, d.Tenant.ID)
		require.Equal(t, whitecross.AuditEmailSuppressionLifted, ev.Action)
		require.Equal(t, d.LincolnParent.ID, ev.TargetID)
		require.Equal(t, d.Admin.ID, ev.ActorID)
		for _, v := range ev.Detail {
			require.NotContains(t, v, "@", "the audit log names the person, not the address")
		}
		requireCode(t, b.st.LiftEmailSuppression(admin, d.LincolnParent.ID), whitecross.ENOTFOUND, "")

		page, err := b.st.ListEmailSuppressions(admin, 0, "")
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		require.Equal(t, d.AnnexParent.ID, page.Items[0].UserID)
	})
}
