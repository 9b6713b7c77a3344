package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Security scheme names in the OpenAPI document.
const (
	schemeBearer = "bearer"
	schemeCookie = "cookie"
)

// Operation tags, in the order the docs list them.
const (
	tagHealth    = "Health"
	tagAuth      = "Authentication"
	tagUsers     = "Users"
	tagLocations = "Locations"
	tagStudents  = "Students"
	tagGroups    = "Groups"
)

// routes is the route table: every path the server answers.
func (s *Server) routes() {
	a := s.api

	huma.Register(a, s.op(huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{tagHealth},
		Summary: "Liveness: 200 while the process runs"}, ""), handle(s, s.healthz))
	huma.Register(a, s.op(huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{tagHealth},
		Summary:     "Readiness: 200 when every dependency answers",
		Description: "Pings each dependency (database, queue) with a 2 s timeout; 503 names the ones that did not answer.",
		Errors:      []int{http.StatusServiceUnavailable}}, ""), handle(s, s.readyz))

	huma.Register(a, s.op(huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login", Tags: []string{tagAuth},
		Summary: "Sign in",
		Description: "Returns an access/refresh token pair and sets the browser cookies: wc_access (HttpOnly, SameSite=Lax, Path=/), " +
			"wc_refresh (HttpOnly, SameSite=Strict, Path=/api/v1/auth) and wc_csrf (readable by scripts, SameSite=Strict). " +
			"Every credential failure (unknown district, unknown or deactivated user, wrong password) is the same 401; " +
			"during a lockout the answer is 429 with Retry-After.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusTooManyRequests}}, ""), handle(s, s.login))
	huma.Register(a, s.op(huma.Operation{OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh", Tags: []string{tagAuth},
		Summary: "Exchange a refresh token for a new pair",
		Description: "The refresh token comes from the body, else from the wc_refresh cookie (then X-CSRF-Token must equal the " +
			"wc_csrf cookie). The token is spent; presenting a spent token again is 401 and revokes its whole session.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}}, ""), handle(s, s.refresh))
	huma.Register(a, s.op(huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", Tags: []string{tagAuth},
		Summary: "Sign out", DefaultStatus: http.StatusNoContent,
		Description: "Revokes the session of the refresh token in the body or the wc_refresh cookie, else the session of the " +
			"caller's access token, and expires the cookies. Always 204 unless a cookie request lacks its X-CSRF-Token (403).",
		Errors: []int{http.StatusBadRequest, http.StatusForbidden}}, authOptional), handle(s, s.logout))
	huma.Register(a, s.op(huma.Operation{OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me", Tags: []string{tagAuth},
		Summary: "The signed-in user", Errors: []int{http.StatusUnauthorized}}, authRequired), handle(s, s.me))
	huma.Register(a, s.op(huma.Operation{OperationID: "jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{tagAuth},
		Summary: "Public keys that verify access tokens (JWKS)"}, ""), handle(s, s.jwks))

	huma.Register(a, s.op(huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/api/v1/users", Tags: []string{tagUsers},
		Summary:     "The people the caller may message",
		Description: "Active users only, by name. Guardians see the staff at their students' locations; never other guardians.",
		Errors:      []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, authRequired), handle(s, s.listUsers))
	huma.Register(a, s.op(huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/api/v1/users", Tags: []string{tagUsers},
		Summary: "Create a user", DefaultStatus: http.StatusCreated,
		Description: "ADMIN anywhere in the district; SCHOOL_ADMIN for non-ADMIN users within their locations and guardians. " +
			"An email already in the district is 409.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createUser))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/api/v1/users/{id}", Tags: []string{tagUsers},
		Summary: "A user the caller may message or administer",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, authRequired), handle(s, s.getUser))
	huma.Register(a, s.op(huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/api/v1/users/{id}", Tags: []string{tagUsers},
		Summary:     "Change a user",
		Description: "Only the fields given change. The email cannot change (sending it is 422).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.updateUser))
	huma.Register(a, s.op(huma.Operation{OperationID: "deactivate-user", Method: http.MethodDelete, Path: "/api/v1/users/{id}", Tags: []string{tagUsers},
		Summary: "Deactivate a user", DefaultStatus: http.StatusNoContent,
		Description: "The user can no longer sign in and their sessions end at once; their messages stay.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, authRequired), handle(s, s.deleteUser))

	huma.Register(a, s.op(huma.Operation{OperationID: "create-location", Method: http.MethodPost, Path: "/api/v1/locations", Tags: []string{tagLocations},
		Summary: "Create a district, school or campus", DefaultStatus: http.StatusCreated,
		Description: "ADMIN anywhere; SCHOOL_ADMIN below their own locations.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createLocation))
	huma.Register(a, s.op(huma.Operation{OperationID: "list-locations", Method: http.MethodGet, Path: "/api/v1/locations", Tags: []string{tagLocations},
		Summary: "Every location of the district, parents first",
		Errors:  []int{http.StatusUnauthorized}}, authRequired), handle(s, s.listLocations))

	huma.Register(a, s.op(huma.Operation{OperationID: "create-student", Method: http.MethodPost, Path: "/api/v1/students", Tags: []string{tagStudents},
		Summary: "Create a student with their guardians", DefaultStatus: http.StatusCreated,
		Description: "The caller must administer the student's location. Guardians must be users of role GUARDIAN in the district.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createStudent))
	huma.Register(a, s.op(huma.Operation{OperationID: "list-students", Method: http.MethodGet, Path: "/api/v1/students", Tags: []string{tagStudents},
		Summary: "The students the caller may see (a guardian: their own children)",
		Errors:  []int{http.StatusUnauthorized}}, authRequired), handle(s, s.listStudents))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-student", Method: http.MethodGet, Path: "/api/v1/students/{id}", Tags: []string{tagStudents},
		Summary: "A student the caller may see",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, authRequired), handle(s, s.getStudent))

	huma.Register(a, s.op(huma.Operation{OperationID: "create-group", Method: http.MethodPost, Path: "/api/v1/groups", Tags: []string{tagGroups},
		Summary: "Create a group of people the caller may message", DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createGroup))
	huma.Register(a, s.op(huma.Operation{OperationID: "list-groups", Method: http.MethodGet, Path: "/api/v1/groups", Tags: []string{tagGroups},
		Summary: "The groups the caller may message",
		Errors:  []int{http.StatusUnauthorized}}, authRequired), handle(s, s.listGroups))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-group", Method: http.MethodGet, Path: "/api/v1/groups/{id}", Tags: []string{tagGroups},
		Summary: "A group the caller may message",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, authRequired), handle(s, s.getGroup))

	// The reference page; the spec itself is served by huma at
	// /api/v1/openapi.json (and .yaml, -3.0.json).
	s.mux.HandleFunc("GET /api/docs", s.docsPage)
	s.mux.HandleFunc("GET /api/docs/{file}", s.docsAsset)
}

// op completes an operation of the table: the body limit, and the
// authentication mode with its security requirement for the spec.
func (s *Server) op(o huma.Operation, auth string) huma.Operation {
	// huma refuses a body whose length reaches MaxBodyBytes; +1 lets a body
	// of exactly the limit through.
	o.MaxBodyBytes = s.cfg.MaxBodyBytes + 1
	switch auth {
	case authRequired:
		o.Metadata = map[string]any{authKey: authRequired}
		o.Security = []map[string][]string{{schemeBearer: {}}, {schemeCookie: {}}}
	case authOptional:
		o.Metadata = map[string]any{authKey: authOptional}
		o.Security = []map[string][]string{{}, {schemeBearer: {}}, {schemeCookie: {}}}
	}
	return o
}
