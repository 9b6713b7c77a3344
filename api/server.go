// Package api is the REST layer of whitecross: huma v2 operations on a
// net/http ServeMux, the authentication and CSRF middleware, the one table
// that maps domain error codes to HTTP statuses, request logging, security
// headers, and the generated OpenAPI 3.1 document.
package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"whitecross"
	"whitecross/ratelimit"
)

// DefaultMaxBodyBytes is the largest request body accepted when
// Config.MaxBodyBytes is zero (API.md: 1 MiB, 413 beyond).
const DefaultMaxBodyBytes = 1 << 20

// Config is the API's own configuration.
type Config struct {
	// PublicURL is the server's external URL (e.g. http://localhost:8080).
	// Its origin is the one accepted on cookie-authenticated state-changing
	// requests that carry an Origin header, and an https URL marks cookies
	// Secure and turns on Strict-Transport-Security.
	PublicURL string
	// ListenAddr is the address the server listens on (host:port, as
	// net.Listener.Addr gives it). When PublicURL is a loopback URL (the
	// default and the demo) pages opened at this address, or at its
	// loopback names, are accepted too; with any other PublicURL it is
	// ignored.
	ListenAddr string
	// MaxBodyBytes caps request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// TwilioAuthToken validates X-Twilio-Signature on Twilio's callbacks;
	// "" answers them 404 (Twilio is not configured).
	TwilioAuthToken string
	// SendGridWebhookKey is the public key (base64 DER, as SendGrid's
	// console shows it) that verifies SendGrid's signed event webhook; ""
	// answers it 404.
	SendGridWebhookKey string
	// VAPIDPublicKey is the Web Push application server key given to
	// browsers; "" when Web Push is not configured.
	VAPIDPublicKey string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// MaxRequests bounds the API requests this instance serves at once
	// (default DefaultMaxRequests; WebSockets, health and pages are not
	// counted), TenantMaxRequests those of one tenant's callers (default
	// DefaultTenantMaxRequests), and RequestQueueWait how long a request
	// beyond either bound waits in all for a slot (default
	// DefaultRequestQueueWait) before it is answered 503 with Retry-After.
	MaxRequests       int
	TenantMaxRequests int
	RequestQueueWait  time.Duration
	// Rate is each caller's request budget (default DefaultRatePerSecond,
	// DefaultRateBurst) and ConnectsPerMinute its WebSocket connects
	// (default DefaultConnectsPerMinute); see limitRate.
	Rate              ratelimit.Budget
	ConnectsPerMinute int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (see clientIP); none by default.
	TrustedProxies TrustedProxies
}

// Deps are the services the handlers call. cmd/whitecross wires the store
// and auth implementations; tests wire the same.
type Deps struct {
	Auth whitecross.AuthService
	// SSO signs in with districts' identity providers; nil: its routes
	// answer 404 pages.
	SSO       whitecross.SSOService
	Tenants   whitecross.TenantService
	Users     whitecross.UserService
	Locations whitecross.LocationService
	Students  whitecross.StudentService
	Groups    whitecross.GroupService
	Messages  whitecross.MessageService
	// Audiences previews broadcast audiences.
	Audiences whitecross.AudienceService
	// Reports is what a sender follows a message with.
	Reports whitecross.BroadcastReportService
	// Acks records and reports acknowledgements.
	Acks whitecross.AckService
	// Push keeps browsers' Web Push subscriptions.
	Push whitecross.PushSubscriptionService
	// Callbacks decides what provider callbacks (Twilio, SendGrid) mean:
	// status changes, opt-outs and suppressions. The API only checks their
	// signatures and decodes them.
	Callbacks whitecross.ProviderCallbacks
	// Now is the clock for callback times and the SendGrid replay window;
	// nil: time.Now.
	Now whitecross.Clock
	// Audit is the admin's audit viewer.
	Audit whitecross.AuditLogService
	// DeadLetters is the admin's view of failed deliveries.
	DeadLetters whitecross.DeadLetterService
	// LegalHolds keeps people's and students' messages past retention.
	LegalHolds whitecross.LegalHoldService
	// TenantSettings reads and changes the district's policies.
	TenantSettings whitecross.TenantSettingsService
	// DataKeys reports the district's data key (the settings page).
	DataKeys whitecross.DataKeyService
	// Roster imports the district's roster.
	Roster RosterImporter
	// Metrics serves /metrics (Prometheus); nil: not mounted.
	Metrics http.Handler
	// RiverUI is River's admin UI, mounted under /riverui/ for ADMIN
	// users; nil: not mounted.
	RiverUI http.Handler
	// Outbox lists what the capture provider recorded (demo only); nil:
	// the dev outbox route answers 404.
	Outbox OutboxReader
	// Realtime is the WebSocket gateway, mounted at GET /api/v1/ws; nil:
	// not mounted.
	Realtime http.Handler
	// App is the browser app, served at / (everything the API does not
	// answer); nil: not mounted.
	App http.Handler
	// JWKS returns the JSON Web Key Set that verifies access tokens.
	JWKS func() []byte
	// RateLimiter keeps the request budgets shared by every instance
	// (Redis); nil: this instance keeps its own (Config.Rate).
	RateLimiter ratelimit.Limiter
	// Ready names the dependencies /readyz pings ("database", "queue").
	Ready  map[string]whitecross.Pinger
	Logger *slog.Logger
}

// Server serves the REST API. It implements http.Handler.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	api     huma.API
	handler http.Handler

	requests *gate       // MaxRequests
	tenants  tenantGates // TenantMaxRequests each

	limiter       ratelimit.Limiter // requests, per user or address
	connects      ratelimit.Limiter // WebSocket upgrades, this instance only
	limiterWarned atomic.Int64      // unix ns of the last warnLimiter

	origin        string    // scheme://host[:port] of PublicURL, "" when unset
	origins       originSet // the origins of this server's own pages
	secureCookies bool
}

// New builds the server and registers every route. It does not call any
// dependency, so it can run without a database (e.g. to write the spec).
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.MaxRequests = cmp.Or(cfg.MaxRequests, DefaultMaxRequests)
	cfg.TenantMaxRequests = cmp.Or(cfg.TenantMaxRequests, DefaultTenantMaxRequests)
	cfg.RequestQueueWait = cmp.Or(cfg.RequestQueueWait, DefaultRequestQueueWait)
	if cfg.Rate.PerSecond <= 0 || cfg.Rate.Burst <= 0 {
		cfg.Rate = ratelimit.Budget{PerSecond: DefaultRatePerSecond, Burst: DefaultRateBurst}
	}
	cfg.ConnectsPerMinute = cmp.Or(cfg.ConnectsPerMinute, DefaultConnectsPerMinute)
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, mux: http.NewServeMux(),
		requests: newGate(cfg.MaxRequests), tenants: tenantGates{slots: cfg.TenantMaxRequests}}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		s.origin = strings.ToLower(u.Scheme + "://" + u.Host)
		s.secureCookies = u.Scheme == "https"
	}
	s.origins = newOriginSet(cfg.PublicURL, cfg.ListenAddr)
	s.initRateLimits(deps.RateLimiter)
	s.api = humago.New(s.mux, humaConfig())
	s.api.UseMiddleware(s.authenticate)
	s.routes()
	s.handler = s.logRequests(s.recoverPanics(s.secureHeaders(s.limitRate(s.shedLoad(s.limitBody(http.HandlerFunc(s.route)))))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// OpenAPI returns the OpenAPI 3.1 document as indented JSON. The output is
// stable: the same routes always give the same bytes.
func (s *Server) OpenAPI() ([]byte, error) {
	b, err := json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal openapi: %w", err)
	}
	return append(b, '\n'), nil
}

// humaConfig is huma's configuration: JSON only, no schema links, the spec
// under /api/v1/openapi.json and our own docs page (huma's loads a CDN).
func humaConfig() huma.Config {
	return huma.Config{
		OpenAPI: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info: &huma.Info{
				Title:       "whitecross API",
				Version:     "1.0.0",
				Description: apiDescription,
			},
			Tags: []*huma.Tag{
				{Name: tagHealth, Description: "Liveness and readiness probes."},
				{Name: tagAuth, Description: "Sign-in, token refresh, sign-out and the keys that verify tokens."},
				{Name: tagUsers, Description: "The directory: the people the caller may message, and user administration."},
				{Name: tagLocations, Description: "The district's tree of districts, schools and campuses."},
				{Name: tagStudents, Description: "Students and their guardians."},
				{Name: tagGroups, Description: "Named audiences."},
				{Name: tagMessages, Description: "Sending, reading and managing messages; message content is encrypted at rest."},
				{Name: tagPush, Description: "Web Push: the server's key and the caller's browsers registered for notifications."},
				{Name: tagWebhooks, Description: "Provider callbacks (Twilio, SendGrid), authenticated by the provider's signature, not by a session."},
			},
			Components: &huma.Components{
				Schemas: huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer),
				SecuritySchemes: map[string]*huma.SecurityScheme{
					schemeBearer: {
						Type:         "http",
						Scheme:       "bearer",
						BearerFormat: "JWT",
						Description:  "An access token from POST /api/v1/auth/login or /refresh. Needs no CSRF token.",
					},
					schemeCookie: {
						Type: "apiKey",
						In:   "cookie",
						Name: cookieAccess,
						Description: "The browser session cookie set by login. Requests that change state " +
							"(POST, PUT, PATCH, DELETE) must also send the header X-CSRF-Token equal to the wc_csrf cookie.",
					},
				},
			},
		},
		OpenAPIPath: "/api/v1/openapi",
		Formats: map[string]huma.Format{
			"application/json": huma.DefaultJSONFormat,
			"json":             huma.DefaultJSONFormat, // any application/*+json
		},
		DefaultFormat: "application/json",
	}
}

const apiDescription = `The REST API of whitecross, secure school health messaging.

Authenticate with ` + "`Authorization: Bearer <access_token>`" + ` (API clients) or the session cookies set by
login (browsers; state-changing requests must echo the ` + "`wc_csrf`" + ` cookie in ` + "`X-CSRF-Token`" + `).

Errors are RFC 9457 ` + "`application/problem+json`" + ` bodies ` + "`{\"title\",\"status\",\"detail\",\"errors\":[{\"location\",\"message\",\"value\"}]}`" + `;
validation errors name the offending input in ` + "`location`" + ` (e.g. ` + "`body.email`" + `). A record of another
district, or one the caller may not see, is 404. Unparsable JSON is 400, unknown fields and invalid
values 422, a body that is not JSON 415, a body over 1 MiB (the default limit) 413.`
