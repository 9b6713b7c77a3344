package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross/ratelimit"
)

// Defaults of the rate limits (API.md: 20 requests a second sustained,
// bursts of 100, per user or else per client address; WebSocket connects
// 30 a minute).
const (
	DefaultRatePerSecond     = 20
	DefaultRateBurst         = 100
	DefaultConnectsPerMinute = 30
)

// realtimePath is the WebSocket upgrade, which also has a connect budget.
const realtimePath = "/api/v1/ws"

// rateLimited says whether a path has a budget: every API route except the
// provider webhooks, which are authenticated by the provider's signature
// and arrive in bursts from a few of its addresses during a broadcast
// (refusing them would lose delivery statuses). Health, metrics and the
// app's pages are not under /api/ and are not limited either.
func rateLimited(path string) bool {
	return strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/v1/webhooks/")
}

// limitRate charges every API request to its caller's budget (the user of
// a valid token, else the client address) and answers 429 beyond it. Every
// answer to a limited route carries RateLimit-Limit, -Remaining and -Reset.
// A WebSocket upgrade is charged to the connect budget too.
func (s *Server) limitRate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rateLimited(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		key := s.rateKey(r)
		if !s.charge(w, r, s.limiter, key, true) {
			return
		}
		if r.URL.Path == realtimePath && !s.charge(w, r, s.connects, key, false) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateKey names the budget a request is charged to: the user a validly
// signed access token was issued to, else the client address. It checks
// the token's signature (cached) but not its session, so that no database
// call happens before the load gate, and a forged token cannot spend
// another user's budget.
func (s *Server) rateKey(r *http.Request) string {
	if token, _ := accessToken(r); token != "" {
		if userID, err := s.deps.Auth.TokenUser(r.Context(), token); err == nil {
			return "user:" + userID
		}
	}
	return "ip:" + addressKey(stateFrom(r.Context()).clientIP)
}

// addressKey is the budget key of a client address: IPv6 clients by their
// /64, which one subscriber usually holds whole, so that cycling through
// it gives no fresh budgets.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// charge takes one request from key's budget on lim and answers 429 when
// it is spent. withHeaders: also send the RateLimit-* headers when allowed.
func (s *Server) charge(w http.ResponseWriter, r *http.Request, lim ratelimit.Limiter, key string, withHeaders bool) bool {
	d, err := lim.Take(r.Context(), key)
	if err != nil {
		s.warnLimiter(err)
	}
	if !d.Allowed || withHeaders {
		rateHeaders(w.Header(), d)
	}
	if d.Allowed {
		return true
	}
	retry := max(1, ratelimit.Seconds(d.RetryAfter))
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeProblem(w, http.StatusTooManyRequests,
		fmt.Sprintf("Too many requests: the budget allows %d at once; retry in %d s.", d.Limit, retry))
	return false
}

// rateHeaders are the RateLimit fields of the IETF draft: the burst, what
// is left of it, and the seconds until it is full again.
func rateHeaders(h http.Header, d ratelimit.Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ratelimit.Seconds(d.Reset)))
}

// limiterWarnEvery spaces the warnings of a failing shared limiter.
const limiterWarnEvery = time.Minute

// warnLimiter logs that the shared budgets failed (each instance then
// limits on its own), at most once a minute.
func (s *Server) warnLimiter(err error) {
	now := time.Now().UnixNano()
	last := s.limiterWarned.Load()
	if now-last < int64(limiterWarnEvery) || !s.limiterWarned.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("shared rate limit unavailable; limiting per instance", "error", err.Error())
}

// initRateLimits builds the server's limiters; shared, when set, keeps the
// request budgets (e.g. in Redis for every instance), and the connect
// budgets are always this instance's.
func (s *Server) initRateLimits(shared ratelimit.Limiter) {
	s.limiter = shared
	if s.limiter == nil {
		s.limiter = ratelimit.NewLocal(s.cfg.Rate, 0, nil)
	}
	perMinute := s.cfg.ConnectsPerMinute
	s.connects = ratelimit.NewLocal(ratelimit.Budget{PerSecond: float64(perMinute) / 60, Burst: perMinute}, 0, nil)
}

// documentRateLimits describes the 429 answer of every limited operation
// once, as a shared response of the spec (when it comes and the headers
// that say when to retry), and points each operation's 429 at it.
func (s *Server) documentRateLimits() {
	integer := func(desc string) *huma.Param {
		return &huma.Param{Description: desc, Schema: &huma.Schema{Type: huma.TypeInteger}}
	}
	spec := s.api.OpenAPI()
	ref := &huma.Response{Ref: "#/components/responses/" + tooManyRequestsName}
	for _, item := range spec.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil || op.Responses[tooManyRequests] == nil {
				continue
			}
			if spec.Components.Responses == nil {
				shared := *op.Responses[tooManyRequests]
				shared.Description = "Too Many Requests: the caller's budget (per user, else per client address) is spent. " +
					"Every answer of a limited route carries the RateLimit-* headers."
				shared.Headers = map[string]*huma.Param{
					"Retry-After":         integer("Seconds until one more request is allowed."),
					"RateLimit-Limit":     integer("The burst: requests a full budget allows at once."),
					"RateLimit-Remaining": integer("Requests the budget allows now (0)."),
					"RateLimit-Reset":     integer("Seconds until the budget is full again."),
				}
				spec.Components.Responses = map[string]*huma.Response{tooManyRequestsName: &shared}
			}
			op.Responses[tooManyRequests] = ref
		}
	}
}

// The 429 response's key in an operation and its name in the spec's
// components.
const (
	tooManyRequests     = "429"
	tooManyRequestsName = "TooManyRequests"
)
