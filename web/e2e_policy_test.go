package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestComposeOffersOnlyWhatTheRoleMaySend: the compose form offers each
// role only the categories and priorities the server accepts from it (a
// guardian neither EMERGENCY nor URGENT, a nurse URGENT but not EMERGENCY,
// an administrator both), and a health category's sensitive box is checked
// and locked while the district keeps health messages sensitive, checked
// but free once an administrator turns that off (the second district, so
// no other test sees the change).
func TestComposeOffersOnlyWhatTheRoleMaySend(t *testing.T) {
	e := endToEnd(t)
	options := func(b *tab, id string) []string {
		return evalJS[[]string](b, fmt.Sprintf(`[...document.getElementById(%s).options].map((o) => o.value)`, js(id)))
	}
	compose := func(name, tenant, email string) *tab {
		b := e.newTab(t, name)
		b.signInTo("/compose", tenant, email, demoPassword)
		b.waitView("compose")
		return b
	}

	guardian := compose("guardian", "demo", guardianEmail)
	require.NotContains(t, options(guardian, "compose-category"), "EMERGENCY")
	require.Contains(t, options(guardian, "compose-category"), "MEDICATION")
	require.Equal(t, []string{"LOW", "MEDIUM", "HIGH"}, options(guardian, "compose-priority"))
	require.False(t, evalJS[bool](guardian, `!!document.getElementById('compose-use-audience')`), "a guardian never sees an audience")

	nurse := compose("nurse", "demo", nurseEmail)
	require.NotContains(t, options(nurse, "compose-category"), "EMERGENCY")
	require.Equal(t, []string{"LOW", "MEDIUM", "HIGH", "URGENT"}, options(nurse, "compose-priority"))
	// A nurse may send to an audience within her school: the editor counts
	// it as she chooses (Lincoln's families, without sending).
	nurse.click("#compose-use-audience")
	nurse.waitText("#compose-audience-preview", "people")
	nurse.click("#compose-audience-scope-choose")
	nurse.clickText("#compose-audience-choose label", "Parent or guardian")
	nurse.waitText("#compose-audience-preview", "Parent or guardian)")
	nurse.click("#compose-use-audience")
	// The demo district keeps the default: health messages are sensitive.
	nurse.chooseCategory("MEDICATION")
	nurse.waitFor("the sensitive box locked on", `(() => { const c = document.getElementById('compose-sensitive');
		return c.checked && c.disabled; })()`)
	nurse.waitText("#compose-sensitive-locked", "Your district keeps every health message sensitive.")
	require.Contains(t, evalJS[string](nurse, `document.getElementById('compose-sensitive').getAttribute('aria-describedby')`), "compose-sensitive-locked")
	nurse.checkAccessibility("compose")
	nurse.chooseCategory("GENERAL")
	nurse.waitFor("the sensitive box back as it was", `(() => { const c = document.getElementById('compose-sensitive');
		return !c.checked && !c.disabled && document.getElementById('compose-sensitive-locked').hidden; })()`)

	admin := compose("admin", "demo", adminEmail)
	require.Contains(t, options(admin, "compose-category"), "EMERGENCY")
	require.Contains(t, options(admin, "compose-priority"), "URGENT")

	// Riverside turns sensitive_by_default off: a health message is still
	// sensitive unless its sender unchecks the box, which they now may.
	riverside := &apiClient{t: t, base: e.baseURL}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, riverside.call(http.MethodPost, "/api/v1/auth/login",
		map[string]string{"tenant": "riverside", "email": "admin@riverside.example", "password": demoPassword}, &login))
	riverside.token = login.AccessToken
	setting := func(on bool) {
		require.Equal(t, http.StatusOK, riverside.call(http.MethodPatch, "/api/v1/tenant",
			map[string]any{"settings": map[string]any{"sensitive_by_default": on}}, nil))
	}
	setting(false)
	t.Cleanup(func() { setting(true) })
	free := compose("riverside nurse", "riverside", "nurse@riverside.example")
	free.chooseCategory("IMMUNIZATION")
	free.waitFor("the sensitive box checked but free", `(() => { const c = document.getElementById('compose-sensitive');
		return c.checked && !c.disabled && document.getElementById('compose-sensitive-locked').hidden; })()`)
}

// chooseCategory picks a category in the compose form as a person would
// (the change event included).
func (b *tab) chooseCategory(value string) {
	b.t.Helper()
	require.True(b.t, evalJS[bool](b, fmt.Sprintf(`(() => { const s = document.getElementById('compose-category');
		s.value = %s; s.dispatchEvent(new Event('change', { bubbles: true })); return s.value === %[1]s; })()`, js(value))))
}
