package web

// Single sign-on end to end: the district's administrator sets up the
// district's OpenID provider on the District settings page, and a nurse
// then signs in with the "Sign in with …" button through a real (test)
// provider. It runs on a server of its own, since the button shows on
// the demo district's sign-in page once set.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"whitecross/internal/oidctest"
)

// waitSSOButton types the district and waits until the sign-in card has
// asked whether it signs in with its provider.
func waitSSOButton(b *tab, tenant string) {
	b.t.Helper()
	b.open("/")
	b.waitView("signin")
	evalJS[chromedp.Void](b, `document.getElementById('signin-tenant').value = ''`)
	b.do(chromedp.SendKeys(chromedp.ID("signin-tenant"), tenant))
	b.waitFor("the SSO check", `document.getElementById('signin-sso')?.dataset.tenant === `+js(tenant))
}

func TestSingleSignOn(t *testing.T) {
	own, _ := ownServer(t, endToEnd(t))
	idp := oidctest.Start(t)
	idp.SignInAs(oidctest.Identity{Email: nurseEmail})

	visitor := own.newTab(t, "visitor")
	waitSSOButton(visitor, "demo")
	require.True(t, evalJS[bool](visitor, `document.getElementById('signin-sso').hidden`), "no button without SSO")

	admin := own.newTab(t, "admin")
	admin.signIn("/settings", adminEmail)
	admin.waitView("settings")
	admin.do(
		chromedp.SendKeys(chromedp.ID("setting-sso-issuer"), idp.URL),
		chromedp.SendKeys(chromedp.ID("setting-sso-client-id"), idp.ClientID),
		chromedp.SendKeys(chromedp.ID("setting-sso-secret"), idp.ClientSecret),
		chromedp.SendKeys(chromedp.ID("setting-sso-domains"), "demo.example"),
	)
	admin.click("#setting-sso-save")
	admin.waitText("#setting-sso-saved", "Single sign-on is on.")
	require.Empty(t, evalJS[string](admin, `document.getElementById('setting-sso-secret').value`), "the secret field empties")
	admin.waitText("#setting-sso-secret-hint", "A secret is stored")
	admin.checkAccessibility("settings")

	var tenant map[string]any
	require.Equal(t, http.StatusOK, own.api(t, adminEmail).call(http.MethodGet, "/api/v1/tenant", nil, &tenant))
	oidc := tenant["settings"].(map[string]any)["oidc"].(map[string]any)
	require.Equal(t, idp.URL, oidc["issuer"])
	require.Equal(t, true, oidc["client_secret_set"])
	require.NotContains(t, oidc, "client_secret", "write-only")

	nurse := own.newTab(t, "nurse")
	waitSSOButton(nurse, "demo")
	provider := strings.TrimPrefix(idp.URL, "http://")
	nurse.waitText("#signin-sso", "Sign in with "+provider)
	nurse.click("#signin-sso")
	// The browser leaves for the provider and comes back: wait with a
	// query, which outlives the navigations, before evaluating scripts.
	nurse.do(chromedp.WaitReady(chromedp.CSS(`#main[data-state=ready]:not([data-view=signin])`)))
	nurse.waitText("#account-name", "Nora Lee")
	require.Equal(t, 1, idp.Authorizations())

	// With two-step sign-in on, the provider is not enough: the card asks
	// for the code (here a recovery code) before the app opens.
	api := own.api(t, nurseEmail)
	var setup struct {
		Secret string `json:"secret"`
	}
	require.Equal(t, http.StatusOK, api.call(http.MethodPost, "/api/v1/me/mfa/totp", nil, &setup))
	code, err := totp.GenerateCode(setup.Secret, time.Now())
	require.NoError(t, err)
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.Equal(t, http.StatusOK, api.call(http.MethodPost, "/api/v1/me/mfa/totp/confirm", map[string]string{"code": code}, &rc))
	nurse.click("#sign-out")
	nurse.waitView("signin")
	waitSSOButton(nurse, "demo")
	nurse.click("#signin-sso")
	nurse.do(chromedp.WaitReady(chromedp.ID("mfa-signin-code")))
	nurse.waitText("#signin-heading", "Two-step sign-in")
	require.Empty(t, evalJS[string](nurse, `location.hash`), "the token leaves the address bar")
	nurse.do(chromedp.SetValue(chromedp.ID("mfa-signin-code"), rc.RecoveryCodes[0]))
	nurse.click("#mfa-signin-submit")
	nurse.waitView("box")
	nurse.waitText("#account-name", "Nora Lee")
}
