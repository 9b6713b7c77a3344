package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"whitecross"
)

// This file mounts the handlers that are not part of the REST API (and so
// not in the OpenAPI document): Prometheus metrics, River's admin UI and
// the browser app.

// RiverUIPrefix is where River's UI is mounted: build Deps.RiverUI with
// this prefix (riverui.HandlerOpts.Prefix).
const RiverUIPrefix = "/riverui"

// riverUIContentSecurityPolicy loosens the API's policy for River's UI
// only: its React app injects <style> elements and uses data: images.
// Scripts still come from this origin only.
const riverUIContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// mountAdminHandlers mounts /metrics and /riverui/ when their handlers are
// given.
func (s *Server) mountAdminHandlers() {
	if s.deps.Metrics != nil {
		s.mux.Handle("GET /metrics", s.requireMetricsToken(s.deps.Metrics))
	}
	if s.deps.RiverUI != nil {
		s.mux.Handle("GET "+RiverUIPrefix, http.RedirectHandler(RiverUIPrefix+"/", http.StatusMovedPermanently))
		s.mux.Handle(RiverUIPrefix+"/", s.riverUIReadOnly(s.deps.RiverUI))
	}
}

// requireMetricsToken lets a scrape through only with the bearer token of
// Config.MetricsToken, when one is set (compared in constant time, over
// hashes so that not even its length leaks). Without a token /metrics is
// open: keep it off the public network.
func (s *Server) requireMetricsToken(next http.Handler) http.Handler {
	if s.cfg.MetricsToken == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeProblem(w, http.StatusUnauthorized, "Send the metrics token: Authorization: Bearer <WHITECROSS_METRICS_TOKEN>.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// riverUIReadOnly serves River's UI to district ADMINs only, signed in as
// for the API (the session cookie, or a bearer token): 401 without a valid
// session, 403 for anyone else. It is read-only: River's jobs are the whole
// deployment's, every district's, so an ADMIN of one district may look
// (jobs carry ids, never content) but not cancel, delete or retry another
// district's jobs, nor pause a lane everyone shares; deliveries are retried
// through the dead-letter API, which is scoped to the caller's district.
// Being read-only, it also needs no CSRF token, which River's UI could not
// send.
func (s *Server) riverUIReadOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stateFrom(r.Context()).route = RiverUIPrefix + "/"
		actor, _, err := s.caller(r)
		if err != nil {
			s.refuseCaller(w, r, err, "Sign in as a district administrator to use River's UI.")
			return
		}
		if actor.Role != whitecross.RoleAdmin {
			writeProblem(w, http.StatusForbidden, "River's UI is for district administrators.")
			return
		}
		if stateChanging(r.Method) {
			writeProblem(w, http.StatusForbidden, "River's UI is read-only here: it shows every district's jobs. "+
				"Retry deliveries with POST /api/v1/admin/deliveries/retry.")
			return
		}
		w.Header().Set("Content-Security-Policy", riverUIContentSecurityPolicy)
		next.ServeHTTP(w, r)
	})
}

// serveApp answers a request that no route matched with the browser app,
// when there is one and the path is not the API's (an unknown /api/ path
// stays a problem+json 404). It reports whether it answered.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.App == nil || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	stateFrom(r.Context()).route = "/"
	s.deps.App.ServeHTTP(w, r)
	return true
}
