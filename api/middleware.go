package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"whitecross"
)

// contentSecurityPolicy allows only same-origin resources, which is all the
// docs page needs; JSON responses need nothing.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// hsts keeps browsers on https for a year once they have seen it; no
// includeSubDomains, which would bind the district's other sites too.
const hsts = "max-age=31536000"

// requestState is what the middleware learns about a request, shared down
// the chain through the context and logged when the request ends.
type requestState struct {
	req       *http.Request // headers and cookies, for the CSRF check in handlers
	id        string
	clientIP  string
	userAgent string
	route     string    // the ServeMux pattern's path, never the raw path
	admitted  time.Time // when shedLoad let the request in (zero: not counted)
	arrived   time.Time // when shedLoad saw it
	userID    string
	tenantID  string
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	if st == nil {
		return &requestState{req: &http.Request{Header: http.Header{}}}
	}
	return st
}

func requestIDFrom(ctx context.Context) string { return stateFrom(ctx).id }

// logRequests gives the request an id (echoed in X-Request-Id) and logs one
// line when it ends. It logs no bodies, query strings, headers or cookies.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{req: r, id: newRequestID(), clientIP: s.clientIP(r), userAgent: r.UserAgent()}
		w.Header().Set("X-Request-Id", st.id)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))

		attrs := []slog.Attr{
			slog.String("request_id", st.id),
			slog.String("method", r.Method),
			slog.String("route", st.route),
			slog.Int("status", rec.Status()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		if st.userID != "" {
			attrs = append(attrs, slog.String("user_id", st.userID), slog.String("tenant_id", st.tenantID))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// recoverPanics answers a panicking handler with a 500 problem and logs the
// panic with its stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "request_id", requestIDFrom(r.Context()),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec, ok := w.(*statusRecorder); !ok || rec.status == 0 {
				writeProblem(w, http.StatusInternalServerError, internalErrorDetail)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		// Over TLS only: served here (serve with a certificate) or by a
		// proxy in front (an https public URL). Browsers ignore it on http.
		if r.TLS != nil || s.secureCookies {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// shedLoad admits at most Config.MaxRequests API requests at once. One
// beyond waits a short, bounded time for a slot and is otherwise answered
// 503 with Retry-After at once, so overload is refused early instead of
// piled up until clients time out. WebSockets hold their connection for
// hours and are bounded by the gateway instead.
func (s *Server) shedLoad(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api/v1/ws" {
			next.ServeHTTP(w, r)
			return
		}
		st := stateFrom(r.Context())
		st.arrived = time.Now()
		if !s.requests.enter(r.Context(), s.cfg.RequestQueueWait) {
			refuseOverload(w)
			return
		}
		defer s.requests.leave()
		st.admitted = time.Now()
		next.ServeHTTP(w, r)
	})
}

// admitTenant takes one of the caller's tenant's Config.TenantMaxRequests
// slots, waiting at most what is left of Config.RequestQueueWait after
// shedLoad's wait, so that one district's burst cannot take the whole
// instance. It reports false when none freed in time; otherwise the
// returned leave must be called.
func (s *Server) admitTenant(ctx context.Context, tenantID string) (leave func(), ok bool) {
	st := stateFrom(ctx)
	if st.admitted.IsZero() {
		return func() {}, true
	}
	g := s.tenants.of(tenantID)
	if !g.enter(ctx, s.cfg.RequestQueueWait-st.admitted.Sub(st.arrived)) {
		return nil, false
	}
	return g.leave, true
}

// refuseOverload answers a request that found no free slot in time.
func refuseOverload(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, "The server is busy; retry in a second.")
}

// limitBody refuses a declared Content-Length over the limit before any
// work; huma's per-operation limit catches chunked bodies.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit := s.bodyLimit(r); r.ContentLength > limit {
			writeProblem(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Request body is larger than %d bytes.", limit))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bodyLimit is the largest body r may carry: the configured limit, or an
// upload route's own.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && r.URL.Path == rosterUploadPath {
		return MaxRosterUploadBytes
	}
	return s.cfg.MaxBodyBytes
}

// route dispatches through the ServeMux, records the matched pattern for
// the log, and answers unknown paths and methods with problems.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux would answer 404 or 405 in plain text; keep its status
		// and Allow header but speak problem+json.
		probe := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		if s.serveApp(w, r) {
			return
		}
		writeProblem(w, http.StatusNotFound, "Not found.")
		return
	}
	if method, path, ok := strings.Cut(pattern, " "); ok && method != "" {
		stateFrom(r.Context()).route = path
	}
	s.mux.ServeHTTP(w, r)
}

// Authentication modes of an operation, in Operation.Metadata[authKey].
const (
	authKey      = "auth"
	authRequired = "required"
	authOptional = "optional" // used when present (logout), anonymous otherwise
	authNone     = ""         // public: health, keys; no security requirement in the spec
)

// authenticate is the huma middleware that resolves the caller from the
// bearer token or the wc_access cookie, enforces CSRF on cookie-authenticated
// state-changing requests, and puts the Actor in the context.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	mode, _ := ctx.Operation().Metadata[authKey].(string)
	if mode == "" {
		next(ctx)
		return
	}
	r, w := humago.Unwrap(ctx)
	caller, viaCookie, err := s.caller(r)
	if err != nil {
		if mode == authOptional && whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
			next(ctx)
			return
		}
		s.refuseCaller(w, r, err, "Authentication required.")
		return
	}
	if viaCookie && stateChanging(r.Method) {
		if err := s.checkCSRF(r); err != nil {
			writeError(w, s.problem(ctx.Context(), err))
			return
		}
	}
	if caller.MFASetupOnly && !mfaSetupOperations[ctx.Operation().OperationID] {
		writeError(w, s.problem(ctx.Context(), errMFASetupRequired))
		return
	}
	leave, ok := s.admitTenant(ctx.Context(), caller.TenantID)
	if !ok {
		refuseOverload(w)
		return
	}
	defer leave()
	next(huma.WithContext(ctx, whitecross.NewContextWithActor(ctx.Context(), caller)))
}

// errNoToken is caller's error for a request that carries no token at all,
// which refuseCaller answers with a plain challenge rather than
// invalid_token.
var errNoToken = whitecross.Errorf(whitecross.EUNAUTHORIZED, "No access token.")

// caller resolves who sends the request, from the bearer token or else the
// wc_access cookie (viaCookie: CSRF rules apply), and names them in the
// request's log line. The API and River's UI share it so that both accept
// the same sessions; each then applies its own rules.
func (s *Server) caller(r *http.Request) (*whitecross.Actor, bool, error) {
	token, viaCookie := accessToken(r)
	if token == "" {
		return nil, false, errNoToken
	}
	actor, err := s.deps.Auth.Authenticate(r.Context(), token)
	if err != nil {
		return nil, false, err
	}
	c := *actor
	c.ClientIP = s.clientIP(r)
	st := stateFrom(r.Context())
	st.userID, st.tenantID = c.UserID, c.TenantID
	return &c, viaCookie, nil
}

// refuseCaller answers a request whose caller could not be resolved: 401
// with a Bearer challenge and missing as the detail when no token was sent,
// an invalid_token challenge for a token that is not (or no longer) valid,
// else the problem the error maps to.
func (s *Server) refuseCaller(w http.ResponseWriter, r *http.Request, err error, missing string) {
	if err == errNoToken {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeProblem(w, http.StatusUnauthorized, missing)
		return
	}
	if whitecross.ErrorCode(err) == whitecross.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeError(w, s.problem(r.Context(), err))
}

// accessToken returns the bearer token, else the wc_access cookie, and
// whether it came from the cookie (and so needs CSRF protection).
func accessToken(r *http.Request) (token string, viaCookie bool) {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok), false
	}
	if c, err := r.Cookie(cookieAccess); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

var errCSRF = whitecross.Errorf(whitecross.EFORBIDDEN,
	"Missing or invalid CSRF token: send the value of the wc_csrf cookie in the X-CSRF-Token header.")

// checkCSRF enforces the double-submit token (X-CSRF-Token equals the
// wc_csrf cookie, compared in constant time) and, when the browser names an
// Origin, that it is one of the server's own (see newOriginSet).
func (s *Server) checkCSRF(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" && s.origin != "" && !s.origins.allows(o) {
		// Name the expected origin: a mismatch is most often a server whose
		// public URL differs from the address the browser uses.
		return whitecross.Errorf(whitecross.EFORBIDDEN,
			"Cross-origin request refused: this server's origin is %s (its public URL).", s.origin)
	}
	c, err := r.Cookie(cookieCSRF)
	header := r.Header.Get(headerCSRF)
	if err != nil || c.Value == "" || header == "" ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(header)) != 1 {
		return errCSRF
	}
	return nil
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status written, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (rec *statusRecorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Status returns the status sent (200 when the handler wrote nothing).
func (rec *statusRecorder) Status() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}

// Flush lets streaming handlers flush through the recorder.
func (rec *statusRecorder) Flush() { _ = http.NewResponseController(rec.ResponseWriter).Flush() }

// Unwrap exposes the writer to http.ResponseController (deadlines, hijack).
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// headerRecorder captures what the mux's own 404/405 handler would send.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }
