package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestAppWorksAtTheListenAddress opens the app at the address the demo
// listens on (127.0.0.1), not the one it prints (localhost): live updates
// connect, and a send, an archive, a reply and a sign-out are all accepted
// as coming from the server's own pages.
func TestAppWorksAtTheListenAddress(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	printed, err := url.Parse(e.baseURL)
	require.NoError(t, err)
	require.Equal(t, "localhost", printed.Hostname(), "the harness's server listens on 127.0.0.1 and prints localhost")
	listen := "http://127.0.0.1:" + printed.Port()
	subject := unique("Hearing screening at 127.0.0.1")

	guardian := e.newTab(t, "guardian")
	guardian.base = listen
	guardian.signIn("/inbox", guardianEmail)
	guardian.waitView("box")
	guardian.waitConnected()

	nurse := e.newTab(t, "nurse")
	nurse.base = listen
	nurse.signIn("/inbox", nurseEmail)
	nurse.waitConnected()
	nurse.compose(guardianName, subject, "Sofia's hearing screening is on Tuesday.", nil)
	nurse.waitView("message")
	require.True(t, strings.HasPrefix(evalJS[string](nurse, `location.href`), listen+"/messages/"), "still at the listen address")

	// The message arrives live in the guardian's open inbox.
	guardian.waitText("#message-list .message-subject", subject)
	guardian.clickText("#message-list .message-link", subject)
	guardian.waitView("message")
	guardian.click("#toggle-archive")
	guardian.waitText("#message-notice", "Archived.")
	guardian.do(chromedp.SendKeys(chromedp.ID("reply-body"), "Thank you, she will be there."))
	guardian.click("#reply-send")
	guardian.waitText("#reply-status", "Reply sent.")
	nurse.waitText(".thread .message-body", "Thank you, she will be there.")

	guardian.click("#sign-out")
	guardian.waitView("signin")
	guardian.waitText(".signin .notice", "You have signed out.")
	require.False(t, evalJS[bool](nurse, `document.body.textContent.includes('Cross-origin')`), "nothing was refused as cross-origin")
}
