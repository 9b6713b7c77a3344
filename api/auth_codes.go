package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

type requestCodeInput struct {
	Body struct {
		Tenant  string `json:"tenant" minLength:"1" maxLength:"63" doc:"The district's slug" example:"springfield"`
		Contact string `json:"contact" minLength:"1" maxLength:"254" doc:"An email or an E.164 mobile number" example:"+15551234567"`
	}
}

type verifyCodeInput struct {
	Body struct {
		Tenant  string `json:"tenant" minLength:"1" maxLength:"63" example:"springfield"`
		Contact string `json:"contact" minLength:"1" maxLength:"254" example:"+15551234567"`
		Code    string `json:"code" minLength:"1" maxLength:"16" writeOnly:"true" doc:"The 6 digits sent" example:"042137"`
	}
}

type forgotPasswordInput struct {
	Body struct {
		Tenant string `json:"tenant" minLength:"1" maxLength:"63" example:"springfield"`
		Email  string `json:"email" minLength:"1" maxLength:"254" example:"parent@example.com"`
	}
}

type resetPasswordInput struct {
	Body struct {
		Token    string `json:"token" minLength:"1" maxLength:"256" writeOnly:"true" doc:"From the link's token parameter"`
		Password string `json:"password" maxLength:"128" writeOnly:"true" doc:"12 to 128 characters, not your email or name, not easy to guess"`
	}
}

// signinRoutes are signing in with a code and resetting a forgotten
// password: the ways in for people without (or without their) password.
func (s *Server) signinRoutes() {
	limits := []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, tagAuth, authNone, huma.Operation{OperationID: "request-signin-code", Method: http.MethodPost, Path: "/api/v1/auth/code",
		Summary: "Send a sign-in code", DefaultStatus: http.StatusAccepted,
		Description: "Sends a 6-digit code to the contact (an email, or an E.164 mobile number by text message) when it is an " +
			"active user's of the district: valid 10 minutes, 5 tries, single use; a new request replaces the previous code. " +
			"202 whether or not the contact is known. A contact that is neither an email nor an E.164 number is 422 naming " +
			"body.contact. A contact may ask 5 times in 15 minutes and an address 20 times, then 429 with Retry-After.",
		Errors: limits}, s.requestCode)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "verify-signin-code", Method: http.MethodPost, Path: "/api/v1/auth/code/verify",
		Summary: "Sign in with a code",
		Description: "Answers exactly as POST /api/v1/auth/login (tokens and cookies). A wrong, expired or spent code, or an " +
			"unknown contact, is the same 401; wrong codes count toward the same lockout as wrong passwords (429 with Retry-After).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
			http.StatusServiceUnavailable}}, s.verifyCode)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "forgot-password", Method: http.MethodPost, Path: "/api/v1/auth/password/forgot",
		Summary: "Email a password reset link", DefaultStatus: http.StatusAccepted,
		Description: "Emails a link to PUBLIC_URL/reset?token=… when the email is an active user's: valid 30 minutes, single use; " +
			"a new request replaces an unused link. 202 whether or not the email is known; rate-limited as POST /api/v1/auth/code.",
		Errors: limits}, s.forgotPassword)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "reset-password", Method: http.MethodPost, Path: "/api/v1/auth/password/reset",
		Summary: "Set a new password with a reset link", DefaultStatus: http.StatusNoContent,
		Description: "Sets the password and ends every session of the user. A spent, expired or unknown token is 401; a password " +
			"that fails the policy is 422 naming body.password (the link stays good).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
			http.StatusServiceUnavailable}}, s.resetPassword)
}

// passwordless is the auth service's code and reset side.
func (s *Server) passwordless() (whitecross.PasswordlessAuth, error) {
	p, ok := s.deps.Auth.(whitecross.PasswordlessAuth)
	if !ok {
		return nil, whitecross.Errorf(whitecross.EUNAVAILABLE, "Signing in without a password is not available on this server.")
	}
	return p, nil
}

func (s *Server) requestCode(ctx context.Context, in *requestCodeInput) (*struct{}, error) {
	p, err := s.passwordless()
	if err != nil {
		return nil, err
	}
	return nil, p.RequestCode(ctx, whitecross.CodeRequest{TenantSlug: in.Body.Tenant, Contact: in.Body.Contact,
		ClientIP: stateFrom(ctx).clientIP})
}

func (s *Server) verifyCode(ctx context.Context, in *verifyCodeInput) (*tokenOutput, error) {
	p, err := s.passwordless()
	if err != nil {
		return nil, err
	}
	st := stateFrom(ctx)
	pair, user, err := p.LoginWithCode(ctx, whitecross.CodeLogin{TenantSlug: in.Body.Tenant, Contact: in.Body.Contact,
		Code: in.Body.Code, ClientIP: st.clientIP, UserAgent: st.userAgent})
	if err != nil {
		return nil, err
	}
	return s.tokenOutput(pair, user)
}

func (s *Server) forgotPassword(ctx context.Context, in *forgotPasswordInput) (*struct{}, error) {
	p, err := s.passwordless()
	if err != nil {
		return nil, err
	}
	return nil, p.ForgotPassword(ctx, whitecross.PasswordForgot{TenantSlug: in.Body.Tenant, Email: in.Body.Email,
		ClientIP: stateFrom(ctx).clientIP})
}

func (s *Server) resetPassword(ctx context.Context, in *resetPasswordInput) (*struct{}, error) {
	p, err := s.passwordless()
	if err != nil {
		return nil, err
	}
	return nil, p.ResetPassword(ctx, in.Body.Token, in.Body.Password, stateFrom(ctx).clientIP)
}
