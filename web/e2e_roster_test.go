package web

// The admin's roster import page, end to end: a dry run of a OneRoster
// .zip shows what would change and changes nothing; the same file is then
// imported, and its people are in the district. It runs on a server of its
// own (ownServer) so the imported families do not appear in other tests.

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"whitecross/store"
	"whitecross/store/storetest"
)

func TestAdminImportsARosterWithADryRunFirst(t *testing.T) {
	own, db := ownServer(t, endToEnd(t))
	zip := filepath.Join(t.TempDir(), "roster.zip")
	require.NoError(t, os.WriteFile(zip, storetest.RosterZip(t), 0o600))
	imported := func() int {
		var n int
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT COUNT(*) FROM users WHERE external_id <> ''`).Scan(&n))
		return n
	}

	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-roster")
	b.waitView("roster")
	require.True(t, evalJS[bool](b, `document.getElementById('roster-dry-run').checked`), "a dry run is the default")
	b.do(chromedp.SetUploadFiles(chromedp.ID("roster-file"), []string{zip}))
	b.click("#roster-start")
	b.waitText("#roster-result-heading", "Dry run: nothing was changed")
	b.waitText("#roster-counts", "People")
	require.Equal(t, []string{"Locations", "1", "1", "—", "People", "5", "0", "0", "Students", "2", "0", "0"},
		evalJS[[]string](b, `[...document.querySelectorAll('#roster-counts tbody td')].map((td) => td.textContent)`))
	require.Zero(t, imported(), "the dry run changed nothing")
	require.NotContains(t, evalJS[string](b, `document.getElementById('roster-result').textContent`), "null")
	require.NotContains(t, evalJS[string](b, `document.getElementById('roster-result').textContent`), "[object")
	b.checkAccessibility("roster")
	b.screenshot("roster-dry-run", 1280, 900)

	require.False(t, evalJS[bool](b, `document.getElementById('roster-dry-run').checked`), "after a clean dry run the next click imports")
	b.waitText("#roster-start", "Import")
	b.click("#roster-start")
	b.waitText("#roster-result-heading", "Imported.")
	require.Equal(t, 5, imported())
	b.waitText("#roster-no-errors", "Every row was read.")
	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("roster", false)
	b.screenshot("roster-phone", 390, 844)
}
