package web

// The ADMIN's district settings page, end to end: "Show who is online"
// turns the district's presence setting off and on. It runs on a server
// of its own, since other tests' pages show who is online.

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDistrictSettingsPresence: the admin finds the page in the
// navigation, unticks "Show who is online" (the API then says presence is
// off, and the page says so after a reload) and ticks it again.
func TestDistrictSettingsPresence(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.api(t, adminEmail)
	presence := func() bool {
		var tenant struct {
			Settings struct {
				Presence bool `json:"presence"`
			} `json:"settings"`
		}
		require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/tenant", nil, &tenant))
		return tenant.Settings.Presence
	}
	require.True(t, presence(), "on by default")

	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-settings")
	b.waitView("settings")
	require.True(t, evalJS[bool](b, `document.getElementById('setting-presence').checked`))
	b.checkAccessibility("settings")

	b.click("#setting-presence")
	b.waitText("#settings-saved", "Nobody sees who is online.")
	require.False(t, presence())
	b.open("/settings")
	b.waitView("settings")
	require.False(t, evalJS[bool](b, `document.getElementById('setting-presence').checked`), "kept")

	b.click("#setting-presence")
	b.waitText("#settings-saved", "People see who is online.")
	require.True(t, presence())
}

// TestDistrictSettingsHiddenFromNurse: a nurse has no link to the page and
// its address is "Page not found".
func TestDistrictSettingsHiddenFromNurse(t *testing.T) {
	b := endToEnd(t).newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#nav-settings').length`))
	b.open("/settings")
	b.waitText("h1", "Page not found")
}
