package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store/storetest"
)

// mfaAnswer is a first factor's answer for a user with two-step sign-in.
type mfaAnswer struct {
	MFARequired bool   `json:"mfa_required"`
	MFAToken    string `json:"mfa_token"`
	AccessToken string `json:"access_token"`
}

// totpCode is the code an authenticator app shows at the test's clock.
func (b *signinBundle) totpCode(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, b.clock.Now())
	require.NoError(t, err)
	return code
}

// enrol turns TOTP on for u and returns its secret and recovery codes.
func (b *signinBundle) enrol(t *testing.T, u *whitecross.User) (string, []string) {
	t.Helper()
	token := b.token(t, b.d, u)
	res := b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp", token: token})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}
	res.decode(t, &setup)
	require.Contains(t, setup.OTPAuthURL, "otpauth://totp/")
	require.Contains(t, setup.OTPAuthURL, "secret="+setup.Secret)
	qr := b.do(t, req{method: "GET", path: "/api/v1/me/mfa/totp/qr.png", token: token})
	require.Equal(t, http.StatusOK, qr.status, "%s", qr.body)
	require.Equal(t, "image/png", qr.header.Get("Content-Type"))
	require.Equal(t, "no-store", qr.header.Get("Cache-Control"))
	require.Equal(t, "\x89PNG", string(qr.body[:4]))

	res = b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp/confirm", token: token, body: map[string]string{"code": "000000"}})
	if b.totpCode(t, setup.Secret) != "000000" {
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "a wrong code: %s", res.body)
		require.Contains(t, string(res.body), "body.code")
	}
	res = b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp/confirm", token: token,
		body: map[string]string{"code": b.totpCode(t, setup.Secret)}})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	res.decode(t, &rc)
	require.Len(t, rc.RecoveryCodes, 10)
	require.Equal(t, http.StatusNotFound, b.do(t, req{method: "GET", path: "/api/v1/me/mfa/totp/qr.png", token: token}).status,
		"no QR code once it is on")
	return setup.Secret, rc.RecoveryCodes
}

// firstFactor signs u in with the password and returns the answer.
func (b *signinBundle) firstFactor(t *testing.T, u *whitecross.User) (*response, mfaAnswer) {
	t.Helper()
	res := b.do(t, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"tenant": "springfield", "email": u.Email, "password": storetest.SeedPassword}})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var a mfaAnswer
	res.decode(t, &a)
	return res, a
}

func (b *signinBundle) secondFactor(t *testing.T, mfaToken, code string) *response {
	t.Helper()
	return b.do(t, req{method: "POST", path: "/api/v1/auth/mfa", body: map[string]string{"mfa_token": mfaToken, "code": code}})
}

func TestMFAEnrolAndSignInWithTOTP(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		nurse := b.d.LincolnNurse
		secret, _ := b.enrol(t, nurse)

		res, a := b.firstFactor(t, nurse)
		require.True(t, a.MFARequired)
		require.NotEmpty(t, a.MFAToken)
		require.Empty(t, a.AccessToken, "no session before the second step")
		require.Empty(t, res.header.Values("Set-Cookie"), "no cookies before the second step")

		code := b.totpCode(t, secret)
		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, a.MFAToken, code).status,
			"the code that confirmed the enrolment is spent")
		b.clock.Advance(30 * time.Second)
		code = b.totpCode(t, secret)
		res = b.secondFactor(t, a.MFAToken, code)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var tok mfaAnswer
		res.decode(t, &tok)
		require.NotEmpty(t, tok.AccessToken)
		require.Len(t, res.header.Values("Set-Cookie"), 3, "the session cookies, as a password login")
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/messages", token: tok.AccessToken}).status)

		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, a.MFAToken, b.totpCode(t, secret)).status, "a spent mfa_token")
		_, again := b.firstFactor(t, nurse)
		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, again.MFAToken, code).status, "a replayed code")

		events, err := b.st.AuditEvents(context.Background(), b.d.Tenant.ID, 0, 1000)
		require.NoError(t, err)
		actions := map[string]int{}
		for _, e := range events {
			actions[e.Action]++
			if strings.Contains(string(e.StoredDetail), `"during":"enrol"`) {
				actions["enrol failure"]++
			}
			require.NotContains(t, string(e.StoredDetail), secret, "%s never holds the secret", e.Action)
			require.NotContains(t, string(e.StoredDetail), code, "%s never holds the code", e.Action)
		}
		require.Equal(t, 1, actions[whitecross.AuditMFAEnrolled])
		require.Equal(t, 2, actions[whitecross.AuditMFAChallenged])
		require.Equal(t, 1, actions[whitecross.AuditMFAPassed])
		require.Equal(t, 1, actions["enrol failure"], "the wrong code at enrolment")
		require.Equal(t, 3, actions[whitecross.AuditMFAFailed], "that, the confirming code and the replay (a spent token names nobody)")
	})
}

func TestMFARecoveryCodeSingleUse(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		nurse := b.d.LincolnNurse
		_, codes := b.enrol(t, nurse)
		_, a := b.firstFactor(t, nurse)
		res := b.secondFactor(t, a.MFAToken, codes[3])
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		_, a = b.firstFactor(t, nurse)
		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, a.MFAToken, codes[3]).status, "a spent recovery code")
		require.Equal(t, http.StatusOK, b.secondFactor(t, a.MFAToken, codes[4]).status, "another one still works")

		events, err := b.st.AuditEvents(context.Background(), b.d.Tenant.ID, 0, 1000)
		require.NoError(t, err)
		used := 0
		for _, e := range events {
			if e.Action == whitecross.AuditMFARecoveryUsed {
				used++
			}
			for _, c := range codes {
				require.NotContains(t, string(e.StoredDetail), c)
			}
		}
		require.Equal(t, 2, used)
	})
}

func TestMFATokenExpiresAndWrongCodesLockOut(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		nurse := b.d.LincolnNurse
		secret, _ := b.enrol(t, nurse)
		_, a := b.firstFactor(t, nurse)
		b.clock.Advance(whitecross.MFATokenTTL)
		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, a.MFAToken, b.totpCode(t, secret)).status, "an expired mfa_token")
		require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, "not-a-token", b.totpCode(t, secret)).status, "an unknown mfa_token")

		// Wrong codes count like wrong passwords, and signing in again with
		// the password does not clear their count.
		for i := range 5 {
			_, a = b.firstFactor(t, nurse)
			wrong := "12345" + string(rune('0'+i))
			if wrong == b.totpCode(t, secret) {
				wrong = "999999"
			}
			require.Equal(t, http.StatusUnauthorized, b.secondFactor(t, a.MFAToken, wrong).status, "wrong code %d", i+1)
		}
		_, a = b.firstFactor(t, nurse)
		res := b.secondFactor(t, a.MFAToken, b.totpCode(t, secret))
		require.Equal(t, http.StatusTooManyRequests, res.status, "locked out: %s", res.body)
		require.NotEmpty(t, res.header.Get("Retry-After"))
	})
}

func TestMFACodeSignInAsksForSecondStep(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		nurse := b.d.LincolnNurse
		secret, _ := b.enrol(t, nurse)
		require.Equal(t, http.StatusAccepted, b.requestCode(t, nurse.Email).status)
		res := b.verify(t, nurse.Email, b.box.code(t, nurse.Email))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var a mfaAnswer
		res.decode(t, &a)
		require.True(t, a.MFARequired)
		require.Empty(t, a.AccessToken)
		require.Empty(t, res.header.Values("Set-Cookie"))
		b.clock.Advance(30 * time.Second)
		require.Equal(t, http.StatusOK, b.secondFactor(t, a.MFAToken, b.totpCode(t, secret)).status)
	})
}

func TestMFARequiredByDistrict(t *testing.T) {
	t.Parallel()
	forEachSigninDialect(t, func(t *testing.T, b *signinBundle) {
		admin := b.token(t, b.d, b.d.Admin)
		res := b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin,
			body: map[string]any{"settings": map[string]any{"mfa_required_roles": []string{"NURSE", "SCHOOL_ADMIN"}}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Contains(t, string(res.body), `"mfa_required_roles":["NURSE","SCHOOL_ADMIN"]`)
		res = b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin,
			body: map[string]any{"settings": map[string]any{"mfa_required_roles": []string{"NURSE", "NURSE"}}}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		require.Contains(t, string(res.body), "body.settings.mfa_required_roles[1]")

		nurse := b.d.LincolnNurse
		token := b.token(t, b.d, nurse)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages", token: token})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		require.Contains(t, res.problem(t).Detail, "two-step sign-in")
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "PATCH", path: "/api/v1/me", token: token,
			body: map[string]string{"name": "X"}}).status)
		me := b.do(t, req{method: "GET", path: "/api/v1/me", token: token})
		require.Equal(t, http.StatusOK, me.status)
		require.Contains(t, string(me.body), `"mfa_setup_required":true`)
		require.Contains(t, string(me.body), `"mfa_enabled":false`)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/messages", token: admin}).status,
			"an ADMIN is not required")

		// Setting it up turns the same session into a full one.
		res = b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp", token: token})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var setup struct{ Secret string }
		res.decode(t, &setup)
		res = b.do(t, req{method: "POST", path: "/api/v1/me/mfa/totp/confirm", token: token,
			body: map[string]string{"code": b.totpCode(t, setup.Secret)}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/messages", token: token}).status)
		me = b.do(t, req{method: "GET", path: "/api/v1/me", token: token})
		require.Contains(t, string(me.body), `"mfa_setup_required":false`)
		require.Contains(t, string(me.body), `"mfa_enabled":true`)

		// Turning it off needs a fresh code, and leaves a setup-only session.
		b.clock.Advance(30 * time.Second)
		res = b.do(t, req{method: "DELETE", path: "/api/v1/me/mfa/totp", token: token, body: map[string]string{"code": "abc"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		res = b.do(t, req{method: "DELETE", path: "/api/v1/me/mfa/totp", token: token,
			body: map[string]string{"code": b.totpCode(t, setup.Secret)}})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "GET", path: "/api/v1/messages", token: token}).status)
	})
}
