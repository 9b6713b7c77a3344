package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

const (
	nurseEmail    = "nurse.lincoln@demo.example"   // Nora Lee, Lincoln Elementary
	guardianEmail = "guardian.garcia@demo.example" // Maria Garcia, Sofia's mother (Lincoln)
	guardianName  = "Maria Garcia"
	nurseName     = "Nora Lee"
)

// TestSignInOpensTheLinkedMessageAndSignsOut follows the link of an email
// notice: signed out, /messages/{id} asks to sign in, then shows that
// message. A wrong password is refused with a message; signing out ends
// the session (a reload shows the sign-in form again).
func TestSignInOpensTheLinkedMessageAndSignsOut(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	guardian := e.api(t, guardianEmail)
	subject := unique("Field trip form")
	m := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": subject, "body": "Please sign the form."})

	b := e.newTab(t, "guardian")
	b.open("/messages/" + m.ID)
	b.waitView("signin")
	b.do(
		chromedp.SetValue(chromedp.ID("signin-tenant"), "demo"),
		chromedp.SendKeys(chromedp.ID("signin-email"), guardianEmail),
		chromedp.SendKeys(chromedp.ID("signin-password"), "not the password"),
		chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")),
	)
	b.waitText("#signin-error", "The district, email or password is not right.")
	require.Equal(t, "signin-error", evalJS[string](b, `document.activeElement.id`), "the error takes the focus")

	b.do(chromedp.SendKeys(chromedp.ID("signin-password"), demoPassword+kb.Enter))
	b.waitView("message")
	require.Equal(t, subject, evalJS[string](b, `document.querySelector('h1').textContent`))
	require.Equal(t, "/messages/"+m.ID, evalJS[string](b, `location.pathname`))
	b.waitText("#account-name", guardianName)

	b.click("#sign-out")
	b.waitView("signin")
	b.waitText(".signin .notice", "You have signed out.")
	b.do(chromedp.Reload())
	b.waitView("signin")
	require.Equal(t, http.StatusUnauthorized, evalJS[int](b, `fetch('/api/v1/me').then((r) => r.status)`), "the session is over")
}

// TestComposeShowsValidationErrorsAndSends uses the compose form with the
// keyboard: the form's own checks, a recipient chosen by type-ahead, the
// server's refusal of an http attachment shown at that field, then a send.
func TestComposeShowsValidationErrorsAndSends(t *testing.T) {
	e := endToEnd(t)
	subject := unique("Vision screening")
	b := e.newTab(t, "nurse")
	b.signIn("/compose", nurseEmail)
	b.waitView("compose")

	b.click("#compose-send")
	b.waitText("#compose-errors", "To: Choose at least one recipient.")
	b.waitText("#compose-errors", "Subject: Write a subject.")
	b.waitText("#compose-errors", "Message: Write a message.")
	require.Equal(t, "compose-errors", evalJS[string](b, `document.activeElement.id`), "the error summary takes the focus")
	require.Equal(t, "true", evalJS[string](b, `document.getElementById('compose-subject').getAttribute('aria-invalid')`))

	// Type-ahead: type part of a name, arrow down, Enter.
	b.do(chromedp.SendKeys(chromedp.ID("compose-to"), "Gar"))
	b.waitText("#compose-to-options [role=option]", guardianName)
	b.do(chromedp.SendKeys(chromedp.ID("compose-to"), kb.ArrowDown+kb.Enter))
	b.waitText("#compose-to-chosen .chip", guardianName)

	b.do(
		chromedp.SendKeys(chromedp.ID("compose-subject"), subject),
		chromedp.SendKeys(chromedp.ID("compose-body"), "Sofia's vision screening is **normal**."),
		chromedp.Click(chromedp.ID("compose-format-markdown")),
		chromedp.Click(chromedp.ID("compose-preview-toggle")),
	)
	b.waitText("#compose-preview strong", "normal")
	b.click("#compose-add-attachment")
	b.do(chromedp.SendKeys(chromedp.ID("compose-attachment-url-0"), "http://files.example.org/vision.pdf"),
		chromedp.SendKeys(chromedp.ID("compose-attachment-name-0"), "vision.pdf"))
	b.click("#compose-send")
	// The server refuses a link that is not https, naming the field.
	b.waitText("#field-attachments .field-error", "https")
	b.waitText("#compose-errors", "Attachments:")
	guardian := e.api(t, guardianEmail)
	require.Empty(t, guardian.withSubject("inbox", subject), "a refused message stores nothing")

	b.do(chromedp.SetValue(chromedp.ID("compose-attachment-url-0"), "https://files.example.org/vision.pdf"))
	b.click("#compose-send")
	b.waitView("message")
	b.waitText("h1", subject)
	b.waitText(".thread-message.is-current .message-body strong", "normal")
	b.waitText(".attachments a", "vision.pdf")

	got := guardian.withSubject("inbox", subject)
	require.Len(t, got, 1)
	require.Equal(t, nurseName, got[0].Sender.Name)
}

// TestLoadMore pages through a long inbox with "load more": every message
// once, the button gone at the end, the focus on the first new message.
func TestLoadMore(t *testing.T) {
	e := endToEnd(t)
	const email = "guardian.nguyen@demo.example" // only this test writes to Linh Nguyen
	sender := e.api(t, "nurse.washington@demo.example")
	reader := e.api(t, email)
	for i := len(reader.box("inbox")); i < 2*PageSizeForTests+3; i++ {
		sender.send(map[string]any{"recipient_ids": []string{reader.user.ID}, "subject": fmt.Sprintf("Paging %02d", i), "body": "A message to page through."})
	}
	total := len(reader.box("inbox"))

	b := e.newTab(t, "guardian")
	b.signIn("/inbox", email)
	b.waitView("box")
	require.Equal(t, PageSizeForTests, evalJS[int](b, `document.querySelectorAll('#message-list > li').length`))
	for shown := PageSizeForTests; shown < total; {
		b.click("#load-more")
		next := min(shown+PageSizeForTests, total)
		b.waitFor(fmt.Sprintf("%d messages", next), fmt.Sprintf(`document.querySelectorAll('#message-list > li').length === %d`, next))
		require.Equal(t, fmt.Sprint(shown), evalJS[string](b, `String([...document.querySelectorAll('#message-list > li a')].indexOf(document.activeElement))`),
			"the focus moves to the first new message")
		shown = next
	}
	require.True(t, evalJS[bool](b, `document.getElementById('load-more').hidden`), "no more pages")
	ids := evalJS[[]string](b, `[...document.querySelectorAll('#message-list > li')].map((li) => li.dataset.id)`)
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "message %s shown twice", id)
		seen[id] = true
	}
	require.Len(t, ids, total)
}

// PageSizeForTests is the app's page size (view-box.js PAGE_SIZE).
const PageSizeForTests = 25

// TestScriptInMessageNeverRuns sends markup that would run script if it
// were ever inserted as HTML, in the subject and in plain and Markdown
// bodies, and in the compose preview; none of it runs, and the text shows.
func TestScriptInMessageNeverRuns(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	guardian := e.api(t, guardianEmail)
	subject := unique(`<img src=x onerror="window.__xss='subject'">`)
	attack := "<script>window.__xss='script'</script>\n\n<img src=x onerror=\"window.__xss='img'\">\n\n" +
		"[click me](javascript:window.__xss='link') <svg onload=\"window.__xss='svg'\"></svg>"
	markdown := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": subject, "body": attack, "body_format": "MARKDOWN"})
	plain := nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": subject + " plain", "body": attack})

	b := e.newTab(t, "guardian")
	b.signIn("/inbox", guardianEmail)
	b.waitText("#message-list .message-subject", subject)
	for _, m := range []apiMessage{markdown, plain} {
		b.open("/messages/" + m.ID)
		b.waitView("message")
		require.Equal(t, m.Subject, evalJS[string](b, `document.querySelector('h1').textContent`), "the subject shows as text")
		body := `document.querySelector('.thread-message.is-current .message-body')`
		require.Zero(t, evalJS[int](b, body+`.querySelectorAll('script, img[onerror], svg, [onload], a[href^="javascript"]').length`))
		b.waitText(".thread-message.is-current .message-body", "click me")
	}
	// Plain text shows the markup literally.
	b.waitText(".thread-message.is-current .message-body", "<script>window.__xss='script'</script>")

	b.signOutAndIn(nurseEmail, "/compose")
	b.do(chromedp.SendKeys(chromedp.ID("compose-body"), attack),
		chromedp.Click(chromedp.ID("compose-format-markdown")),
		chromedp.Click(chromedp.ID("compose-preview-toggle")))
	b.waitText("#compose-preview", "<script>window.__xss='script'</script>")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#compose-preview script, #compose-preview img, #compose-preview svg, #compose-preview a[href^="javascript"]').length`))

	// An HTML sink with text is refused by the page's Trusted Types policy.
	b.expectConsole("TrustedHTML") // the refusal provoked here is no failure
	require.Equal(t, "blocked", evalJS[string](b, `(() => { try { document.body.insertAdjacentHTML('beforeend', '<b>x</b>'); return 'inserted'; } catch { return 'blocked'; } })()`))
	require.Equal(t, "undefined", evalJS[string](b, `typeof window.__xss`), "no injected script ran")
}

// signOutAndIn signs out and signs in as someone else, landing on path.
func (b *tab) signOutAndIn(email, path string) {
	b.t.Helper()
	b.click("#sign-out")
	b.waitView("signin")
	b.signIn(path, email)
}

// expectConsole makes console messages containing text no failure, for a
// test that provokes them on purpose.
func (b *tab) expectConsole(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, text)
}

// TestTwoTabsRenewTheSessionOnce expires the access cookie under two open
// tabs that both call the API at once. A refresh token is single use, and
// presenting a spent one revokes the session: the tabs must agree on one
// refresh (a Web Lock) and both carry on signed in.
func TestTwoTabsRenewTheSessionOnce(t *testing.T) {
	e := endToEnd(t)
	a := e.newTab(t, "nurse, first tab")
	a.signIn("/inbox", nurseEmail)
	a.waitView("box")
	b := a.sibling(t, "nurse, second tab")
	b.open("/sent")
	b.waitView("box")

	a.do(chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, network.DeleteCookies, network.DeleteCookiesParams{Name: "wc_access", URL: e.baseURL + "/"})
		return err
	}))
	// Both tabs fire three requests each, without waiting: every one of
	// them meets the missing access cookie (401).
	const fire = `window.__calls = import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'api.js'))
		.then((api) => Promise.all([1, 2, 3].map(() => api.get('/api/v1/me').then((u) => u.name, (e) => 'error ' + e.status))));
		true`
	for _, tab := range []*tab{a, b} {
		require.True(t, evalJS[bool](tab, fire))
	}
	for _, tab := range []*tab{a, b} {
		require.Equal(t, []string{nurseName, nurseName, nurseName}, evalJS[[]string](tab, `window.__calls`), tab.name)
	}
	// The session survived: no tab presented a spent refresh token.
	for _, tab := range []*tab{a, b} {
		require.Equal(t, 200, evalJS[int](tab, `fetch('/api/v1/me').then((r) => r.status)`), tab.name)
		require.Equal(t, "box", evalJS[string](tab, `document.getElementById('main').dataset.view`), "%s is still signed in", tab.name)
	}
}
