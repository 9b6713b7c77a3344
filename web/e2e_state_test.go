package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// nurseWritesGuardianReads sends a message from the nurse to the guardian
// (through the API) and opens it in a signed-in guardian's tab.
func (e *e2e) nurseWritesGuardianReads(t *testing.T, subject, body string) (nurse, guardian *apiClient, m apiMessage, g *tab) {
	t.Helper()
	nurse, guardian = e.api(t, nurseEmail), e.api(t, guardianEmail)
	m = nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": unique(subject), "body": body})
	g = e.newTab(t, "guardian")
	g.signIn("/messages/"+m.ID, guardianEmail)
	g.waitView("message")
	return nurse, guardian, m, g
}

// TestReadReceiptsNeverGoBack: the guardian reads a message and marks it
// unread again; the nurse still sees "Read by 1 of 1" with the guardian
// among the readers. A guardian who replies without opening the message
// has read it too.
func TestReadReceiptsNeverGoBack(t *testing.T) {
	e := endToEnd(t)
	nurse, guardian, m, g := e.nurseWritesGuardianReads(t, "Eye drops at lunch", "Sofia had her eye drops at lunch.")
	g.waitFor("read", fmt.Sprintf(`fetch('/api/v1/messages/%s').then((r) => r.json()).then((m) => m.read_at !== null)`, m.ID))
	n := e.newTab(t, "nurse")
	n.signIn("/messages/"+m.ID, nurseEmail)
	n.waitView("message")
	n.waitText("#receipt-summary", "Read by 1 of 1")

	g.click("#toggle-read")
	g.waitText("#message-notice", "Marked as unread.")
	require.Len(t, guardian.withSubject("inbox", m.Subject), 1)
	require.Nil(t, guardian.withSubject("inbox", m.Subject)[0].ReadAt, "unread in the guardian's own box")
	n.do(chromedp.Reload())
	n.waitView("message")
	n.waitText("#receipt-summary", "Read by 1 of 1")
	n.click("#receipt-toggle")
	n.waitText("#receipt-list .is-read", guardianName)

	// A reply is a read.
	m = nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": unique("Bus form"),
		"body": "Could you sign the bus form?"})
	require.Equal(t, http.StatusCreated, guardian.call(http.MethodPost, "/api/v1/messages/"+m.ID+"/replies",
		map[string]any{"body": "Signed, it is in her backpack."}, nil))
	n.open("/messages/" + m.ID)
	n.waitView("message")
	n.waitText("#receipt-summary", "Read by 1 of 1")
}

// TestLiveMessageIsShownAsItCame: a reply that arrives live in an open
// thread is shown from its frame, which is the REST Message (body_html
// included): the app asks the server nothing more for it.
func TestLiveMessageIsShownAsItCame(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	nurse, _, m, g := e.nurseWritesGuardianReads(t, "Lunch allergy", "Sofia's lunch had nuts today; she did not eat it.")
	g.waitConnected()
	var reply apiMessage
	require.Equal(t, http.StatusCreated, nurse.call(http.MethodPost, "/api/v1/messages/"+m.ID+"/replies",
		map[string]any{"body": "Line one,\nline <two>."}, &reply))
	g.waitFor("the reply, rendered from body_html", fmt.Sprintf(
		`document.querySelector('.thread-message[data-id=%q] .message-body')?.innerHTML === 'Line one,<br>\nline &lt;two&gt;.'`, reply.ID))
	fetched := evalJS[int](g, fmt.Sprintf(
		`performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/api/v1/messages/%s')).length`, reply.ID))
	require.Zero(t, fetched, "no extra request for a live message")
}
