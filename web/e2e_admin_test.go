package web

// The admin's "Delivery problems" page, end to end. The failures it shows
// cannot be provoked through the demo (its capture provider accepts
// everything), so the test writes them into the database as the delivery
// worker and a bounce webhook would. That needs a server whose database
// the test can open: the admin test starts one of its own with the
// harness's startServer, which also keeps the district free of failures
// other tests could leave.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
)

const adminEmail = "admin@demo.example"

// TestAdminDeliveryProblemsPage: an admin finds the page in the
// navigation, sees a failed delivery with its reason and timeline, retries
// it (the list empties and the delivery is queued again), and lets a
// suppressed address be emailed again after confirming.
func TestAdminDeliveryProblemsPage(t *testing.T) {
	ctx := context.Background()
	own, db := ownServer(t, endToEnd(t))
	nurse := own.api(t, nurseEmail)
	garcia := own.api(t, guardianEmail)
	m := nurse.send(map[string]any{"recipient_ids": []string{garcia.user.ID}, "subject": unique("Hearing screening"),
		"body": "Sofia's hearing screening is on Monday.", "channels": []string{"EMAIL"}})
	const reason = "550 5.1.1 mailbox unavailable"
	failed := failEmailDelivery(t, db, m.ID, garcia.user.ID, reason)
	// Chris Smith gets no demo message, so no email of the demo fails
	// against the suppression and lands in the list.
	smith := own.api(t, "guardian.smith@demo.example")
	require.NoError(t, store.New(db, nil, nil).SuppressEmail(ctx, "guardian.smith@demo.example", "bounce"))

	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-deliveries")
	b.waitView("deliveries")
	require.Equal(t, "page", evalJS[string](b, `document.getElementById('nav-deliveries').getAttribute('aria-current')`))
	item := fmt.Sprintf(`#dead-letter-list li[data-id=%q]`, failed)
	b.waitText(item+" label", guardianName)
	b.waitText(item+" label", "Email")
	b.waitText(item+" .dead-letter-error", reason)
	b.waitText(item+" .dead-letter-line", "Failed")
	b.waitText(item+" .dead-letter-line", "3 attempts")
	require.Equal(t, "/messages/"+m.ID, evalJS[string](b, `document.querySelector(`+js(item+" .dead-letter-link a")+`).getAttribute('href')`))

	b.click(item + " summary")
	b.waitFor("the timeline open", `document.querySelector(`+js(item+" details")+`).open`)
	// The worker's own steps (queued, handed to the capture provider), then the failure.
	var timeline []string
	for _, s := range deliveryEvents(t, db, failed) {
		timeline = append(timeline, s[:1]+strings.ToLower(s[1:]))
	}
	require.Equal(t, "Failed", timeline[len(timeline)-1])
	require.Equal(t, timeline, evalJS[[]string](b, `[...document.querySelectorAll(`+js(item+" details ol > li .status")+`)].map((e) => e.textContent)`),
		"every step, oldest first")
	b.waitText(item+" details ol > li", reason)

	smithRow := fmt.Sprintf(`#suppression-list tr[data-user-id=%q]`, smith.user.ID)
	b.waitText(smithRow, "guardian.smith@demo.example")
	b.waitText(smithRow, "Bounced")
	b.waitText(".hint", "Email them again only once the person confirms the address works.")
	b.checkAccessibility("deliveries")
	b.screenshot("deliveries", 1280, 900)
	// At a phone's width the table of addresses reflows.
	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("deliveries", false)
	b.screenshot("deliveries-phone", 390, 844)
	b.do(chromedp.EmulateViewport(1280, 800))

	// Retry: "Select all shown" picks the one failure.
	require.True(t, evalJS[bool](b, `document.getElementById('dead-letter-retry').disabled`), "nothing chosen yet")
	b.click("#dead-letter-all")
	require.True(t, evalJS[bool](b, `document.querySelector(`+js(item+" input[type=checkbox]")+`).checked`))
	b.click("#dead-letter-retry")
	b.waitText("#deliveries-notice", "1 delivery queued again.")
	b.waitFor("the empty list", `document.querySelectorAll('#dead-letter-list > li').length === 0`)
	b.waitText(".empty", "No failed deliveries.")
	// The retry put it back to PENDING and queued it. The demo's capture
	// provider takes it at once, so PENDING is kept in its timeline, right
	// after the failure, and its status moves on to SENT or DELIVERED.
	testutil.WaitUntil(t, waitTimeout, "the retried delivery sent", func() bool {
		status := deliveryStatus(t, db, failed)
		require.NotEqual(t, "FAILED", status)
		return status == "SENT" || status == "DELIVERED"
	})
	events := deliveryEvents(t, db, failed)
	require.Greater(t, len(events), len(timeline))
	require.Equal(t, "PENDING", events[len(timeline)], "the retry, right after the failure")

	// Email again: the first click asks to confirm, the second lifts it.
	button := smithRow + " button.button"
	b.click(button)
	b.waitText(button, "Confirm")
	require.Equal(t, 1, suppressions(t, db, "guardian.smith@demo.example"), "nothing happens before the confirmation")
	b.click(button)
	b.waitFor("the row gone", fmt.Sprintf(`document.querySelector(%s) === null`, js(smithRow)))
	b.waitText("#deliveries-notice", "Chris Smith (guardian.smith@demo.example) will be emailed again.")
	b.waitText(".empty", "No suppressed addresses.")
	require.Zero(t, suppressions(t, db, "guardian.smith@demo.example"))
}

// TestAdminPageHiddenFromNurse: a nurse has no link to the page, and
// opening its address shows "Page not found" (the API refuses them too).
func TestAdminPageHiddenFromNurse(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")
	require.False(t, evalJS[bool](b, `document.getElementById('nav-deliveries') !== null`), "no navigation link")
	require.Equal(t, 403, evalJS[int](b, `fetch('/api/v1/admin/deliveries').then((r) => r.status)`))

	b.open("/deliveries")
	b.waitView("missing")
	b.waitText("h1", "Page not found")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#dead-letter-list, #suppression-list').length`))
}

// ownServer starts another demo server, from the binary the shared one
// runs, on a data dir the test knows, and opens its SQLite database. The
// server and its files go when the test binary ends, like the shared one.
func ownServer(t *testing.T, e *e2e) (*e2e, *store.DB) {
	t.Helper()
	dir, err := os.MkdirTemp("", "whitecross-web-admin-")
	require.NoError(t, err)
	e2eStop = append(e2eStop, func() { os.RemoveAll(dir) })
	url, err := startServer(e.bin, dir)
	require.NoError(t, err)
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "data", "whitecross.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &e2e{baseURL: url, browser: e.browser, root: e.root, bin: e.bin}, db
}

// failEmailDelivery waits for the worker to send the email delivery of the
// message to the recipient, then records its failure with reason, as a
// provider's status callback does when the mail never arrives. It returns
// the delivery id.
func failEmailDelivery(t *testing.T, db *store.DB, messageID, recipientID, reason string) string {
	t.Helper()
	ctx := context.Background()
	var id, tenantID string
	testutil.WaitUntil(t, waitTimeout, "the email delivery handled", func() bool {
		var status string
		err := db.Reader().QueryRow(store.AllTenants(ctx), `SELECT id, tenant_id, status FROM deliveries WHERE message_id = $1 AND recipient_id = $2 AND channel = 'EMAIL'`,
			messageID, recipientID).Scan(&id, &tenantID, &status)
		return err == nil && status != "PENDING"
	})
	at := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'FAILED', error = $2, provider = 'smtp', attempts = 3, failed_at = $3, updated_at = $3
			WHERE id = $1`, id, reason, at); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES ($1, $2, $3, 'FAILED', $4, $5)`,
			uuid.Must(uuid.NewV7()).String(), tenantID, id, at, reason)
		return err
	}))
	return strings.ToLower(id)
}

func deliveryStatus(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var status string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT status FROM deliveries WHERE id = $1`, id).Scan(&status))
	return status
}

// deliveryEvents is the delivery's timeline, oldest first.
func deliveryEvents(t *testing.T, db *store.DB, id string) []string {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT status FROM delivery_events WHERE delivery_id = $1 ORDER BY at, id`, id)
	require.NoError(t, err)
	defer rows.Close()
	var events []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		events = append(events, s)
	}
	require.NoError(t, rows.Err())
	return events
}

func suppressions(t *testing.T, db *store.DB, email string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT COUNT(*) FROM email_suppressions WHERE email = $1`, email).Scan(&n))
	return n
}
