package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// Cookie and header names of the browser session.
const (
	cookieAccess  = "wc_access"
	cookieRefresh = "wc_refresh"
	cookieCSRF    = "wc_csrf"
	headerCSRF    = "X-CSRF-Token"

	refreshCookiePath = "/api/v1/auth"
	// sessionCookieAge is how long the refresh and CSRF cookies live: the
	// refresh token lifetime of auth.DefaultConfig.
	sessionCookieAge = 30 * 24 * time.Hour
)

type loginInput struct {
	Body struct {
		Tenant   string `json:"tenant" minLength:"1" maxLength:"63" doc:"The district's slug" example:"springfield"`
		Email    string `json:"email" minLength:"1" maxLength:"254" example:"nurse@springfield.example"`
		Password string `json:"password" minLength:"1" maxLength:"1024" writeOnly:"true"`
	}
}

// TokenResponse is the answer to a sign-in or a refresh.
// For a user with two-step sign-in a first factor answers only
// mfa_required and mfa_token.
type TokenResponse struct {
	AccessToken  string `json:"access_token,omitempty" doc:"Send as Authorization: Bearer <access_token>"`
	RefreshToken string `json:"refresh_token,omitempty" doc:"Single use: POST it to /api/v1/auth/refresh for a new pair"`
	TokenType    string `json:"token_type,omitempty" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in,omitempty" doc:"Seconds until the access token expires"`
	User         User   `json:"user,omitzero"`
	MFARequired  bool   `json:"mfa_required,omitempty" doc:"The user has two-step sign-in: no session yet; POST mfa_token and a code to /api/v1/auth/mfa"`
	MFAToken     string `json:"mfa_token,omitempty" doc:"With mfa_required: good for 5 minutes, once"`
}

type tokenOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie" doc:"wc_access, wc_refresh and wc_csrf session cookies for browsers"`
	Body      TokenResponse
}

type refreshInput struct {
	RefreshCookie string `cookie:"wc_refresh" doc:"Browser alternative to the body; needs X-CSRF-Token"`
	Body          *struct {
		RefreshToken string `json:"refresh_token,omitempty" maxLength:"512" writeOnly:"true"`
	}
}

type logoutOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie" doc:"Expires the session cookies"`
}

type meOutput struct{ Body User }

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password" minLength:"1" maxLength:"1024" writeOnly:"true"`
		NewPassword     string `json:"new_password" maxLength:"128" writeOnly:"true" doc:"12 to 128 characters, not your email or name, not easy to guess"`
	}
}

// JWKSet is a JSON Web Key Set (RFC 7517).
type JWKSet struct {
	Keys []map[string]any `json:"keys" nullable:"false" doc:"Ed25519 public keys (kty OKP, crv Ed25519, alg EdDSA) named by kid"`
}

type jwksOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         JWKSet
}

func (s *Server) login(ctx context.Context, in *loginInput) (*tokenOutput, error) {
	st := stateFrom(ctx)
	pair, user, err := s.deps.Auth.Login(ctx, whitecross.LoginRequest{
		TenantSlug: in.Body.Tenant,
		Email:      in.Body.Email,
		Password:   in.Body.Password,
		ClientIP:   st.clientIP,
		UserAgent:  st.userAgent,
	})
	if err != nil {
		return nil, err
	}
	return s.tokenOutput(pair, user)
}

// refreshToken returns the refresh token from the body, else from the
// cookie; the cookie is ambient authority, so that case needs the CSRF header.
func (s *Server) refreshToken(ctx context.Context, in *refreshInput) (string, error) {
	if in.Body != nil && in.Body.RefreshToken != "" {
		return in.Body.RefreshToken, nil
	}
	if in.RefreshCookie == "" {
		return "", nil
	}
	if err := s.checkCSRF(stateFrom(ctx).req); err != nil {
		return "", err
	}
	return in.RefreshCookie, nil
}

// refresh spends a refresh token for a new pair.
func (s *Server) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	token, err := s.refreshToken(ctx, in)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, whitecross.Errorf(whitecross.EUNAUTHORIZED, "A refresh token is required.")
	}
	pair, user, err := s.deps.Auth.Refresh(ctx, token, stateFrom(ctx).clientIP)
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
		// The session is over: stop the browser from retrying with it.
		var expired []string
		for _, c := range s.expiredCookies() {
			expired = append(expired, c.String())
		}
		return nil, huma.ErrorWithHeaders(s.problem(ctx, err), http.Header{"Set-Cookie": expired})
	} else if err != nil {
		return nil, err
	}
	return s.tokenOutput(pair, user)
}

// logout revokes the session of the refresh token in the body or cookie,
// else the caller's own session, and always expires the cookies.
func (s *Server) logout(ctx context.Context, in *refreshInput) (*logoutOutput, error) {
	token, err := s.refreshToken(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Auth.Logout(ctx, token, whitecross.ActorFromContext(ctx)); err != nil {
		return nil, err
	}
	return &logoutOutput{SetCookie: s.expiredCookies()}, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*signedInOutput, error) {
	actor, err := whitecross.RequireActor(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.deps.Users.FindUserByID(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	return s.signedIn(ctx, actor, u)
}

func (s *Server) jwks(ctx context.Context, _ *struct{}) (*jwksOutput, error) {
	out := &jwksOutput{CacheControl: "public, max-age=300"}
	if err := json.Unmarshal(s.deps.JWKS(), &out.Body); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	if out.Body.Keys == nil {
		out.Body.Keys = []map[string]any{}
	}
	return out, nil
}

// tokenOutput answers a sign-in or refresh with the pair in the body and
// the browser session in cookies.
func (s *Server) tokenOutput(pair *whitecross.TokenPair, user *whitecross.User) (*tokenOutput, error) {
	if pair.MFAToken != "" {
		return mfaChallengeOutput(pair), nil
	}
	csrf, err := newCSRFToken()
	if err != nil {
		return nil, err
	}
	refreshAge := int(sessionCookieAge / time.Second)
	return &tokenOutput{
		SetCookie: []http.Cookie{
			s.cookie(cookieAccess, pair.AccessToken, "/", pair.ExpiresIn, true, http.SameSiteLaxMode),
			s.cookie(cookieRefresh, pair.RefreshToken, refreshCookiePath, refreshAge, true, http.SameSiteStrictMode),
			s.cookie(cookieCSRF, csrf, "/", refreshAge, false, http.SameSiteStrictMode),
		},
		Body: TokenResponse{
			AccessToken:  pair.AccessToken,
			RefreshToken: pair.RefreshToken,
			TokenType:    "Bearer",
			ExpiresIn:    pair.ExpiresIn,
			User:         userFrom(user),
		},
	}, nil
}

// expiredCookies returns cookies that delete the session cookies.
func (s *Server) expiredCookies() []http.Cookie {
	return []http.Cookie{
		s.cookie(cookieAccess, "", "/", -1, true, http.SameSiteLaxMode),
		s.cookie(cookieRefresh, "", refreshCookiePath, -1, true, http.SameSiteStrictMode),
		s.cookie(cookieCSRF, "", "/", -1, false, http.SameSiteStrictMode),
	}
}

func (s *Server) cookie(name, value, path string, maxAge int, httpOnly bool, sameSite http.SameSite) http.Cookie {
	return http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: httpOnly, Secure: s.secureCookies, SameSite: sameSite,
	}
}

// newCSRFToken returns 32 random bytes, base64url without padding.
func newCSRFToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate csrf token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// changePassword sets the caller's own password once they prove the
// current one; their other sessions end, this one stays.
func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*struct{}, error) {
	if err := s.deps.Auth.ChangePassword(ctx, in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
		return nil, err
	}
	return nil, nil
}
