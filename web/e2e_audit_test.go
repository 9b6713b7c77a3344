package web

// The admin's "Audit log" page, end to end, on a server of its own: the
// test tampers with an audit row to see the page report the break.

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
)

// TestAdminAuditPage: a guardian reads their inbox; the admin finds the
// page in the navigation, filters the log down to that read (one event
// naming the page's messages), downloads the CSV of the filter, pages
// through the whole log, verifies the chain, and after a row is edited in
// the database sees the chain reported broken at that event.
func TestAdminAuditPage(t *testing.T) {
	ctx := context.Background()
	own, db := ownServer(t, endToEnd(t))
	garcia := own.api(t, guardianEmail)
	var page struct {
		Items []apiMessage `json:"items"`
	}
	require.Equal(t, 200, garcia.call("GET", "/api/v1/messages?box=inbox&limit=3", nil, &page))
	inbox := page.Items
	require.NotEmpty(t, inbox)

	// Reading a message 40 times makes the log longer than a page.
	for range 40 {
		require.Equal(t, 200, garcia.call("GET", "/api/v1/messages/"+inbox[0].ID, nil, nil))
	}
	testutil.WaitUntil(t, waitTimeout, "a log longer than a page", func() bool {
		var total int
		require.NoError(t, db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM audit_events a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 'demo'`).Scan(&total))
		return total > 50
	})
	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-audit")
	b.waitView("audit")
	require.Equal(t, "page", evalJS[string](b, `document.getElementById('nav-audit').getAttribute('aria-current')`))
	b.waitFor("a first page", `document.querySelectorAll('#audit-list tr').length === 50`)
	b.click("#audit-more")
	b.waitFor("the second page", `document.querySelectorAll('#audit-list tr').length > 50`)

	b.do(chromedp.SetValue(chromedp.ID("audit-actor"), garcia.user.ID), chromedp.SetValue(chromedp.ID("audit-action"), "message.read"))
	b.click("#audit-apply")
	b.waitFor("the guardian's reads", `document.querySelectorAll('#audit-list tr').length >= 1 && [...document.querySelectorAll('#audit-list tr')].every((r) => r.textContent.includes('message.read'))`)
	ids := make([]string, len(inbox))
	for i, m := range inbox {
		ids[i] = m.ID
	}
	b.waitText("#audit-list", "message_ids: "+strings.Join(ids, ","))
	b.waitText("#audit-list", "via: list")
	href := evalJS[string](b, `document.getElementById('audit-csv').getAttribute('href')`)
	require.Contains(t, href, "action=message.read")
	require.Contains(t, href, "actor_id="+garcia.user.ID)
	csv := evalJS[string](b, `fetch(document.getElementById('audit-csv').href).then((r) => r.text())`)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Equal(t, "id,at,actor_id,action,target_type,target_id,outcome,ip,detail", lines[0])
	require.Len(t, lines, 1+evalJS[int](b, `document.querySelectorAll('#audit-list tr').length`), "the CSV holds what the page shows")
	b.checkAccessibility("audit")
	b.screenshot("audit", 1280, 900)

	b.click("#audit-verify")
	b.waitText("#audit-verdict", "The chain is intact")
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_events SET outcome = 'FAILURE' WHERE seq = 2 AND tenant_id = (SELECT id FROM tenants WHERE slug = 'demo')`)
		return err
	}))
	b.click("#audit-verify")
	b.waitText("#audit-verdict", "The chain is broken at event 2")
}
