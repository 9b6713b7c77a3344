package web

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// newFamily has the admin add a guardian without a password (as a roster
// import does) and returns the guardian's email.
func newFamily(t *testing.T, e *e2e) string {
	t.Helper()
	email := fmt.Sprintf("family.%d@demo.example", time.Now().UnixNano()%1_000_000_000)
	status := e.api(t, adminEmail).call(http.MethodPost, "/api/v1/users",
		map[string]any{"email": email, "name": "Robin Family", "role": "GUARDIAN"}, nil)
	require.Equal(t, http.StatusCreated, status)
	return email
}

// sentTo waits for the demo outbox to hold n emails to `to` whose text
// matches pattern, and returns the newest one's first group.
func sentTo(t *testing.T, e *e2e, to string, pattern *regexp.Regexp, n int) string {
	t.Helper()
	admin := e.api(t, adminEmail)
	var found []string
	require.Eventually(t, func() bool {
		var out struct {
			Items []struct{ To, Text string } `json:"items"`
		}
		if admin.call(http.MethodGet, "/api/v1/dev/outbox?channel=email&limit=1000", nil, &out) != http.StatusOK {
			return false
		}
		found = found[:0]
		for _, m := range out.Items { // newest first
			if g := pattern.FindStringSubmatch(m.Text); m.To == to && g != nil {
				found = append(found, g[1])
			}
		}
		return len(found) >= n
	}, waitTimeout, 50*time.Millisecond, "%d email(s) to %s matching %s", n, to, pattern)
	return found[0]
}

var (
	emailedCode = regexp.MustCompile(`code is ([0-9]{6})`)
	resetLink   = regexp.MustCompile(`(http\S+/reset\?token=\S+)`)
)

// TestGuardianSignsInWithAnEmailedCode: a guardian the district added
// without a password asks for a code, asks for a new one (the first then
// fails, with a clear error), then signs in with the code from the email.
func TestGuardianSignsInWithAnEmailedCode(t *testing.T) {
	e := endToEnd(t)
	email := newFamily(t, e)
	b := e.newTab(t, "family")
	b.open("/inbox")
	b.waitView("signin")
	b.do(chromedp.SetValue(chromedp.ID("signin-tenant"), "demo"))
	b.click("#signin-use-code")
	b.do(chromedp.SendKeys(chromedp.ID("code-contact"), email), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitText("#code-sent", email)
	first := sentTo(t, e, email, emailedCode, 1)

	// "Send a new code" replaces the first, which then no longer works.
	b.click("#code-resend")
	b.waitText("#code-sent", "A new code is on its way")
	code := sentTo(t, e, email, emailedCode, 2)
	if code != first {
		b.do(chromedp.SendKeys(chromedp.ID("code-input"), first), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
		b.waitText("#signin-error", "That code is not right")
		require.Equal(t, "signin-error", evalJS[string](b, `document.activeElement.id`), "the error takes the focus")
	}
	b.do(chromedp.SendKeys(chromedp.ID("code-input"), "12345"), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitText("#signin-error", "Enter the 6 digits")
	evalJS[chromedp.Void](b, `document.getElementById('code-input').value = ''`)
	b.do(chromedp.SendKeys(chromedp.ID("code-input"), code), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitView("box")
	b.waitText("#account-name", "Robin Family")
}

// TestPasswordResetByEmailLink: "Forgot your password?" emails a link; the
// link's page refuses a weak password, sets a good one, and the new
// password signs in.
func TestPasswordResetByEmailLink(t *testing.T) {
	e := endToEnd(t)
	email := newFamily(t, e)
	b := e.newTab(t, "forgot")
	b.open("/")
	b.waitView("signin")
	b.do(chromedp.SetValue(chromedp.ID("signin-tenant"), "demo"))
	b.click("#signin-forgot")
	b.do(chromedp.SendKeys(chromedp.ID("forgot-email"), email), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitText("#forgot-sent", "on its way")
	link := sentTo(t, e, email, resetLink, 1)

	b.do(chromedp.Navigate(link))
	b.waitView("signin")
	b.waitFor("the new password form", `!!document.getElementById('reset-password')`)
	b.do(chromedp.SendKeys(chromedp.ID("reset-password"), "password1234"), chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitFor("the weak password refused", `!document.getElementById('signin-error').hidden`)
	const good = "lantern orchard quietly sixteen"
	evalJS[chromedp.Void](b, `document.getElementById('reset-password').value = ''`)
	b.do(chromedp.SendKeys(chromedp.ID("reset-password"), good),
		chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitText("#signin-status", "new password is set")
	require.Equal(t, "/", evalJS[string](b, `location.pathname`), "the token leaves the address bar")

	require.Equal(t, "demo", evalJS[string](b, `document.getElementById('signin-tenant').value`), "the district is remembered")
	b.do(chromedp.SendKeys(chromedp.ID("signin-email"), email), chromedp.SendKeys(chromedp.ID("signin-password"), good),
		chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")))
	b.waitView("box")
}

// TestSignInCardLayout is issue 14 part 9: at desktop width the sign-in
// page is a centred card of a comfortable width, not a narrow column at
// the top left; on a phone it fills the width.
func TestSignInCardLayout(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "layout")
	b.open("/")
	b.waitView("signin")
	card := func() []float64 {
		return evalJS[[]float64](b, `(() => { const r = document.querySelector('.signin').getBoundingClientRect();
			return [r.left, r.right, r.width, document.documentElement.clientWidth]; })()`)
	}
	g := card()
	left, right, width, vw := g[0], g[1], g[2], g[3]
	require.InDelta(t, vw/2, (left+right)/2, 2, "the card is centred: %v", g)
	require.GreaterOrEqual(t, width, 400.0, "the card is not squeezed: %v", g)
	require.LessOrEqual(t, width, 520.0, "the card is a card, not the page: %v", g)
	require.Empty(t, b.contrastProblems(), "text contrast on the sign-in card")
	b.screenshot("signin-desktop", 1280, 800)

	b.do(chromedp.EmulateViewport(390, 844))
	b.waitFor("the phone layout", `document.documentElement.clientWidth <= 390`)
	g = card()
	require.GreaterOrEqual(t, g[2], g[3]-40, "on a phone the card takes the width: %v", g)
	require.GreaterOrEqual(t, g[0], 0.0, "and stays on screen: %v", g)
	b.phoneChecks("sign-in", false)
	b.click("#signin-use-code")
	b.waitFor("the code form", `!!document.getElementById('code-contact')`)
	b.phoneChecks("sign-in with a code", false)
	b.click("#signin-back")
	b.click("#signin-forgot")
	b.waitFor("the reset form", `!!document.getElementById('forgot-email')`)
	b.phoneChecks("forgot password", false)
}
