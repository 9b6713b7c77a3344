package web

// Automatic logoff and the profile form, end to end. Each runs on a server
// of its own: one shortens the district's idle timeout, the other renames
// a demo user, and the shared server's other tests must see neither.

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestIdleLockClearsTheScreen: the admin sets a one-minute idle timeout on
// the District settings page; a nurse reading a message gets the minute's
// warning, can stay signed in, and when she does not, the app signs her
// out: the sign-in screen says why and nothing of the message is left in
// the page or its title, and her session is over on the server too. A
// second tab of hers stays open while she works in the first, and locks
// with it.
//
// The minute is not waited for: the test moves the time of the last
// activity, which every tab keeps in localStorage (idle.js), a minute back
// — what another tab's last activity a minute ago would look like.
func TestIdleLockClearsTheScreen(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.newTab(t, "admin")
	admin.signIn("/settings", adminEmail)
	admin.waitView("settings")
	require.Equal(t, "30", evalJS[string](admin, `document.getElementById('setting-idle-timeout').value`), "the default")
	admin.do(chromedp.SetValue(chromedp.ID("setting-idle-timeout"), "721"))
	admin.click("#setting-idle-timeout-save")
	admin.waitText("#setting-idle-timeout-error", "from 0 to 720")
	admin.do(chromedp.SetValue(chromedp.ID("setting-idle-timeout"), "1"))
	admin.click("#setting-idle-timeout-save")
	admin.waitText("#setting-idle-timeout-saved", "Staff are signed out after 1 minute without activity.")
	admin.checkAccessibility("settings with automatic sign-out")

	nurseAPI, guardianAPI := own.api(t, nurseEmail), own.api(t, guardianEmail)
	subject, body := unique("Inhaler refill"), "Sofia's albuterol inhaler runs out on Friday."
	m := nurseAPI.send(map[string]any{"recipient_ids": []string{guardianAPI.user.ID}, "subject": subject, "body": body})

	b := own.newTab(t, "nurse")
	b.signIn("/messages/"+m.ID, nurseEmail)
	b.waitView("message")
	b.waitText("#main", body)
	// The warning is fixed to the screen (no offsetParent), so not waitText.
	warned := func() {
		b.waitFor("the idle warning", `(() => { const w = document.getElementById('idle-warning'); return w !== null && !w.hidden &&
			w.getBoundingClientRect().height > 0 && w.textContent.includes('You will be signed out in') && w.textContent.includes('Stay signed in'); })()`)
	}
	idleSince := func(seconds int) {
		evalJS[bool](b, fmt.Sprintf(`(localStorage.setItem('wc.idle.last', String(Date.now() - %d)), true)`, seconds*1000))
	}

	// Before the time is up: the warning (the last half of a one-minute
	// timeout, the last minute of longer ones), and staying signed in.
	idleSince(35)
	warned()
	b.screenshot("idle-warning", 1280, 800)
	require.LessOrEqual(t, evalJS[int](b, `Number(document.getElementById('idle-seconds').textContent)`), 25)
	require.Equal(t, "idle-stay", evalJS[string](b, `document.activeElement.id`), "the button takes the focus")
	b.checkAccessibility("idle warning")
	b.click("#idle-stay")
	b.waitFor("the warning gone", `document.getElementById('idle-warning').hidden`)
	require.True(t, evalJS[bool](b, fmt.Sprintf(`document.body.textContent.includes(%s)`, js(body))), "still reading")

	// A second tab of the same browser: activity in one keeps the other
	// open, and they lock together.
	other := b.sibling(t, "nurse, second tab")
	other.open("/sent")
	other.waitView("box")
	other.waitText("#main", subject)
	idleSince(35)
	warned()
	other.waitFor("the warning in the second tab too", `(() => { const w = document.getElementById('idle-warning'); return w !== null && !w.hidden; })()`)
	other.click("#idle-stay")
	b.waitFor("the first tab's warning gone", `document.getElementById('idle-warning').hidden`)

	// Then nobody comes back.
	idleSince(57)
	warned()
	b.waitView("signin")
	b.waitText("#main", "You were signed out after 1 minute without activity")
	b.screenshot("idle-locked", 1280, 800)
	other.waitView("signin")
	for _, tab := range []*tab{b, other} {
		page := evalJS[string](tab, `document.documentElement.outerHTML + document.title`)
		for _, gone := range []string{subject, body, "albuterol", "Nora Lee"} {
			require.NotContains(t, page, gone, "left in %s after the lock", tab.name)
		}
	}
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#idle-warning, #nav a').length`))
	b.waitFor("the session ended on the server", `fetch('/api/v1/me').then((r) => r.status === 401)`)

	// Signing in again works and starts a fresh minute.
	b.signIn("/messages/"+m.ID, nurseEmail)
	b.waitView("message")
	b.waitText("#main", body)
	require.True(t, evalJS[bool](b, `document.getElementById('idle-warning') === null || document.getElementById('idle-warning').hidden`))
}

// TestProfileFromTheAccountPage: a nurse changes her name, language, time
// zone and phone on the Account page; a bad phone is refused beside the
// field; the header shows the new name at once and the API has it all. The
// page fits a phone.
func TestProfileFromTheAccountPage(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	nurse := own.api(t, nurseEmail)
	b := own.newTab(t, "nurse")
	b.signIn("/account", nurseEmail)
	b.waitView("account")
	require.Equal(t, "Nora Lee", evalJS[string](b, `document.getElementById('profile-name').value`))
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#profile-email, [name=email], [name=role]').length`), "email and role are not the nurse's to change")

	b.do(chromedp.SetValue(chromedp.ID("profile-name"), "Nora Lee-Park"),
		chromedp.SetValue(chromedp.ID("profile-locale"), "es"),
		chromedp.SetValue(chromedp.ID("profile-timezone"), "America/Denver"),
		chromedp.SetValue(chromedp.ID("profile-phone"), "555 0109"))
	b.click("#profile-submit")
	b.waitText("#profile-phone-error", "country code")
	require.Equal(t, "true", evalJS[string](b, `document.getElementById('profile-phone').getAttribute('aria-invalid')`))
	b.do(chromedp.SetValue(chromedp.ID("profile-phone"), "+1 555 010 9999"))
	b.click("#profile-submit")
	b.waitText("#profile-saved", "Your profile is saved.")
	b.waitText("#account-name", "Nora Lee-Park")
	b.waitText("#account-fact-name", "Nora Lee-Park")

	var me struct {
		Name, Locale, Timezone, Phone string
	}
	require.Equal(t, http.StatusOK, nurse.call(http.MethodGet, "/api/v1/me", nil, &me))
	require.Equal(t, "Nora Lee-Park", me.Name)
	require.Equal(t, "es", me.Locale)
	require.Equal(t, "America/Denver", me.Timezone)
	require.Equal(t, "+15550109999", me.Phone)

	b.open("/account")
	b.waitView("account")
	require.Equal(t, "America/Denver", evalJS[string](b, `document.getElementById('profile-timezone').value`), "kept")
	b.screenshot("account-phone", 390, 844)
	b.phoneChecks("account", true)
	b.do(chromedp.EmulateViewport(1280, 800))
}
