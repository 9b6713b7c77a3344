package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// principalEmail is Patricia Gomez, whose time zone only the time test
// changes (no other test signs her in).
const principalEmail = "principal.lincoln@demo.example"

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
