package web

// The ADMIN's Legal holds page and the retention setting, end to end.

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestAdminPlacesAndReleasesLegalHolds: the admin finds Legal holds in the
// navigation, holds a parent's messages and a student's with reasons, sees
// both active, releases the parent's (it stays listed, released), and
// reads and sets the retention on the District settings page.
func TestAdminPlacesAndReleasesLegalHolds(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.api(t, adminEmail)
	holds := func() map[string]bool {
		var list struct {
			Items []struct {
				Name   string `json:"name"`
				Active bool   `json:"active"`
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/admin/legal-holds", nil, &list))
		out := map[string]bool{}
		for _, h := range list.Items {
			out[h.Name] = h.Active
		}
		return out
	}

	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-legal-holds")
	b.waitView("legalHolds")
	b.waitText("#holds-empty", "No legal holds.")

	place := func(kind, q, name, reason string) {
		b.setSelect("#hold-kind", kind)
		evalJS[chromedp.Void](b, `document.getElementById('hold-q').value = ''`)
		b.do(chromedp.SendKeys(chromedp.ID("hold-q"), q))
		b.click("#hold-find")
		b.clickText("#hold-choices label", name)
		b.do(chromedp.SendKeys(chromedp.ID("hold-reason"), reason))
		b.click("#hold-submit")
		b.waitText("#hold-new-status", "The messages of "+name+" are held.")
		b.waitText("#holds-rows tr", name)
	}
	place("user", "Maria Garcia", "Maria Garcia", "Records request 2026-07")
	place("student", "Sofia", "Sofia Garcia", "Due process hearing")
	require.Equal(t, map[string]bool{"Maria Garcia": true, "Sofia Garcia": true}, holds())
	b.waitText("#holds-rows tr", "Records request 2026-07")
	b.checkAccessibility("legal holds")

	b.click(`button[aria-label="Release the hold on Maria Garcia"]`)
	b.waitText("#holds-list-status", "The hold on Maria Garcia is released.")
	b.waitFor("the released hold listed last", `(() => { const rows = [...document.querySelectorAll('#holds-rows tr')];
		return rows.length === 2 && rows[0].dataset.active === 'true' && rows[1].dataset.active === 'false' && rows[1].textContent.includes('Released'); })()`)
	require.Equal(t, map[string]bool{"Maria Garcia": false, "Sofia Garcia": true}, holds())

	b.click("#nav-settings")
	b.waitView("settings")
	require.Equal(t, "0", evalJS[string](b, `document.getElementById('setting-retention').value`), "kept by default")
	b.waitText("#setting-retention-hint", "except the messages of people and students under a legal hold")
	evalJS[chromedp.Void](b, `document.getElementById('setting-retention').value = ''`)
	b.do(chromedp.SendKeys(chromedp.ID("setting-retention"), "400"))
	b.click("#setting-retention-save")
	b.waitText("#setting-retention-saved", "Messages are deleted 400 days after they are sent.")
	var tenant struct {
		Settings struct {
			RetentionDays int `json:"retention_days"`
		} `json:"settings"`
	}
	require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/tenant", nil, &tenant))
	require.Equal(t, 400, tenant.Settings.RetentionDays)
}
