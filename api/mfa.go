package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// TOTPSetup is what an authenticator app needs: scan otpauth_url as a QR
// code, or type the secret.
type TOTPSetup struct {
	Secret     string `json:"secret" doc:"Base32 secret, for typing into an authenticator app"`
	OTPAuthURL string `json:"otpauth_url" doc:"otpauth://totp/… URL, for a QR code"`
}

type totpSetupOutput struct{ Body TOTPSetup }

type totpCodeInput struct {
	Body struct {
		Code string `json:"code" minLength:"1" maxLength:"32" writeOnly:"true" doc:"The 6 digits the authenticator app shows (to turn off: or a recovery code)" example:"042137"`
	}
}

// RecoveryCodes are shown once, when two-step sign-in is turned on.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes" nullable:"false" doc:"10 single-use codes for when the phone is lost; shown only now"`
}

type recoveryCodesOutput struct{ Body RecoveryCodes }

type mfaLoginInput struct {
	Body struct {
		MFAToken string `json:"mfa_token" minLength:"1" maxLength:"256" writeOnly:"true" doc:"From the sign-in's answer"`
		Code     string `json:"code" minLength:"1" maxLength:"32" writeOnly:"true" doc:"The 6 digits of the authenticator app, or an unused recovery code" example:"042137"`
	}
}

// mfaSetupOperations are the operations a session may use while it may
// only set up two-step sign-in (Actor.MFASetupOnly).
var mfaSetupOperations = map[string]bool{
	"me": true, "logout": true, "begin-totp": true, "confirm-totp": true, "totp-qr-code": true,
}

// errMFASetupRequired answers every other operation of such a session.
var errMFASetupRequired = whitecross.Errorf(whitecross.EFORBIDDEN,
	"Your district requires two-step sign-in for your role: set it up first (POST /api/v1/me/mfa/totp).")

// mfaRoutes are two-step sign-in: enrolment and the second step.
func (s *Server) mfaRoutes() {
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "begin-totp", Method: http.MethodPost, Path: "/api/v1/me/mfa/totp",
		Summary: "Start setting up two-step sign-in",
		Description: "Makes a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 seconds) for the caller, stored encrypted with the " +
			"district's key, not yet on: confirm it with a code. A new call replaces an unconfirmed secret; 409 when it is already on.",
		Errors: []int{http.StatusConflict}}, s.beginTOTP)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "totp-qr-code", Method: http.MethodGet, Path: "/api/v1/me/mfa/totp/qr.png",
		Summary: "QR code of the secret being set up",
		Description: "A PNG QR code of the otpauth_url of the caller's unconfirmed secret, for an authenticator app to scan " +
			"(an image of this server, which the web app's Content Security Policy allows). Not stored by caches. 404 when " +
			"no set-up is in progress.",
		Errors: []int{http.StatusNotFound}}, s.totpQRCode)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "confirm-totp", Method: http.MethodPost, Path: "/api/v1/me/mfa/totp/confirm",
		Summary: "Turn two-step sign-in on",
		Description: "Turns TOTP on with a code of the new secret and answers the 10 recovery codes, shown only now (stored hashed, " +
			"each single use). A wrong code is 422 naming body.code; wrong codes count toward the sign-in lockout (429).",
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}}, s.confirmTOTP)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "disable-totp", Method: http.MethodDelete, Path: "/api/v1/me/mfa/totp",
		Summary: "Turn two-step sign-in off", DefaultStatus: http.StatusNoContent,
		Description: "Needs a current code or an unused recovery code (422 naming body.code otherwise). A district that requires " +
			"it for the caller's role then allows the caller's sessions only to set it up again.",
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests}}, s.disableTOTP)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "mfa-login", Method: http.MethodPost, Path: "/api/v1/auth/mfa",
		Summary: "Second step of a sign-in",
		Description: "After a sign-in answered mfa_required: the mfa_token (5 minutes, single use) and a TOTP code (each code " +
			"works once) or an unused recovery code. Answers exactly as POST /api/v1/auth/login. A wrong, reused or spent code, " +
			"or an expired or spent token, is 401; 5 wrong codes spend the token, and wrong codes count toward the user's lockout (429).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
			http.StatusServiceUnavailable}}, s.mfaLogin)
}

// mfaService is the auth service's two-step side.
func (s *Server) mfaService() (whitecross.MFAService, error) {
	m, ok := s.deps.Auth.(whitecross.MFAService)
	if !ok {
		return nil, whitecross.Errorf(whitecross.EUNAVAILABLE, "Two-step sign-in is not available on this server.")
	}
	return m, nil
}

func (s *Server) beginTOTP(ctx context.Context, _ *struct{}) (*totpSetupOutput, error) {
	m, err := s.mfaService()
	if err != nil {
		return nil, err
	}
	setup, err := m.BeginTOTP(ctx)
	if err != nil {
		return nil, err
	}
	return &totpSetupOutput{Body: TOTPSetup{Secret: setup.Secret, OTPAuthURL: setup.OTPAuthURL}}, nil
}

type pngOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

func (s *Server) totpQRCode(ctx context.Context, _ *struct{}) (*pngOutput, error) {
	m, err := s.mfaService()
	if err != nil {
		return nil, err
	}
	img, err := m.TOTPQRCode(ctx)
	if err != nil {
		return nil, err
	}
	return &pngOutput{ContentType: "image/png", CacheControl: "no-store", Body: img}, nil
}

func (s *Server) confirmTOTP(ctx context.Context, in *totpCodeInput) (*recoveryCodesOutput, error) {
	m, err := s.mfaService()
	if err != nil {
		return nil, err
	}
	codes, err := m.ConfirmTOTP(ctx, in.Body.Code)
	if err != nil {
		return nil, err
	}
	return &recoveryCodesOutput{Body: RecoveryCodes{RecoveryCodes: codes}}, nil
}

func (s *Server) disableTOTP(ctx context.Context, in *totpCodeInput) (*struct{}, error) {
	m, err := s.mfaService()
	if err != nil {
		return nil, err
	}
	return nil, m.DisableTOTP(ctx, in.Body.Code)
}

func (s *Server) mfaLogin(ctx context.Context, in *mfaLoginInput) (*tokenOutput, error) {
	m, err := s.mfaService()
	if err != nil {
		return nil, err
	}
	st := stateFrom(ctx)
	pair, user, err := m.LoginWithMFA(ctx, whitecross.MFALogin{Token: in.Body.MFAToken, Code: in.Body.Code,
		ClientIP: st.clientIP, UserAgent: st.userAgent})
	if err != nil {
		return nil, err
	}
	return s.tokenOutput(pair, user)
}

// mfaChallengeOutput is the answer to a first factor of a user with
// two-step sign-in: no tokens, no cookies.
func mfaChallengeOutput(pair *whitecross.TokenPair) *tokenOutput {
	return &tokenOutput{Body: TokenResponse{MFARequired: true, MFAToken: pair.MFAToken}}
}

// SignedIn is the signed-in user with the state of their two-step sign-in.
type SignedIn struct {
	User
	MFAEnabled       bool `json:"mfa_enabled" doc:"Two-step sign-in (TOTP) is on"`
	MFASetupRequired bool `json:"mfa_setup_required" doc:"The district requires two-step sign-in of this role and it is not on: this session may only set it up"`
}

type signedInOutput struct{ Body SignedIn }

// signedIn answers GET /me.
func (s *Server) signedIn(ctx context.Context, actor *whitecross.Actor, u *whitecross.User) (*signedInOutput, error) {
	out := &signedInOutput{Body: SignedIn{User: userFrom(u), MFASetupRequired: actor.MFASetupOnly}}
	if m, ok := s.deps.Auth.(whitecross.MFAService); ok {
		on, err := m.TOTPEnabled(ctx)
		if err != nil {
			return nil, err
		}
		out.Body.MFAEnabled = on
	}
	return out, nil
}
