package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"
)

// TestTwoStepSignInFromTheAccountPage: a nurse sets up two-step sign-in on
// the Account page (a wrong code refused, the 10 recovery codes shown),
// then signing in again asks for the code of her authenticator app, which
// the test computes from the secret the page showed. (The second
// district's nurse: no other browser test signs in as her; two-step
// sign-in is turned off again at the end for whoever does next.)
func TestTwoStepSignInFromTheAccountPage(t *testing.T) {
	e := endToEnd(t)
	const tenant, email = "riverside", "nurse@riverside.example"
	b := e.newTab(t, "nurse-mfa")
	b.signInTo("/account", tenant, email, demoPassword)
	b.waitView("account")
	b.click("#mfa-start")
	b.waitFor("the secret", `!!document.getElementById('mfa-secret')`)
	secret := strings.ReplaceAll(evalJS[string](b, `document.getElementById('mfa-secret').textContent`), " ", "")
	require.Contains(t, evalJS[string](b, `document.getElementById('mfa-otpauth').getAttribute('href')`), "secret="+secret)
	b.waitFor("the QR code", `(() => { const i = document.getElementById('mfa-qr'); return i.complete && i.naturalWidth === 256; })()`)
	b.checkAccessibility("account-mfa")
	codeAt := func(at time.Time) string {
		code, err := totp.GenerateCode(secret, at)
		require.NoError(t, err)
		return code
	}

	wrong := "000000"
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		if codeAt(time.Now().Add(d)) == wrong {
			wrong = "999999"
		}
	}
	b.do(chromedp.SetValue(chromedp.ID("mfa-code"), wrong))
	b.click("#mfa-confirm")
	b.waitText("#mfa-code-error", "not right")
	b.do(chromedp.SetValue(chromedp.ID("mfa-code"), codeAt(time.Now())))
	b.click("#mfa-confirm")
	b.waitFor("the recovery codes", `document.querySelectorAll('#mfa-recovery-codes li').length === 10`)
	codes := evalJS[[]string](b, `[...document.querySelectorAll('#mfa-recovery-codes li')].map((li) => li.textContent)`)
	require.Len(t, codes, 10)
	t.Cleanup(func() { turnOffMFA(t, e, tenant, email, codes[9], codes[8]) })
	b.click("#mfa-done")
	b.waitText("#mfa-status", "Two-step sign-in is on")

	// Signing in again: the password alone opens nothing.
	b.click("#sign-out")
	b.waitView("signin")
	b.open("/inbox")
	b.waitView("signin")
	b.do(
		chromedp.SetValue(chromedp.ID("signin-tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("signin-email"), email),
		chromedp.SendKeys(chromedp.ID("signin-password"), demoPassword),
		chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")),
	)
	b.waitFor("the second step", `!!document.getElementById('mfa-signin-code')`)
	b.waitText("#signin-heading", "Two-step sign-in")
	// The code of the next step: the current one may be the one that
	// confirmed the set-up, and each code works once.
	b.do(chromedp.SetValue(chromedp.ID("mfa-signin-code"), codeAt(time.Now().Add(30*time.Second))))
	b.click("#mfa-signin-submit")
	b.waitView("box")
}

// turnOffMFA signs in with a recovery code and turns two-step sign-in off
// with another one.
func turnOffMFA(t *testing.T, e *e2e, tenant, email, recovery, another string) {
	c := &apiClient{t: t, base: e.baseURL}
	var first struct {
		MFAToken string `json:"mfa_token"`
	}
	require.Equal(t, http.StatusOK, c.call(http.MethodPost, "/api/v1/auth/login",
		map[string]string{"tenant": tenant, "email": email, "password": demoPassword}, &first))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, c.call(http.MethodPost, "/api/v1/auth/mfa",
		map[string]string{"mfa_token": first.MFAToken, "code": recovery}, &tok))
	c.token = tok.AccessToken
	require.NotEqual(t, "", c.token)
	require.Equal(t, http.StatusUnprocessableEntity, c.call(http.MethodDelete, "/api/v1/me/mfa/totp", map[string]string{"code": recovery}, nil),
		"the spent recovery code does not turn it off")
	require.Equal(t, http.StatusNoContent, c.call(http.MethodDelete, "/api/v1/me/mfa/totp", map[string]string{"code": another}, nil))
}

// TestDistrictRequiresTwoStepSignIn: once the district requires two-step
// sign-in of nurses, a nurse without it gets the set-up page instead of
// the inbox, and her session can reach nothing else; setting it up there
// opens the app.
func TestDistrictRequiresTwoStepSignIn(t *testing.T) {
	e := endToEnd(t)
	const tenant, email = "riverside", "nurse@riverside.example"
	admin := &apiClient{t: t, base: e.baseURL}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, admin.call(http.MethodPost, "/api/v1/auth/login",
		map[string]string{"tenant": tenant, "email": "admin@riverside.example", "password": demoPassword}, &tok))
	admin.token = tok.AccessToken
	setRoles := func(roles []string) {
		require.Equal(t, http.StatusOK, admin.call(http.MethodPatch, "/api/v1/tenant",
			map[string]any{"settings": map[string]any{"mfa_required_roles": roles}}, nil))
	}
	setRoles([]string{"NURSE"})
	t.Cleanup(func() { setRoles([]string{}) })

	b := e.newTab(t, "nurse-mfa-required")
	b.signInTo("/inbox", tenant, email, demoPassword)
	b.waitView("mfa-setup")
	b.waitText("#mfa-required-heading", "Set up two-step sign-in")
	require.Equal(t, float64(403), evalJS[float64](b, `fetch('/api/v1/messages').then((r) => r.status)`), "nothing else is open")
	b.click("#mfa-start")
	b.waitFor("the secret", `!!document.getElementById('mfa-secret')`)
	secret := strings.ReplaceAll(evalJS[string](b, `document.getElementById('mfa-secret').textContent`), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	b.do(chromedp.SetValue(chromedp.ID("mfa-code"), code))
	b.click("#mfa-confirm")
	b.waitFor("the recovery codes", `document.querySelectorAll('#mfa-recovery-codes li').length === 10`)
	codes := evalJS[[]string](b, `[...document.querySelectorAll('#mfa-recovery-codes li')].map((li) => li.textContent)`)
	t.Cleanup(func() { turnOffMFA(t, e, tenant, email, codes[0], codes[1]) })
	b.click("#mfa-done")
	b.waitView("box")
}

// TestDistrictSettingsRequireTwoStepSignIn: the admin ticks the roles
// that must use two-step sign-in on the District settings page; the
// district's settings then name them, and a reload shows them kept. (On a
// server of its own: other tests sign in as nurses of the demo district.)
func TestDistrictSettingsRequireTwoStepSignIn(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	admin := own.api(t, adminEmail)
	roles := func() []string {
		var tenant struct {
			Settings struct {
				MFARequiredRoles []string `json:"mfa_required_roles"`
			} `json:"settings"`
		}
		require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/tenant", nil, &tenant))
		return tenant.Settings.MFARequiredRoles
	}
	require.Empty(t, roles(), "none by default")

	b := own.newTab(t, "admin")
	b.signIn("/settings", adminEmail)
	b.waitView("settings")
	b.click("#setting-mfa-NURSE")
	b.click("#setting-mfa-SCHOOL_ADMIN")
	b.click("#setting-mfa-save")
	b.waitText("#setting-mfa-saved", "Two-step sign-in is required of: School admin, Nurse.")
	require.Equal(t, []string{"SCHOOL_ADMIN", "NURSE"}, roles())
	b.checkAccessibility("settings-mfa")
	b.open("/settings")
	b.waitView("settings")
	require.True(t, evalJS[bool](b, `document.getElementById('setting-mfa-NURSE').checked`), "kept")
	require.False(t, evalJS[bool](b, `document.getElementById('setting-mfa-ADMIN').checked`))
}
