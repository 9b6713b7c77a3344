package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// Patricia Gomez (a school admin) and Terry Brooks (staff) are signed in by
// these tests and the layout tests only. The time test changes her time
// zone and puts it back.
const (
	principalEmail = "principal.lincoln@demo.example"
	teacherEmail   = "teacher.lincoln@demo.example"
)

// TestTimesShowInTheUsersZone: a user whose profile says Asia/Tokyo, in a
// browser in America/Chicago (the harness's TZ), schedules at 09:00 and
// sees 09:00 everywhere: the server stores 09:00 Tokyo time, the message
// says "9:00 AM" with its zone, the reschedule field shows 09:00, and
// compose and reschedule name the zone they read times in.
func TestTimesShowInTheUsersZone(t *testing.T) {
	e := endToEnd(t)
	principal := e.api(t, principalEmail)
	setTimezone(t, e, principal.user.ID, "Asia/Tokyo")
	t.Cleanup(func() { setTimezone(t, e, principal.user.ID, "America/Chicago") })
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	day := time.Now().In(tokyo).AddDate(0, 0, 2)
	at := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, tokyo)
	subject := unique("Staff first-aid refresher")

	b := e.newTab(t, "principal")
	b.signIn("/inbox", principalEmail)
	b.compose("Terry Brooks", subject, "The refresher is in the library.", func() {
		b.click("#compose-schedule-later")
		b.waitText("#compose-when-hint", "Asia/Tokyo")
		b.do(chromedp.SetValue(chromedp.ID("compose-when"), at.Format("2006-01-02T15:04")))
	})
	b.waitView("box")
	m := scheduledWithSubject(principal, subject)
	t.Cleanup(func() { principal.call(http.MethodDelete, "/api/v1/messages/"+m.ID, nil, nil) })
	require.True(t, at.Equal(m.ScheduledAt), "stored %s, want 09:00 in Tokyo (%s)", m.ScheduledAt, at.UTC())
	b.waitText("#message-list .message-when", "9:00 AM")

	b.clickText("#message-list .message-link", subject)
	b.waitView("message")
	b.waitText("#scheduled-at", "9:00 AM")
	require.Contains(t, evalJS[string](b, `document.getElementById('scheduled-at').textContent`), "GMT+9", "the time says its zone")
	require.Equal(t, at.Format("2006-01-02T15:04"), evalJS[string](b, `document.getElementById('reschedule-at').value`))
	require.Contains(t, evalJS[string](b, `document.querySelector('label[for=reschedule-at]').textContent`), "Asia/Tokyo")

	later := at.Add(90 * time.Minute)
	b.do(chromedp.SetValue(chromedp.ID("reschedule-at"), later.Format("2006-01-02T15:04")))
	b.click(".reschedule button[type=submit]")
	b.waitText("#message-notice", "Rescheduled.")
	b.waitText("#scheduled-at", "10:30 AM")
	require.True(t, later.Equal(scheduledWithSubject(principal, subject).ScheduledAt), "rescheduled to 10:30 in Tokyo")
}

// setTimezone sets a user's profile time zone, as the district admin.
func setTimezone(t *testing.T, e *e2e, userID, zone string) {
	t.Helper()
	admin := e.api(t, adminEmail)
	require.Equal(t, http.StatusOK, admin.call(http.MethodPatch, "/api/v1/users/"+userID, map[string]string{"timezone": zone}, nil))
}

// scheduledWithSubject returns the caller's one scheduled message with the
// subject.
func scheduledWithSubject(c *apiClient, subject string) (m struct {
	ID          string    `json:"id"`
	ScheduledAt time.Time `json:"scheduled_at"`
}) {
	c.t.Helper()
	for _, found := range c.withSubject("scheduled", subject) {
		require.Equal(c.t, http.StatusOK, c.call(http.MethodGet, "/api/v1/messages/"+found.ID, nil, &m))
		return m
	}
	require.Fail(c.t, fmt.Sprintf("no scheduled message %q", strings.TrimSpace(subject)))
	return m
}

// TestErrorsShowOnceAndGoWhenFixed: the server's refusal of a reschedule
// ("The new time must be in the future.") and of a compose field reads
// once, not twice; and each compose error goes as soon as its field is
// right, while the others stay.
func TestErrorsShowOnceAndGoWhenFixed(t *testing.T) {
	e := endToEnd(t)
	teacher := e.api(t, teacherEmail)
	principal := e.api(t, principalEmail)
	var m apiMessage
	require.Equal(t, http.StatusCreated, teacher.call(http.MethodPost, "/api/v1/messages", map[string]any{
		"recipient_ids": []string{principal.user.ID}, "subject": unique("Library hours"), "body": "The library opens late.",
		"scheduled_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, &m))
	t.Cleanup(func() { teacher.call(http.MethodDelete, "/api/v1/messages/"+m.ID, nil, nil) })

	b := e.newTab(t, "teacher")
	b.signIn("/messages/"+m.ID, teacherEmail)
	b.waitView("message")
	b.do(chromedp.SetValue(chromedp.ID("reschedule-at"), localInput(-24*time.Hour)))
	b.click(".reschedule button[type=submit]")
	b.waitText("#reschedule-error", "The new time must be in the future.")
	require.Equal(t, 1, occurrences(b, "The new time must be in the future."))
	b.do(chromedp.Focus(chromedp.ID("reschedule-at")), chromedp.KeyEvent(kb.ArrowUp))
	b.waitFor("the reschedule error to go", `document.getElementById('reschedule-error').hidden`)
	require.False(t, evalJS[bool](b, `document.getElementById('reschedule-at').hasAttribute('aria-invalid')`))

	// Compose: three errors of the form's own; each goes when fixed.
	b.open("/compose")
	b.waitView("compose")
	b.click("#compose-send")
	b.waitText("#compose-errors", "Subject: Write a subject.")
	b.do(chromedp.SendKeys(chromedp.ID("compose-subject"), "Library hours"))
	b.waitFor("the subject error to go", `!document.getElementById('error-subject') && !document.getElementById('compose-errors').textContent.includes('Subject:')`)
	require.False(t, evalJS[bool](b, `document.getElementById('compose-subject').hasAttribute('aria-invalid')`))
	require.True(t, evalJS[bool](b, `document.getElementById('compose-errors').textContent.includes('Message: Write a message.')`), "the others stay")
	b.do(chromedp.SendKeys(chromedp.ID("compose-to"), "Patricia"))
	require.True(t, evalJS[bool](b, `document.getElementById('error-to') !== null`), "typing is not choosing")
	b.clickText("#compose-to-options [role=option]", "Patricia Gomez")
	b.waitFor("the recipient error to go", `!document.getElementById('error-to')`)
	b.do(chromedp.SendKeys(chromedp.ID("compose-body"), "The library opens late on Monday."))
	b.waitFor("the summary to go", `document.getElementById('compose-errors').hidden`)

	// The server's refusal (too far ahead) reads once in the summary, and
	// goes once the field is edited.
	b.click("#compose-schedule-later")
	b.do(chromedp.SetValue(chromedp.ID("compose-when"), localInput(2*365*24*time.Hour)))
	b.click("#compose-send")
	const tooFar = "A message can be scheduled at most 1 year ahead."
	b.waitText("#compose-errors", tooFar)
	require.Equal(t, 1, occurrences(b, "#compose-errors", tooFar), "the summary says it once")
	require.Equal(t, 1, occurrences(b, "#field-scheduled_at", tooFar), "and the field once")
	b.click("#compose-schedule-now")
	b.waitFor("the schedule error to go", `document.getElementById('compose-errors').hidden && !document.querySelector('#field-scheduled_at.has-error')`)
}

// occurrences counts how often text shows in the page, or in the elements
// of the selector when one is given first.
func occurrences(b *tab, args ...string) int {
	b.t.Helper()
	selector, text := "body", args[len(args)-1]
	if len(args) == 2 {
		selector = args[0]
	}
	all := evalJS[string](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].map((e) => e.innerText).join('\n')`, js(selector)))
	return strings.Count(all, text)
}
