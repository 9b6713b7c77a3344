package web

// The admin's students and groups pages, end to end, on a server of their
// own (ownServer) so the changed family and the new group stay out of the
// other tests' district.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// TestAdminGivesAGuardianCustody: the admin finds Ethan by name, opens his
// page, sees his guardians with custody yes and no, and adds Linh Nguyen
// with custody, which the API then reports.
func TestAdminGivesAGuardianCustody(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.api(t, adminEmail)
	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-students")
	b.waitView("students")
	b.waitText("#students-rows", "Sofia Garcia")
	b.do(chromedp.SendKeys(chromedp.ID("students-q"), "ethan"))
	b.click("#students-search")
	b.waitFor("only Ethan listed", `document.querySelectorAll('#students-rows tr').length === 1`)
	b.waitText("#students-rows", "Ethan Johnson")
	b.waitText("#students-count", "1 student shown.")
	b.checkAccessibility("students")
	b.screenshot("students", 1280, 900)
	b.clickText("#students-rows a", "Ethan Johnson")
	b.waitView("student")
	b.waitText("#student-name", "Ethan Johnson")
	require.Equal(t, "page", evalJS[string](b, `document.getElementById('nav-students').getAttribute('aria-current')`))
	b.waitText("#student-facts", "Lincoln Elementary")
	b.waitText("#student-guardians tr", "James Johnson")
	b.waitText("#student-guardians tr", "Chris Smith")
	require.ElementsMatch(t, []string{"James Johnson|Yes", "Chris Smith|No — contact only"}, guardianCells(b), "custody yes and no")

	b.do(chromedp.SendKeys(chromedp.ID("guardian-new"), "Linh"))
	b.clickText("#guardian-new-options [role=option]", "Linh Nguyen")
	b.waitText("#guardian-new-chosen .chip", "Linh Nguyen")
	b.click("#guardian-new-custody")
	b.click("#guardian-new-submit")
	b.waitText("#student-status", "Guardian added.")
	b.waitText("#student-guardians tr", "Linh Nguyen")
	require.Contains(t, guardianCells(b), "Linh Nguyen|Yes")
	require.NotContains(t, evalJS[string](b, `document.getElementById('main').textContent`), "null")
	require.NotContains(t, evalJS[string](b, `document.getElementById('main').textContent`), "undefined")
	b.checkAccessibility("student")

	var ethan struct {
		ID        string `json:"id"`
		Guardians []struct {
			UserID  string `json:"user_id"`
			Custody bool   `json:"custody"`
		} `json:"guardians"`
	}
	id := evalJS[string](b, `location.pathname.split('/').pop()`)
	require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/students/"+id, nil, &ethan))
	linh := own.api(t, "guardian.nguyen@demo.example")
	custody := false
	for _, g := range ethan.Guardians {
		custody = custody || (g.UserID == linh.user.ID && g.Custody)
	}
	require.True(t, custody, "the server holds the new link with custody: %+v", ethan.Guardians)

	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("student", false)
	b.screenshot("student-phone", 390, 844)
}

// guardianCells is "name|custody" for each guardian row of a student's page.
func guardianCells(b *tab) []string {
	return evalJS[[]string](b, `[...document.querySelectorAll('#student-guardians tr[data-user-id]')].map((tr) => {
		const cells = tr.querySelectorAll('td .cell');
		return cells[0].textContent + '|' + cells[1].textContent;
	})`)
}

// TestAdminCreatesAndRenamesAGroup: a group of two people picked by name,
// then renamed; the list shows it under its new name.
func TestAdminCreatesAndRenamesAGroup(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-groups")
	b.waitView("groups")
	b.waitText("#groups-rows", "Lincoln nurses and staff")
	b.do(chromedp.SendKeys(chromedp.ID("group-new-name"), "Field trip helpers"))
	for _, who := range []string{"Nora Lee", "Terry Brooks"} {
		b.do(chromedp.SendKeys(chromedp.ID("group-new-members"), who[:4]))
		b.clickText("#group-new-members-options [role=option]", who)
		b.waitText("#group-new-members-chosen .chip", who)
	}
	b.checkAccessibility("groups")
	b.click("#group-new-submit")
	b.waitView("group")
	b.waitText("#group-name", "Field trip helpers")
	b.waitText("#group-members", "Nora Lee")
	b.waitText("#group-members", "Terry Brooks")
	b.waitText("#group-count", "2 members.")

	evalJS[chromedp.Void](b, `document.getElementById('group-rename').select()`)
	b.do(chromedp.SendKeys(chromedp.ID("group-rename"), "Field trip team"))
	b.click("#group-rename-submit")
	b.waitText("#group-name", "Field trip team")
	b.waitText("#group-status", "Group renamed.")
	require.Equal(t, "Field trip team", evalJS[string](b, `document.getElementById('group-name').textContent`))
	b.checkAccessibility("group")
	b.do(chromedp.EmulateViewport(390, 844))
	b.phoneChecks("group", false)
	b.screenshot("group-phone", 390, 844)

	b.click(".back a")
	b.waitView("groups")
	b.waitText("#groups-rows tr", "Field trip team")
	require.Equal(t, "2", evalJS[string](b, `[...document.querySelectorAll('#groups-rows tr')].find((tr) => tr.textContent.includes('Field trip team')).querySelectorAll('td .cell')[1].textContent`))
	require.NotContains(t, evalJS[string](b, `document.getElementById('groups-rows').textContent`), "Field trip helpers")
}

// TestStudentAndGroupPagesHiddenFromNurse: a nurse has no menu entries for
// them, and their addresses are "Page not found"; changing a group through
// the API is refused.
func TestStudentAndGroupPagesHiddenFromNurse(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")
	require.False(t, evalJS[bool](b, `document.getElementById('nav-students') !== null || document.getElementById('nav-groups') !== null`),
		"no navigation links")
	for _, path := range []string{"/students", "/groups"} {
		b.open(path)
		b.waitView("missing")
		b.waitText("h1", "Page not found")
	}
	nurse := e.api(t, nurseEmail)
	var groups struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	require.Equal(t, http.StatusOK, nurse.call(http.MethodGet, "/api/v1/groups", nil, &groups))
	require.NotEmpty(t, groups.Items)
	require.Equal(t, http.StatusForbidden, nurse.call(http.MethodPatch, "/api/v1/groups/"+groups.Items[0].ID, map[string]any{"name": "Mine"}, nil))
}

// TestAdminSeesRosterAndDeactivatedStudents: what the roster import owns
// is marked and cannot be edited on the page; a deactivated student is
// listed as such, opens, and can no longer be changed.
func TestAdminSeesRosterAndDeactivatedStudents(t *testing.T) {
	own, db := ownServer(t, endToEnd(t))
	ctx := context.Background()
	// What an import would have written: Sofia and her parent's link from
	// the roster, Mia no longer listed.
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for _, q := range []string{
			`UPDATE students SET external_id = 'stu-sofia' WHERE name = 'Sofia Garcia'`,
			`UPDATE guardianships SET imported = TRUE WHERE student_id IN (SELECT id FROM students WHERE name = 'Sofia Garcia')`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE students SET deactivated_at = $1 WHERE name = 'Mia Nguyen'`, time.Now().UTC())
		return err
	}))
	b := own.newTab(t, "admin")
	b.signIn("/students", adminEmail)
	b.waitView("students")
	b.waitText("#students-rows tr", "Mia Nguyen")
	row := func(name string) string {
		return evalJS[string](b, `[...document.querySelectorAll('#students-rows tr')].find((tr) => tr.textContent.includes(`+js(name)+`)).textContent`)
	}
	require.Contains(t, row("Mia Nguyen"), "Deactivated")
	require.Contains(t, row("Sofia Garcia"), "Roster")
	require.NotContains(t, row("Ethan Johnson"), "Roster")
	b.click("#students-deactivated")
	b.waitFor("Mia hidden", `![...document.querySelectorAll('#students-rows tr')].some((tr) => tr.textContent.includes('Mia Nguyen'))`)

	b.clickText("#students-rows a", "Sofia Garcia")
	b.waitView("student")
	b.waitText("#student-roster-note", "comes from the roster import")
	b.waitText("#student-guardians tr", "Changed in the roster")
	require.False(t, evalJS[bool](b, `document.getElementById('student-edit-form') !== null`), "no editing what the roster owns")
	require.True(t, evalJS[bool](b, `document.getElementById('guardian-new-form') !== null`), "a guardian may be added by hand")
	b.checkAccessibility("roster student")

	b.open("/students")
	b.waitView("students")
	b.clickText("#students-rows a", "Mia Nguyen")
	b.waitView("student")
	b.waitText("#student-deactivated-note", "no longer lists this student")
	b.waitText("#student-state", "Deactivated")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#student-editing form, #student-guardians button').length`), "nothing to change")
}
