package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"whitecross"
)

// realtimeRoutes mounts the WebSocket gateway (package realtime) at
// GET /api/v1/ws. It is not a huma operation: it upgrades the connection
// and speaks the protocol of docs/realtime.md.
func (s *Server) realtimeRoutes() {
	if s.deps.Realtime != nil {
		s.mux.Handle("GET /api/v1/ws", s.deps.Realtime)
	}
}

// AuthenticateUpgrade authenticates a WebSocket upgrade with the API's
// rules, for the realtime gateway: a bearer token, or else the wc_access
// session cookie, which is ambient authority, so its request must come from
// this server's own pages: its Origin must be PublicURL's origin or another
// of the server's own (see newOriginSet; the request's own host when
// PublicURL is unset). It returns the caller (with
// ClientIP) and when the access token expires, so the gateway can close
// the connection then. EUNAUTHORIZED without a valid token (also for a
// revoked session); EFORBIDDEN for a cookie upgrade from another origin,
// checked before the token.
func (s *Server) AuthenticateUpgrade(r *http.Request) (*whitecross.Actor, time.Time, error) {
	token, viaCookie := accessToken(r)
	if token == "" {
		return nil, time.Time{}, whitecross.Errorf(whitecross.EUNAUTHORIZED, "Authentication required.")
	}
	if viaCookie {
		if err := s.checkUpgradeOrigin(r); err != nil {
			return nil, time.Time{}, err
		}
	}
	caller, _, err := s.caller(r)
	if err != nil {
		return nil, time.Time{}, err
	}
	if caller.MFASetupOnly {
		return nil, time.Time{}, errMFASetupRequired
	}
	return caller, tokenExpiry(token), nil
}

// checkUpgradeOrigin refuses a cookie-authenticated upgrade whose Origin is
// missing or not this server's: a page elsewhere could otherwise open a
// socket with the user's cookie (cross-site WebSocket hijacking).
func (s *Server) checkUpgradeOrigin(r *http.Request) error {
	want, allowed := s.origin, s.origins
	if want == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		want = scheme + "://" + strings.ToLower(r.Host)
		allowed = originSet{want: true}
	}
	if o := r.Header.Get("Origin"); o == "" || !allowed.allows(o) {
		return whitecross.Errorf(whitecross.EFORBIDDEN,
			"Cross-origin WebSocket refused: a session cookie is accepted only from this server's origin, %s.", want)
	}
	return nil
}

// tokenExpiry reads the exp claim of an access token that Authenticate has
// just verified; the zero time when it has none.
func tokenExpiry(token string) time.Time {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}
	}
	return claims.ExpiresAt.Time
}
