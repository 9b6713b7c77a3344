package web

// The administrators' People and Locations pages, end to end, on a server
// of their own (the people they add and deactivate stay out of the other
// tests' district).

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// person is what the test reads back of a person through the API.
type person struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	LocationIDs   []string `json:"location_ids"`
	DeactivatedAt *string  `json:"deactivated_at"`
}

// findPeople is GET /api/v1/admin/users?q=...
func findPeople(c *apiClient, q string) []person {
	c.t.Helper()
	var page struct {
		Items []person `json:"items"`
	}
	require.Equal(c.t, http.StatusOK, c.call(http.MethodGet, "/api/v1/admin/users?q="+url.QueryEscape(q), nil, &page))
	return page.Items
}

// locationIDs maps the demo district's location names to their ids.
func locationIDs(c *apiClient) map[string]string {
	c.t.Helper()
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	require.Equal(c.t, http.StatusOK, c.call(http.MethodGet, "/api/v1/locations", nil, &list))
	ids := map[string]string{}
	for _, l := range list.Items {
		ids[l.Name] = l.ID
	}
	return ids
}

// setSelect chooses value in a select as a person does (with its change event).
func (b *tab) setSelect(selector, value string) {
	b.t.Helper()
	evalJS[chromedp.Void](b, fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event('change', { bubbles: true })); })()`,
		js(selector), js(value)))
}

// rowsText is the text of each row of the People table.
const rowsText = `[...document.querySelectorAll('#people-rows tr')].map((r) => r.textContent)`

// TestAdminManagesPeople: the district admin finds a parent by name, adds
// a nurse (told there is no password to choose), makes her staff at a
// second school, deactivates her after confirming and sees her status;
// the API agrees at every step.
func TestAdminManagesPeople(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.api(t, adminEmail)
	locs := locationIDs(admin)
	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-people")
	b.waitView("people")
	require.Equal(t, "page", evalJS[string](b, `document.getElementById('nav-people').getAttribute('aria-current')`))
	b.waitText("#people-rows", "Walter Kim")
	b.checkAccessibility("people")

	b.do(chromedp.SetValue(chromedp.CSS("#people-q"), "garcia"))
	b.click("#people-search button[type=submit]")
	b.waitFor("one result", `document.querySelectorAll('#people-rows tr').length === 1`)
	require.Contains(t, evalJS[[]string](b, rowsText)[0], "guardian.garcia@demo.example")
	require.Contains(t, evalJS[[]string](b, rowsText)[0], "Parent or guardian")

	// Add a nurse at Lincoln.
	const email = "jordan.reyes@demo.example"
	b.click("#people-add")
	b.waitFor("the form", `document.getElementById('person-new-form') !== null`)
	b.waitText("#person-new-no-password", "signs in with a code")
	require.ElementsMatch(t, []string{"ADMIN", "SCHOOL_ADMIN", "NURSE", "STAFF", "GUARDIAN"},
		evalJS[[]string](b, `[...document.querySelectorAll('#person-new-role option')].map((o) => o.value)`))
	b.do(chromedp.SetValue(chromedp.CSS("#person-new-email"), email), chromedp.SetValue(chromedp.CSS("#person-new-name"), "Jordan Reyes"))
	b.setSelect("#person-new-role", "NURSE")
	b.click(fmt.Sprintf("#person-new-loc-%s", locs["Lincoln Elementary"]))
	b.click("#person-new-save")
	b.waitText("#people-notice", "Jordan Reyes was added.")
	b.waitText("#people-rows", email)
	found := findPeople(admin, email)
	require.Len(t, found, 1)
	jordan := found[0]
	require.Equal(t, "NURSE", jordan.Role)
	require.Equal(t, []string{locs["Lincoln Elementary"]}, jordan.LocationIDs)
	row := fmt.Sprintf(`#people-rows tr[data-user-id=%q]`, jordan.ID)
	b.waitText(row, "Nurse")
	b.waitText(row, "Active")

	// Staff at Lincoln and Washington.
	b.click(row + " button")
	b.waitFor("the edit form", `document.activeElement?.id === 'person-edit-name'`)
	b.screenshot("people-edit", 1280, 900)
	b.setSelect("#person-edit-role", "STAFF")
	b.click(fmt.Sprintf("#person-edit-loc-%s", locs["Washington Middle School"]))
	b.click("#person-edit-save")
	b.waitText("#people-notice", "Jordan Reyes: changes saved.")
	b.waitText(row, "Staff")
	b.waitText(row, "Lincoln Elementary, Washington Middle School")
	jordan = findPeople(admin, email)[0]
	require.Equal(t, "STAFF", jordan.Role)
	require.ElementsMatch(t, []string{locs["Lincoln Elementary"], locs["Washington Middle School"]}, jordan.LocationIDs)

	// Deactivate: nothing happens before the confirmation.
	b.click(row + " button")
	b.click("#person-deactivate")
	b.waitText("#person-deactivate-confirm", "can no longer sign in")
	require.Nil(t, findPeople(admin, email)[0].DeactivatedAt)
	b.click("#person-deactivate-yes")
	b.waitText("#people-notice", "Jordan Reyes is deactivated")
	b.waitText(row, "Deactivated")
	require.NotNil(t, findPeople(admin, email)[0].DeactivatedAt)

	// The status filter finds them among the deactivated; on a phone the
	// table reflows.
	evalJS[chromedp.Void](b, `document.getElementById('people-q').value = ''`)
	b.setSelect("#people-status", "deactivated")
	b.waitFor("only the deactivated", `(() => { const rows = `+rowsText+`; return rows.length === 1 && rows[0].includes('Jordan Reyes'); })()`)
	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("people", false)
	b.screenshot("people-phone", 390, 844)
	b.do(chromedp.EmulateViewport(1280, 800))

	// Reactivated, they are active again.
	b.click(row + " button")
	b.click("#person-reactivate")
	b.waitText("#people-notice", "Jordan Reyes is active again")
	require.Nil(t, findPeople(admin, email)[0].DeactivatedAt)
}

// TestSchoolAdminSeesTheirSchool: Lincoln's principal lists Lincoln's
// people and parents, never Washington's nurse nor the district admin, may
// not create an ADMIN, and manages only Lincoln's part of the tree: a
// campus added under Lincoln, then renamed.
func TestSchoolAdminSeesTheirSchool(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	b := own.newTab(t, "principal")
	b.signIn("/inbox", principalEmail)
	b.waitView("box")
	b.click("#nav-people")
	b.waitView("people")
	b.waitText("#people-rows", "Nora Lee")
	b.waitText("#people-rows", "Maria Garcia")
	rows := evalJS[[]string](b, rowsText)
	for _, r := range rows {
		require.NotContains(t, r, "Walter Kim", "Washington's nurse")
		require.NotContains(t, r, "Alex Rivera", "the district admin")
		require.NotContains(t, r, "Linh Nguyen", "a Washington parent")
	}
	require.Equal(t, []string{"", locationIDs(own.api(t, principalEmail))["Lincoln Elementary"]},
		evalJS[[]string](b, `[...document.querySelectorAll('#people-location option')].map((o) => o.value)`), "only their school to filter by")
	b.click("#people-add")
	b.waitFor("the form", `document.getElementById('person-new-form') !== null`)
	require.NotContains(t, evalJS[[]string](b, `[...document.querySelectorAll('#person-new-role option')].map((o) => o.value)`), "ADMIN")
	b.checkAccessibility("people (school admin)")

	b.click("#nav-locations")
	b.waitView("locations")
	b.waitText("#location-tree", "Lincoln Elementary")
	require.False(t, evalJS[bool](b, `document.getElementById('location-tree').textContent.includes('Washington')`))
	b.clickText("#location-tree button", "Add below Lincoln Elementary")
	require.Equal(t, "CAMPUS", evalJS[string](b, `document.getElementById('location-kind').value`))
	b.do(chromedp.SendKeys(chromedp.CSS("#location-name"), "Lincoln Portable"))
	b.click("#location-add")
	b.waitText("#locations-notice", "Lincoln Portable was added.")
	b.waitText("#location-tree .location-node .location-node", "Lincoln Portable")
	b.checkAccessibility("locations")
	b.screenshot("locations", 1280, 800)

	b.clickText("#location-tree button", "Rename Lincoln Portable")
	b.waitFor("the name field", `document.activeElement?.name === 'name' && document.activeElement.closest('.location-rename') !== null`)
	b.do(chromedp.SetValue(chromedp.CSS(".location-rename input"), "Lincoln Modular"))
	b.click(".location-rename button[type=submit]")
	b.waitText("#locations-notice", "Lincoln Portable is now called Lincoln Modular.")
	b.waitText("#location-tree", "Lincoln Modular")
	require.Contains(t, locationIDs(own.api(t, adminEmail)), "Lincoln Modular")
	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("locations", false)
	b.do(chromedp.EmulateViewport(1280, 800))
}

// TestPeoplePagesHiddenFromNurse: a nurse has no link to either page and
// their addresses are "Page not found"; the admin listing refuses her.
func TestPeoplePagesHiddenFromNurse(t *testing.T) {
	b := endToEnd(t).newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#nav-people, #nav-locations').length`))
	require.Equal(t, 403, evalJS[int](b, `fetch('/api/v1/admin/users').then((r) => r.status)`))
	for _, path := range []string{"/people", "/locations"} {
		b.open(path)
		b.waitView("missing")
		b.waitText("h1", "Page not found")
	}
}
