package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// nguyenEmail is Linh Nguyen, Mia's guardian (grade 8 at Washington); no
// other browser test signs in as her.
const nguyenEmail = "guardian.nguyen@demo.example"

// TestEmergencyAlertToOneSchool: the district admin writes an emergency
// alert for the families of one grade at one school (asking them to
// acknowledge it, as alerts do by default), confirms it with the preview's
// count in front of them, and a guardian of that grade sees it arrive live,
// marked as an emergency, and acknowledges it: the admin's open report
// shows the acknowledgement without reloading. A nurse has no alert page.
func TestEmergencyAlertToOneSchool(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	subject := unique("Shelter in place at Washington")

	guardian := e.newTab(t, "guardian")
	guardian.signIn("/inbox", nguyenEmail)
	guardian.waitView("box")
	guardian.waitConnected()

	admin := e.newTab(t, "admin")
	admin.signIn("/inbox", adminEmail)
	admin.waitView("box")
	admin.click("#nav-alert")
	admin.waitView("alert")
	admin.waitText("#alert-audience-preview", "people")
	admin.click("#alert-audience-scope-choose")
	admin.clickText("#alert-audience-choose label", "Washington")
	admin.clickText("#alert-audience-choose label", "Parent or guardian")
	admin.do(chromedp.SendKeys(chromedp.ID("alert-audience-grades"), "8"))
	admin.waitText("#alert-audience-preview", "1 person (1 Parent or guardian)")
	admin.checkAccessibility("alert")
	admin.do(
		chromedp.SendKeys(chromedp.ID("alert-subject"), subject),
		chromedp.SendKeys(chromedp.ID("alert-body"), "Keep students indoors until further notice. Pickup is delayed."),
	)
	require.True(t, evalJS[bool](admin, `document.getElementById('alert-ack').checked`), "an alert asks to be acknowledged by default")
	admin.click("#alert-review")
	admin.waitText("#alert-confirm-text", "EMERGENCY: “"+subject+"” to 1 person")
	admin.waitText("#alert-confirm-text", "Recipients are asked to acknowledge it.")
	require.True(t, evalJS[bool](admin, `document.getElementById('alert-form').hidden`), "nothing is sent before the confirm step")
	admin.click("#alert-send")
	admin.waitView("message")
	admin.waitText("#progress-summary", "Sent to 1 · In the app 1 · Read 0 · Not reached yet")

	guardian.waitText("#message-list .message-subject", subject)
	guardian.waitText("#message-list .is-emergency", "Emergency")
	guardian.waitText("#announcer", "Emergency message from")

	// The guardian acknowledges; the admin's report shows it, live.
	admin.waitText("#ack-summary", "Acknowledged by 0 of 1")
	evalJS[bool](admin, `window.__stillHere = true`)
	guardian.clickText("#message-list .message-link", subject)
	guardian.waitView("message")
	guardian.click("#ack-button")
	guardian.waitText("#ack-status", "Acknowledged at")
	admin.waitText("#ack-summary", "Acknowledged by 1 of 1")
	admin.waitText("#progress-summary", "Acknowledged 1")
	require.True(t, evalJS[bool](admin, `window.__stillHere === true`), "no reload")

	nurse := e.newTab(t, "nurse")
	nurse.signIn("/alert", nurseEmail)
	nurse.waitView("missing")
	require.False(t, evalJS[bool](nurse, `!!document.getElementById('nav-alert')`), "a nurse has no alert link")
}

// TestLargeBroadcastWaitsForApproval: with an approval threshold, a
// nurse's broadcast to Lincoln's families waits; Lincoln's principal finds
// it on the approvals page (with a badge in the navigation) and approves
// it, and it is sent.
func TestLargeBroadcastWaitsForApproval(t *testing.T) {
	e := endToEnd(t)
	admin := e.api(t, adminEmail)
	setThreshold := func(n int) {
		require.Equal(t, http.StatusOK, admin.call(http.MethodPatch, "/api/v1/tenant", map[string]any{"settings": map[string]any{"approval_threshold": n}}, nil))
	}
	setThreshold(1)
	t.Cleanup(func() { setThreshold(0) })

	nurse := e.api(t, nurseEmail)
	subject := unique("Hearing screening next week")
	var m apiMessage
	require.Equal(t, http.StatusCreated, nurse.call(http.MethodPost, "/api/v1/messages", map[string]any{
		"subject": subject, "body": "Screenings are on Tuesday.", "audience": map[string]any{"roles": []string{"GUARDIAN"}}}, &m))
	require.Equal(t, "PENDING_APPROVAL", m.Status)

	b := e.newTab(t, "principal")
	b.signIn("/inbox", principalEmail)
	b.waitView("box")
	b.waitText("#count-approvals", "1")
	b.click("#nav-approvals")
	b.waitView("approvals")
	b.waitText("#approvals-list", subject)
	b.checkAccessibility("approvals")
	b.clickText("#approvals-list .button-primary", "Approve")
	b.waitText("#announcer", "Approved: "+subject)
	b.waitFor("the approved broadcast to leave the list", fmt.Sprintf(`!document.getElementById('approvals-list').textContent.includes(%q)`, subject))
	var sent apiMessage
	require.Equal(t, http.StatusOK, nurse.call(http.MethodGet, "/api/v1/messages/"+m.ID, nil, &sent))
	require.Contains(t, []string{"SENDING", "SENT"}, sent.Status)
}
