package api

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// cookieOIDC holds a started SSO sign-in's sealed state (see
// auth.ssoState) from the start to the callback. SameSite=Lax: the
// provider sends the browser back with a top-level GET from its own site.
const (
	cookieOIDC     = "wc_oidc"
	oidcCookiePath = "/api/v1/auth/oidc"
)

type ssoProviderInput struct {
	Tenant string `query:"tenant" maxLength:"63" doc:"The district's slug"`
}

type ssoProviderOutput struct {
	Body struct {
		Enabled  bool   `json:"enabled" doc:"Whether the district signs in with its identity provider"`
		Provider string `json:"provider" doc:"The provider's name for a button (Google, Microsoft, else the issuer's host); empty when not enabled"`
	}
}

type ssoStartInput struct {
	Tenant string `query:"tenant" required:"true" maxLength:"63" doc:"The district's slug"`
}

type ssoCallbackInput struct {
	Cookie string `cookie:"wc_oidc"`
	State  string `query:"state" maxLength:"512"`
	Code   string `query:"code" maxLength:"4096"`
	Error  string `query:"error" maxLength:"256"`
}

// redirectOutput is a redirect, or a plain HTML page when Location is
// empty.
type redirectOutput struct {
	Status      int
	Location    string        `header:"Location"`
	SetCookie   []http.Cookie `header:"Set-Cookie"`
	ContentType string        `header:"Content-Type"`
	Cache       string        `header:"Cache-Control"`
	Body        []byte        `contentType:"text/html"`
}

// ssoRoutes are single sign-on with a district's OpenID Connect provider.
func (s *Server) ssoRoutes() {
	register(s, tagAuth, authNone, huma.Operation{OperationID: "sso-provider", Method: http.MethodGet, Path: "/api/v1/auth/oidc",
		Summary:     "Whether a district signs in with its identity provider",
		Description: "For the sign-in page's \"Sign in with …\" button. Always 200: an unknown district is not enabled."}, s.ssoProvider)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "sso-start", Method: http.MethodGet, Path: "/api/v1/auth/oidc/start",
		Summary: "Start signing in with the district's identity provider",
		Description: "302 to the provider's authorization endpoint (authorization code flow, PKCE S256, state, nonce), " +
			"with the state in a sealed HttpOnly wc_oidc cookie valid 10 minutes. A district without SSO: a 404 page.",
		DefaultStatus: http.StatusFound}, s.ssoStart)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "sso-callback", Method: http.MethodGet, Path: whitecrossCallbackPath,
		Summary: "Where the identity provider sends the browser back",
		Description: "Checks the state against the wc_oidc cookie, exchanges the code, verifies the ID token (signature, issuer, " +
			"audience, expiry, nonce), requires email_verified and an allowed domain, and signs in the active user with that email: " +
			"302 to the app with the session cookies of login. Anything else: a 401 page (audited with a reason code). " +
			"Refusals count toward the client address's sign-in lockout, as wrong passwords do (then a 429 page).",
		DefaultStatus: http.StatusFound}, s.ssoCallback)
}

// whitecrossCallbackPath is auth.OIDCCallbackPath, the redirect URI's path.
const whitecrossCallbackPath = "/api/v1/auth/oidc/callback"

func (s *Server) ssoProvider(ctx context.Context, in *ssoProviderInput) (*ssoProviderOutput, error) {
	out := &ssoProviderOutput{}
	if s.deps.SSO == nil || in.Tenant == "" {
		return out, nil
	}
	name, err := s.deps.SSO.SSOProvider(ctx, in.Tenant)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	out.Body.Enabled, out.Body.Provider = true, name
	return out, nil
}

func (s *Server) ssoStart(ctx context.Context, in *ssoStartInput) (*redirectOutput, error) {
	if s.deps.SSO == nil {
		return ssoPage(http.StatusNotFound, "Single sign-on is not offered here", "Go back and sign in with your email instead."), nil
	}
	start, err := s.deps.SSO.StartSSO(ctx, in.Tenant)
	switch whitecross.ErrorCode(err) {
	case "":
	case whitecross.ENOTFOUND:
		return ssoPage(http.StatusNotFound, "Your district does not use single sign-on here",
			"Go back to the sign-in page, check the district name, or sign in with your email."), nil
	case whitecross.EUNAVAILABLE:
		return ssoPage(http.StatusServiceUnavailable, "Your district's sign-in service cannot be reached",
			"Try again in a few minutes, or sign in with your email."), nil
	default:
		return nil, err
	}
	age := int(whitecross.OIDCStateTTL.Seconds())
	return &redirectOutput{Status: http.StatusFound, Location: start.AuthURL, Cache: "no-store",
		SetCookie: []http.Cookie{s.cookie(cookieOIDC, start.Cookie, oidcCookiePath, age, true, http.SameSiteLaxMode)}}, nil
}

func (s *Server) ssoCallback(ctx context.Context, in *ssoCallbackInput) (*redirectOutput, error) {
	if s.deps.SSO == nil {
		return ssoPage(http.StatusNotFound, "Single sign-on is not offered here", "Go back and sign in with your email instead."), nil
	}
	st := stateFrom(ctx)
	pair, user, err := s.deps.SSO.FinishSSO(ctx, whitecross.SSOCallback{Cookie: in.Cookie, State: in.State, Code: in.Code,
		Error: in.Error, ClientIP: st.clientIP, UserAgent: st.userAgent})
	// The state is single use: whatever happened, the cookie goes.
	spent := s.cookie(cookieOIDC, "", oidcCookiePath, -1, true, http.SameSiteLaxMode)
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
		page := ssoPage(http.StatusUnauthorized, "Single sign-on did not sign you in",
			"Start again from the sign-in page. If it keeps failing, your account may not be set up for it: "+
				"ask your district's IT staff, or sign in with your email.")
		page.SetCookie = []http.Cookie{spent}
		return page, nil
	} else if whitecross.ErrorCode(err) == whitecross.ERATELIMIT {
		page := ssoPage(http.StatusTooManyRequests, "Too many sign-in attempts",
			"Too many sign-ins from your network did not work. Wait a few minutes, then start again from the sign-in page.")
		page.SetCookie = []http.Cookie{spent}
		return page, nil
	} else if err != nil {
		return nil, err
	}
	if pair.MFAToken != "" {
		// The second step is the sign-in card's, in the app: the token
		// travels in the fragment, which the browser sends to no server
		// (no access log, no Referer), and is good once for 5 minutes.
		return &redirectOutput{Status: http.StatusFound, Location: "/#mfa=" + url.QueryEscape(pair.MFAToken), Cache: "no-store",
			SetCookie: []http.Cookie{spent}}, nil
	}
	tok, err := s.tokenOutput(pair, user)
	if err != nil {
		return nil, err
	}
	return &redirectOutput{Status: http.StatusFound, Location: "/", Cache: "no-store",
		SetCookie: append(tok.SetCookie, spent)}, nil
}

// ssoPage is a plain page for a browser that a sign-in redirect left here.
func ssoPage(status int, title, advice string) *redirectOutput {
	body := fmt.Sprintf(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%[1]s</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>%[1]s</h1>
<p>%[2]s</p>
<p><a href="/">Back to the sign-in page</a></p>
</body></html>
`, html.EscapeString(title), html.EscapeString(advice))
	return &redirectOutput{Status: status, ContentType: "text/html; charset=utf-8", Cache: "no-store", Body: []byte(body)}
}
