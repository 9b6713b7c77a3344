package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// auditPage is the body of GET /api/v1/admin/audit.
type auditPage struct {
	Items []struct {
		ID         int64             `json:"id"`
		At         time.Time         `json:"at"`
		ActorID    string            `json:"actor_id"`
		Action     string            `json:"action"`
		TargetType string            `json:"target_type"`
		TargetID   string            `json:"target_id"`
		Outcome    string            `json:"outcome"`
		IP         string            `json:"ip"`
		Detail     map[string]string `json:"detail"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (b *bundle) audit(t *testing.T, token string, q url.Values) auditPage {
	t.Helper()
	var page auditPage
	b.get(t, token, "/api/v1/admin/audit?"+q.Encode(), &page)
	return page
}

// TestAuditOfReads: a list page is one message.read event naming its
// messages, a detail read is one event on its message; the viewer filters
// and pages them, for the caller's district only.
func TestAuditOfReads(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent, admin := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent), b.token(t, d, d.Admin)
		var sent []string
		for _, s := range []string{"Flu clinic", "Picture day", "Field trip"} {
			sent = append(sent, b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": s, "body": "x"}).ID)
		}
		page := b.box(t, parent, "?box=inbox&limit=2")
		require.Len(t, page.Items, 2)
		b.get(t, parent, "/api/v1/messages/"+sent[0], &struct{}{})

		reads := b.audit(t, admin, url.Values{"action": {whitecross.AuditMessageRead}})
		require.Len(t, reads.Items, 2, "one event for the page, one for the detail")
		detail, list := reads.Items[0], reads.Items[1]
		require.Greater(t, detail.ID, list.ID, "newest first")
		require.Equal(t, sent[0], detail.TargetID)
		require.Equal(t, "detail", detail.Detail["via"])
		require.Equal(t, d.LincolnParent.ID, list.ActorID)
		require.Equal(t, "list", list.Detail["via"])
		require.Equal(t, strings.Join(ids(page.Items), ","), list.Detail["message_ids"])
		require.Equal(t, "SUCCESS", list.Outcome)
		require.NotEmpty(t, list.IP)

		// Filters combine; a cursor pages without repeats.
		byTarget := b.audit(t, admin, url.Values{"target_id": {sent[0]}})
		require.Len(t, byTarget.Items, 2, "sent and read")
		require.Equal(t, whitecross.AuditMessageSent, byTarget.Items[1].Action)
		onPage := b.audit(t, admin, url.Values{"target_id": {page.Items[0].ID}})
		require.Len(t, onPage.Items, 2, "its send, and the list read that names it among others")
		require.Equal(t, list.ID, onPage.Items[0].ID)
		first := b.audit(t, admin, url.Values{"actor_id": {d.LincolnParent.ID}, "action": {whitecross.AuditMessageRead}, "limit": {"1"}})
		require.Len(t, first.Items, 1)
		require.NotNil(t, first.NextCursor)
		second := b.audit(t, admin, url.Values{"actor_id": {d.LincolnParent.ID}, "action": {whitecross.AuditMessageRead}, "limit": {"1"}, "cursor": {*first.NextCursor}})
		require.Len(t, second.Items, 1)
		require.Nil(t, second.NextCursor)
		require.Equal(t, list.ID, second.Items[0].ID)
		past := detail.At.Add(-time.Hour).Format(time.RFC3339)
		require.Empty(t, b.audit(t, admin, url.Values{"until": {past}}).Items)
		require.Len(t, b.audit(t, admin, url.Values{"since": {past}, "action": {whitecross.AuditMessageRead}}).Items, 2)
		none := b.audit(t, admin, url.Values{"actor_id": {d.LincolnNurse.ID}, "action": {whitecross.AuditMessageRead}})
		require.Empty(t, none.Items)

		res := b.do(t, req{method: "GET", path: "/api/v1/admin/audit?since=" + url.QueryEscape(time.Now().Format(time.RFC3339)) + "&until=" + url.QueryEscape(past), token: admin})
		requireProblemField(t, res, http.StatusUnprocessableEntity, "query.until")
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/audit?cursor=bogus", token: admin})
		requireProblemField(t, res, http.StatusUnprocessableEntity, "query.cursor")
		require.Equal(t, http.StatusForbidden, b.status(t, nurse, "GET", "/api/v1/admin/audit"))
		require.Equal(t, http.StatusForbidden, b.status(t, nurse, "GET", "/api/v1/admin/audit.csv"))
		require.Equal(t, http.StatusForbidden, b.status(t, nurse, "GET", "/api/v1/admin/audit/verify"))
		other := b.audit(t, b.token(t, b.other, b.other.Admin), url.Values{"action": {whitecross.AuditMessageRead}})
		require.Empty(t, other.Items, "another district's events are not shown")
	})
}

// TestAuditCSVAndVerify: the CSV holds what the viewer shows, a formula is
// defused, and verify reports an intact chain, then the edited row.
func TestAuditCSVAndVerify(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		d := b.d
		admin := b.token(t, d, d.Admin)
		require.NoError(t, b.st.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: d.Tenant.ID, Action: "test.formula",
			TargetType: "user", TargetID: "=HYPERLINK(\"http://evil.example\")", ClientIP: "@1.2.3.4"}))
		all := b.audit(t, admin, url.Values{"limit": {"100"}})
		require.Nil(t, all.NextCursor)

		res := b.do(t, req{method: "GET", path: "/api/v1/admin/audit.csv", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
		rows, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
		require.NoError(t, err)
		require.Equal(t, []string{"id", "at", "actor_id", "action", "target_type", "target_id", "outcome", "ip", "detail"}, rows[0])
		require.Len(t, rows, len(all.Items)+1)
		require.Equal(t, "test.formula", rows[1][3])
		require.Equal(t, `'=HYPERLINK("http://evil.example")`, rows[1][5])
		require.Equal(t, "'@1.2.3.4", rows[1][7])
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/audit.csv?action=test.formula", token: admin})
		rows, err = csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2, "filtered")

		var v struct {
			OK       bool   `json:"ok"`
			Events   *int64 `json:"events"`
			BrokenAt *int64 `json:"broken_at"`
		}
		b.get(t, admin, "/api/v1/admin/audit/verify", &v)
		require.True(t, v.OK)
		require.Equal(t, all.Items[0].ID, *v.Events)
		tamper := store.AllTenants(ctx) // as someone with the database would
		require.NoError(t, b.db.InTx(tamper, func(tx *store.Tx) error {
			_, err := tx.Exec(tamper, `UPDATE audit_events SET outcome = 'FAILURE' WHERE tenant_id = $1 AND seq = 2`, d.Tenant.ID)
			return err
		}))
		v = struct {
			OK       bool   `json:"ok"`
			Events   *int64 `json:"events"`
			BrokenAt *int64 `json:"broken_at"`
		}{}
		b.get(t, admin, "/api/v1/admin/audit/verify", &v)
		require.False(t, v.OK)
		require.NotNil(t, v.BrokenAt)
		require.Equal(t, int64(2), *v.BrokenAt)
		b.get(t, b.token(t, b.other, b.other.Admin), "/api/v1/admin/audit/verify", &v)
		require.True(t, v.OK, "the other district's chain is intact")
	})
}
