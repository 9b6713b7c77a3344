package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestReadReceiptsNeverGoBack: the guardian reads a message and marks it
// unread again; the nurse still sees "Read by 1 of 1" with the guardian
// among the readers. A guardian who replies without opening the message
// has read it too.
func TestReadReceiptsNeverGoBack(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	guardian := e.api(t, guardianEmail)
	m := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": unique("Eye drops at lunch"),
		"body": "Sofia had her eye drops at lunch."})

	g := e.newTab(t, "guardian")
	g.signIn("/messages/"+m.ID, guardianEmail)
	g.waitView("message")
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
