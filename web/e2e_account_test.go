package web

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestChangePasswordFromTheAccountPage: a person changes their own password
// in the app; it needs the current one, says which field is wrong, refuses
// a weak one, and ends their other sessions while this one stays. (The
// second district's guardian: no other browser test signs in as them.)
func TestChangePasswordFromTheAccountPage(t *testing.T) {
	e := endToEnd(t)
	const tenant, email, next = "riverside", "guardian@riverside.example", "lunchbox violin 47 harbor"
	login := func(password string) (*apiClient, int) {
		c := &apiClient{t: t, base: e.baseURL}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		status := c.call(http.MethodPost, "/api/v1/auth/login", map[string]string{"tenant": tenant, "email": email, "password": password}, &out)
		c.token = out.AccessToken
		return c, status
	}
	other, status := login(demoPassword)
	require.Equal(t, http.StatusOK, status)

	b := e.newTab(t, "guardian")
	b.signInTo("/inbox", tenant, email, demoPassword)
	b.waitView("box")
	b.click("#nav-account")
	b.waitView("account")
	b.waitText("#account-heading", "Your account")
	b.checkAccessibility("account")

	change := func(current, newPassword, again string) {
		b.do(chromedp.SetValue(chromedp.ID("current-password"), current),
			chromedp.SetValue(chromedp.ID("new-password"), newPassword),
			chromedp.SetValue(chromedp.ID("new-password-again"), again))
		b.click("#password-submit")
	}
	change("a guess at it", next, next)
	b.waitText("#current-password-error", "The current password is wrong.")
	require.True(t, evalJS[bool](b, `document.getElementById('current-password').getAttribute('aria-invalid') === 'true'`))
	change(demoPassword, "password1234", "password1234")
	b.waitText("#new-password-error", "too easy to guess")
	change(demoPassword, next, next+"!")
	b.waitText("#new-password-again-error", "The two new passwords differ.")
	require.Equal(t, http.StatusOK, other.call(http.MethodGet, "/api/v1/me", nil, nil), "refused changes end nothing")

	change(demoPassword, next, next)
	b.waitText("#password-changed", "Your password is changed.")
	require.Equal(t, http.StatusUnauthorized, other.call(http.MethodGet, "/api/v1/me", nil, nil), "the other session ended")
	b.click("#nav-inbox")
	b.waitView("box")

	// Put the demo's password back for whoever signs in next.
	again, status := login(next)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusNoContent, again.call(http.MethodPut, "/api/v1/me/password",
		map[string]string{"current_password": next, "new_password": demoPassword}, nil))
}
