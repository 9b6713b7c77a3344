package web

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestAcknowledgementShowsLiveInTheSendersReport: the nurse asks for an
// acknowledgement with escalation from the compose form; the guardian sees
// a clear "Acknowledge" button (and, in the inbox, that it is asked),
// presses it and reads "Acknowledged at …"; the nurse's open report goes
// from "Acknowledged by 0 of 1" to "1 of 1" without a reload, and lists
// the guardian among those who acknowledged.
func TestAcknowledgementShowsLiveInTheSendersReport(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	subject := unique("Gas leak drill: confirm pickup plan")

	guardian := e.newTab(t, "guardian")
	guardian.signIn("/inbox", guardianEmail)
	guardian.waitView("box")
	guardian.waitConnected()

	nurse := e.newTab(t, "nurse")
	nurse.signIn("/inbox", nurseEmail)
	nurse.waitView("box")
	nurse.waitConnected()
	nurse.compose(guardianName, subject, "Please confirm you have read the pickup plan.", func() {
		nurse.click("#compose-ack")
		nurse.click("#compose-escalate")
		nurse.do(chromedp.SetValue(chromedp.ID("compose-escalation-after"), ""),
			chromedp.SendKeys(chromedp.ID("compose-escalation-after"), "30"))
		nurse.click("#compose-escalation-channel-voice")
		nurse.checkAccessibility("compose with escalation")
		nurse.screenshot("ack-compose-desktop", 1280, 800)
	})
	nurse.waitView("message")
	nurse.waitText("#ack-summary", "Acknowledged by 0 of 1")
	nurse.waitText("#ack-pending-count", "1 not yet")
	nurse.waitText("#ack-escalation-info", "after 30 minutes is contacted again by text message and phone call")
	evalJS[bool](nurse, `window.__stillHere = true`)

	// The guardian is told it is asked, opens it and acknowledges.
	guardian.waitText("#message-list .badge-ack", "Please acknowledge")
	guardian.clickText("#message-list .message-link", subject)
	guardian.waitView("message")
	guardian.waitText("#ack-panel h2", "Acknowledgement requested")
	guardian.waitText("#ack-escalation", "text message and phone call")
	guardian.waitText("#ack-button", "Acknowledge")
	guardian.checkAccessibility("message asking for acknowledgement")
	guardian.screenshot("ack-request-desktop", 1280, 800)
	guardian.click("#ack-button")
	guardian.waitText("#ack-status", "Acknowledged at")
	require.False(t, evalJS[bool](guardian, `!!document.getElementById('ack-button')`), "the button is gone once answered")
	require.False(t, evalJS[bool](guardian, `!!document.querySelector('.badge-ack')`), "and so is the marker")

	// The nurse's open report shows it, live.
	nurse.waitText("#ack-summary", "Acknowledged by 1 of 1")
	nurse.waitText("#ack-pending-count", "Everyone has acknowledged.")
	require.True(t, evalJS[bool](nurse, `window.__stillHere === true`), "no reload")
	nurse.click("#ack-toggle")
	nurse.waitText("#ack-list-acked .is-acked", guardianName)
	nurse.waitText("#ack-list-pending", "Nobody.")
	nurse.checkAccessibility("report with acknowledgements")
	nurse.screenshot("ack-report-desktop", 1280, 800)

	// A reload of the guardian's page still says it was acknowledged.
	guardian.do(chromedp.Reload())
	guardian.waitView("message")
	guardian.waitText("#ack-status", "Acknowledged at")
}
