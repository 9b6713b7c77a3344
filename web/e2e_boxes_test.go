package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// TestAlertsFiltersArchiveAndReadState: an emergency stands out (colour,
// icon and words), the category filter narrows the inbox (and stays in the
// URL), and a message is marked unread, archived and brought back.
func TestAlertsFiltersArchiveAndReadState(t *testing.T) {
	e := endToEnd(t)
	const email = "guardian.johnson@demo.example" // only this test writes to James Johnson
	nurse := e.api(t, "nurse.washington@demo.example")
	guardian := e.api(t, email)
	// Only administrators send EMERGENCY (API.md "Who may send what").
	alert := e.api(t, adminEmail).send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": unique("Lockdown: stay away from school"),
		"body": "Police activity nearby. Students are safe inside.", "category": "EMERGENCY", "priority": "URGENT"})
	plain := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": unique("Flu vaccine clinic"),
		"body": "The clinic is on Friday.", "category": "IMMUNIZATION", "priority": "LOW"})

	b := e.newTab(t, "guardian")
	b.signIn("/inbox", email)
	b.waitView("box")
	item := fmt.Sprintf(`#message-list li[data-id=%q]`, alert.ID)
	b.waitText(item+" .badge-emergency", "Emergency")
	b.waitText(item+" .badge-urgent", "Urgent")
	require.True(t, evalJS[bool](b, `document.querySelector(`+js(item)+`).classList.contains('is-alert')`))
	require.True(t, evalJS[bool](b, `document.querySelector(`+js(item+" .badge-emergency svg.icon")+`) !== null`), "an icon, not colour alone")

	// With the keyboard: the first category after "Any" is Emergency.
	b.do(chromedp.Focus(chromedp.ID("filter-category")), chromedp.KeyEvent(kb.ArrowDown))
	b.waitFor("only emergencies", `(() => { const c = [...document.querySelectorAll('#message-list .message-category')].map((e) => e.textContent);
		return c.length > 0 && c.every((x) => x === 'Emergency'); })()`)
	require.Equal(t, "?category=emergency", evalJS[string](b, `location.search`))
	require.Equal(t, "filter-category", evalJS[string](b, `document.activeElement.id`), "filtering keeps the focus on the filter")

	b.open("/messages/" + plain.ID)
	b.waitView("message")
	b.waitFor("read", fmt.Sprintf(`fetch('/api/v1/messages/%s').then((r) => r.json()).then((m) => m.read_at !== null)`, plain.ID))
	b.click("#toggle-read")
	b.waitText("#message-notice", "Marked as unread.")
	b.click("#toggle-archive")
	b.waitText("#message-notice", "Archived.")
	require.Empty(t, guardian.withSubject("inbox", plain.Subject))
	archived := guardian.withSubject("archived", plain.Subject)
	require.Len(t, archived, 1)
	require.Nil(t, archived[0].ReadAt, "still unread")

	b.click("#nav-archived")
	b.waitView("box")
	b.clickText("#message-list .message-link", plain.Subject)
	b.waitView("message")
	b.waitText("#toggle-archive", "Move to inbox")
	b.click("#toggle-archive")
	b.waitText("#message-notice", "Moved back to the inbox.")
	require.Len(t, guardian.withSubject("inbox", plain.Subject), 1)
}

// TestScheduleRescheduleAndCancel schedules a message from compose, moves
// it to another time and cancels it.
func TestScheduleRescheduleAndCancel(t *testing.T) {
	e := endToEnd(t)
	subject := unique("Dental screening reminder")
	b := e.newTab(t, "nurse")
	b.signIn("/inbox", "nurse.washington@demo.example")
	b.compose("James Johnson", subject, "Dental screening is next week.", func() {
		b.click("#compose-schedule-later")
		b.waitFor("the time field", `!document.getElementById('compose-when-field').hidden`)
		b.do(chromedp.SetValue(chromedp.ID("compose-when"), localInput(48*time.Hour)))
	})
	b.waitView("box")
	require.Equal(t, "/scheduled", evalJS[string](b, `location.pathname`))
	b.waitText("#message-list .message-subject", subject)
	b.waitText("#count-scheduled", "1")

	b.clickText("#message-list .message-link", subject)
	b.waitView("message")
	b.do(chromedp.SetValue(chromedp.ID("reschedule-at"), localInput(72*time.Hour)))
	b.click(".reschedule button[type=submit]")
	b.waitText("#message-notice", "Rescheduled.")
	nurse := e.api(t, "nurse.washington@demo.example")
	require.Len(t, nurse.withSubject("scheduled", subject), 1)

	b.cancelScheduled(subject)
	canceled := nurse.withSubject("scheduled", subject)
	require.Len(t, canceled, 1, "a canceled message stays in the scheduled box")
	require.Equal(t, "CANCELED", canceled[0].Status)
	require.Empty(t, nurse.withSubject("sent", subject), "never sent")
}

// cancelScheduled cancels the open scheduled message: the app asks first
// (and "No" keeps it), then shows it in the scheduled box marked canceled,
// no longer counted as waiting.
func (b *tab) cancelScheduled(subject string) {
	b.t.Helper()
	b.click("#cancel-scheduled")
	b.waitFor("the question, focused", `!document.getElementById('cancel-confirm').hidden && document.activeElement.id === 'cancel-confirm-text'`)
	b.click("#cancel-confirm-no")
	b.waitFor("the question to go", `document.getElementById('cancel-confirm').hidden && document.activeElement.id === 'cancel-scheduled'`)
	require.Equal(b.t, "/messages/", evalJS[string](b, `location.pathname.slice(0, 10)`), "nothing happened")
	b.click("#cancel-scheduled")
	b.click("#cancel-confirm-yes")
	b.waitView("box")
	require.Equal(b.t, "/scheduled", evalJS[string](b, `location.pathname`))
	row := fmt.Sprintf(`[...document.querySelectorAll('#message-list li')].find((li) => li.textContent.includes(%s))`, js(subject))
	b.waitFor("the canceled message, marked", row+`?.querySelector('.badge-canceled')?.textContent === 'Canceled'`)
	b.waitFor("no waiting badge", `document.getElementById('count-scheduled').textContent === ''`)
	b.clickText("#message-list .message-link", subject)
	b.waitView("message")
	b.waitText(".message-header .badge-canceled", "Canceled")
	require.False(b.t, evalJS[bool](b, `document.getElementById('cancel-scheduled') !== null`), "nothing left to cancel")
}

// localInput is a datetime-local value d from now in the browser's time
// zone (the harness runs Chromium with TZ=America/Chicago).
func localInput(d time.Duration) string {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		loc = time.UTC
	}
	return time.Now().Add(d).In(loc).Format("2006-01-02T15:04")
}
