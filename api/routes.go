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
	tagMessages  = "Messages"
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
			"during a lockout, or while the account's or address's allowed attempts are being checked, the answer is 429 with Retry-After; " +
			"when the server is too busy checking passwords to take this one, 503 with Retry-After (the attempt is not counted).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, ""), handle(s, s.login))
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
	huma.Register(a, s.op(huma.Operation{OperationID: "change-password", Method: http.MethodPut, Path: "/api/v1/me/password", Tags: []string{tagAuth},
		Summary: "Change your own password", DefaultStatus: http.StatusNoContent,
		Description: "Needs the current password: a wrong one is 403 naming body.current_password and counts toward the " +
			"sign-in lockout (429 with Retry-After while it lasts). The new password has at least 12 characters, is not the " +
			"email or name and is not easy to guess (common, a word, name, date or pattern): else 422 naming body.new_password. " +
			"Every other session of the user ends at once; this one stays. Passwords are hashed in a bounded number of " +
			"slots: 503 with Retry-After when none frees in time.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity,
			http.StatusTooManyRequests, http.StatusServiceUnavailable}}, authRequired), handle(s, s.changePassword))
	huma.Register(a, s.op(huma.Operation{OperationID: "jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{tagAuth},
		Summary: "Public keys that verify access tokens (JWKS)"}, ""), handle(s, s.jwks))

	huma.Register(a, s.op(huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/api/v1/users", Tags: []string{tagUsers},
		Summary:     "The people the caller may message",
		Description: "Active users only, by name. Guardians see the staff at their students' locations; never other guardians.",
		Errors:      []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, authRequired), handle(s, s.listUsers))
	huma.Register(a, s.op(huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/api/v1/users", Tags: []string{tagUsers},
		Summary: "Create a user", DefaultStatus: http.StatusCreated,
		Description: "ADMIN anywhere in the district; SCHOOL_ADMIN for non-ADMIN users within their locations and guardians. " +
			"An email already in the district is 409. Nobody chooses another person's password: a password in the body is 403 " +
			"naming body.password (the person signs in with a code, or the operator sets a first password with the CLI).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createUser))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/api/v1/users/{id}", Tags: []string{tagUsers},
		Summary: "A user the caller may message or administer",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, authRequired), handle(s, s.getUser))
	huma.Register(a, s.op(huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/api/v1/users/{id}", Tags: []string{tagUsers},
		Summary: "Change a user",
		Description: "Only the fields given change. The email cannot change (sending it is 422). " +
			"A password is never set here, not even one's own: 403 naming body.password (PUT /api/v1/me/password " +
			"with the current password; an administrator deactivates the account instead). " +
			"Turning a guardian into staff or staff into a guardian is an ADMIN's act (403 naming body.role for a SCHOOL_ADMIN); " +
			"placing a non-custodial contact of a student at, above or below that student's location is 403 naming " +
			"body.location_ids for a SCHOOL_ADMIN and, for an ADMIN, recorded in the audit as an override.",
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
		Description: "The caller must administer the student's location. Guardians must be users of role GUARDIAN in the district " +
			"whom the caller may see (GET /api/v1/users/{id}); any other id is 422 naming it, alike for unknown and unseen ones. " +
			"Custody for a guardian who is a non-custodial contact of a student at or near this location is an ADMIN's decision " +
			"(403 naming body.guardians[i].custody for a SCHOOL_ADMIN; audited as an override).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.createStudent))
	huma.Register(a, s.op(huma.Operation{OperationID: "list-students", Method: http.MethodGet, Path: "/api/v1/students", Tags: []string{tagStudents},
		Summary: "The students the caller may see (a guardian: the children they have custody of)",
		Errors:  []int{http.StatusUnauthorized}}, authRequired), handle(s, s.listStudents))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-student", Method: http.MethodGet, Path: "/api/v1/students/{id}", Tags: []string{tagStudents},
		Summary:     "A student the caller may see",
		Description: "A non-custodial contact of the student sees nothing of them: 404.",
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound}}, authRequired), handle(s, s.getStudent))

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

	// Messages. GET /messages/counts is a literal path, so the ServeMux
	// prefers it to /messages/{id}.
	bodyErrors := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}
	idErrors := []int{http.StatusUnauthorized, http.StatusNotFound}
	reportErrors := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	// Read and archive state is a recipient's own: the sender gets 409.
	stateErrors := []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict}
	huma.Register(a, s.op(huma.Operation{OperationID: "send-message", Method: http.MethodPost, Path: "/api/v1/messages", Tags: []string{tagMessages},
		Summary: "Send a message", DefaultStatus: http.StatusCreated,
		Description: "To recipient_ids and the members of group_ids (at least one of them), whom the caller must be allowed to " +
			"message. A recipient id that is not an active user of the district is 422 naming it (errors[0].location " +
			"body.recipient_ids[i]); a recipient the caller may not message is 403 naming it; a group the caller may not " +
			"use is 422 naming body.group_ids[i]. Group members the caller may not message, or who are deactivated, are " +
			"left out. A refused request stores nothing. " +
			"Limits: subject 200 characters, body 20,000 characters, 10 attachments (https URLs), 10,000 recipient_ids, " +
			"50 group_ids, 100,000 recipients after expanding groups, request 1 MiB. With an Idempotency-Key (per user), " +
			"repeating the request with the same body (whitespace and field order aside) returns the original message, 201; " +
			"with a different body, 409. A scheduled_at in the future stores the message as SCHEDULED until then.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, authRequired), handle(s, s.sendMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "list-messages", Method: http.MethodGet, Path: "/api/v1/messages", Tags: []string{tagMessages},
		Summary: "One page of a box, newest first",
		Description: "inbox: received and not archived, in arrival order; archived: received and archived; sent: sent by the " +
			"caller (SENDING or SENT); scheduled: the caller's SCHEDULED messages and those canceled while scheduled " +
			"(status CANCELED: canceling leaves a trace). Pages never skip or repeat a message " +
			"while new ones arrive. A sensitive message is listed with its subject and sensitive: true, its body, body_html " +
			"and attachments empty: GET /messages/{id}, which is audited, shows them.",
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, authRequired), handle(s, s.listMessages))
	huma.Register(a, s.op(huma.Operation{OperationID: "count-messages", Method: http.MethodGet, Path: "/api/v1/messages/counts", Tags: []string{tagMessages},
		Summary: "The size and unread count of every box, for badges",
		Errors:  []int{http.StatusUnauthorized}}, authRequired), handle(s, s.countMessages))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-message", Method: http.MethodGet, Path: "/api/v1/messages/{id}", Tags: []string{tagMessages},
		Summary: "A message, to its sender, its recipients and the district's admins",
		Description: "Recipients see a message once it is sent (not while SCHEDULED). Reading a message is recorded in " +
			"the audit log; it does not mark it read: PUT /read does. The only read that shows a sensitive message's body " +
			"and attachments. " +
			"body_html is the body as sanitized HTML, safe to insert into a page.",
		Errors: idErrors}, authRequired), handle(s, s.getMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "reschedule-message", Method: http.MethodPatch, Path: "/api/v1/messages/{id}", Tags: []string{tagMessages},
		Summary: "Reschedule a scheduled message",
		Description: "Sender only: a recipient or ADMIN who may see it gets 403, anyone else 404. 409 once the message is no " +
			"longer SCHEDULED (sent or canceled); 422 for a time not in the future or more than a year ahead.",
		Errors: bodyErrors}, authRequired), handle(s, s.rescheduleMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "cancel-message", Method: http.MethodDelete, Path: "/api/v1/messages/{id}", Tags: []string{tagMessages},
		Summary: "Cancel a scheduled message", DefaultStatus: http.StatusNoContent,
		Description: "Sender only: a recipient or ADMIN who may see it gets 403, anyone else 404. The message becomes " +
			"CANCELED and is never sent; it stays in the scheduled box, marked CANCELED. 409 for one already sent or canceled.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, authRequired), handle(s, s.cancelMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-message-thread", Method: http.MethodGet, Path: "/api/v1/messages/{id}/thread", Tags: []string{tagMessages},
		Summary: "The thread of a message, oldest first",
		Description: "Only the messages of the thread the caller may see: a guardian sees their own exchange with the " +
			"sender, never other recipients' replies. Sensitive messages carry no body or attachments, as in lists.",
		Errors: idErrors}, authRequired), handle(s, s.messageThread))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-message-delivery", Method: http.MethodGet, Path: "/api/v1/messages/{id}/delivery", Tags: []string{tagMessages},
		Summary: "Deliveries of a message by recipient and channel, with a summary by status",
		Description: "Sender and ADMIN only: a recipient gets 403, anyone else 404. At most 10,000 items (by recipient, " +
			"then channel); the summary counts every delivery.",
		Errors: reportErrors}, authRequired), handle(s, s.messageDeliveries))
	huma.Register(a, s.op(huma.Operation{OperationID: "get-message-receipts", Method: http.MethodGet, Path: "/api/v1/messages/{id}/receipts", Tags: []string{tagMessages},
		Summary:     "Who has received and read a message",
		Description: "Sender and ADMIN only: a recipient gets 403, anyone else 404. At most 10,000 items, by name.",
		Errors:      reportErrors}, authRequired), handle(s, s.messageReceipts))
	huma.Register(a, s.op(huma.Operation{OperationID: "reply-to-message", Method: http.MethodPost, Path: "/api/v1/messages/{id}/replies", Tags: []string{tagMessages},
		Summary: "Reply in a message's thread", DefaultStatus: http.StatusCreated,
		Description: "A recipient's reply goes to the message's sender only, never to the other recipients. The sender may " +
			"reply to a one-to-one message once sent; to a broadcast it is 409 (send a new message instead); an ADMIN " +
			"who only reads it gets 403. The reply's subject is \"Re: \" and the original's; it takes the original's " +
			"category, priority and sensitive flag and goes IN_APP only. Idempotency-Key as for sending.",
		Errors: bodyErrors}, authRequired), handle(s, s.replyToMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "mark-message-read", Method: http.MethodPut, Path: "/api/v1/messages/{id}/read", Tags: []string{tagMessages},
		Summary: "Mark a received message read, for the caller", DefaultStatus: http.StatusNoContent,
		Errors: stateErrors}, authRequired), handle(s, s.markRead))
	huma.Register(a, s.op(huma.Operation{OperationID: "mark-message-unread", Method: http.MethodDelete, Path: "/api/v1/messages/{id}/read", Tags: []string{tagMessages},
		Summary: "Mark a received message unread, for the caller", DefaultStatus: http.StatusNoContent,
		Description: "Only the caller's own box changes: the read receipt its sender sees (read_count, receipts) stays.",
		Errors:      stateErrors}, authRequired), handle(s, s.markUnread))
	huma.Register(a, s.op(huma.Operation{OperationID: "archive-message", Method: http.MethodPut, Path: "/api/v1/messages/{id}/archive", Tags: []string{tagMessages},
		Summary: "Archive a message, for the caller", DefaultStatus: http.StatusNoContent,
		Description: "It leaves the inbox and appears in the archived box.",
		Errors:      stateErrors}, authRequired), handle(s, s.archiveMessage))
	huma.Register(a, s.op(huma.Operation{OperationID: "unarchive-message", Method: http.MethodDelete, Path: "/api/v1/messages/{id}/archive", Tags: []string{tagMessages},
		Summary: "Return an archived message to the inbox, for the caller", DefaultStatus: http.StatusNoContent,
		Errors: stateErrors}, authRequired), handle(s, s.unarchiveMessage))

	s.webhookRoutes()
	s.pushRoutes()
	s.adminRoutes()
	s.realtimeRoutes()

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
