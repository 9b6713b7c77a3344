package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// sensitiveMarker is what lists and threads show instead of a sensitive
// message's text.
const sensitiveMarker = "Sensitive — open to read"

// TestSensitiveMessageIsReadOnlyFromItsDetail: a sensitive message arrives
// live and sits in the inbox with its subject and a marker; neither the
// frame nor the list carries its text, which only opening it (the audited
// detail) shows. In the sender's thread, the guardian's sensitive reply is a
// link to its own detail, not its text.
func TestSensitiveMessageIsReadOnlyFromItsDetail(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	guardian := e.api(t, guardianEmail)
	subject := unique("Sofia's asthma check")
	secret := unique("Peak flow 180 after recess; two puffs given")

	b := e.newTab(t, "guardian")
	b.signIn("/inbox", guardianEmail)
	b.waitView("box")
	b.waitConnected()
	// A second socket of the page records the frames the server sends.
	evalJS[bool](b, `(() => {
		window.probeFrames = [];
		const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/api/v1/ws');
		ws.onmessage = (ev) => {
			window.probeFrames.push(ev.data);
			if (JSON.parse(ev.data).type === 'hello') ws.send(JSON.stringify({ type: 'ping', data: {} }));
		};
		return true;
	})()`)
	b.waitFor("the probe's pong", `window.probeFrames.some((f) => JSON.parse(f).type === 'pong')`)

	m := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": subject, "body": secret, "sensitive": true})
	item := fmt.Sprintf(`#message-list li[data-id=%q]`, m.ID)
	b.waitText(item+" .message-subject", subject)
	b.waitText(item+" .message-snippet", sensitiveMarker)
	b.waitFor("the live frame", fmt.Sprintf(`window.probeFrames.some((f) => f.includes(%s))`, js(m.ID)))
	require.False(t, evalJS[bool](b, fmt.Sprintf(`window.probeFrames.some((f) => f.includes(%s))`, js(secret))), "the live frame carries no sensitive text")
	require.False(t, evalJS[bool](b, fmt.Sprintf(`document.getElementById('main').textContent.includes(%s)`, js(secret))))

	// The list, as the app loads it, carries the subject but not the text.
	list := evalJS[string](b, `fetch('/api/v1/messages?box=inbox&limit=100').then((r) => r.text())`)
	require.Contains(t, list, subject)
	require.NotContains(t, list, secret, "the inbox list carries no sensitive body")
	b.open("/inbox")
	b.waitView("box")
	b.waitText(item+" .message-snippet", sensitiveMarker)
	require.False(t, evalJS[bool](b, fmt.Sprintf(`document.getElementById('main').textContent.includes(%s)`, js(secret))))

	// Opening it fetches the detail, which shows the text.
	b.clickText("#message-list .message-link", subject)
	b.waitView("message")
	b.waitText(".thread-message.is-current .message-body", secret)

	// The guardian's reply is sensitive too: the nurse's thread links to it.
	answer := unique("Her inhaler is in the front pocket")
	var reply apiMessage
	require.Equal(t, http.StatusCreated, guardian.call(http.MethodPost, "/api/v1/messages/"+m.ID+"/replies", map[string]any{"body": answer}, &reply))
	n := e.newTab(t, "nurse")
	n.signIn("/messages/"+m.ID, nurseEmail)
	n.waitView("message")
	n.waitText(".thread-message.is-current .message-body", secret)
	n.waitText(fmt.Sprintf(`.thread-message[data-id=%q] .message-body a.withheld`, reply.ID), sensitiveMarker)
	require.False(t, evalJS[bool](n, fmt.Sprintf(`document.getElementById('main').textContent.includes(%s)`, js(answer))))
	n.click(fmt.Sprintf(`.thread-message[data-id=%q] a.withheld`, reply.ID))
	n.waitView("message")
	n.waitText(fmt.Sprintf(`.thread-message.is-current[data-id=%q] .message-body`, reply.ID), answer)
}
