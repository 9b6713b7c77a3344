package api

import (
	"cmp"
	"context"
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

// routes is the route table: every path the server answers, one
// registration function per area.
func (s *Server) routes() {
	s.healthRoutes()
	s.authRoutes()
	s.signinRoutes()
	s.ssoRoutes()
	s.mfaRoutes()
	s.userRoutes()
	s.locationRoutes()
	s.studentRoutes()
	s.recordRoutes()
	s.groupRoutes()
	s.messageRoutes()
	s.audienceRoutes()
	s.approvalRoutes()
	s.broadcastReportRoutes()
	s.messageReportRoutes()
	s.messageStateRoutes()
	s.ackRoutes()
	s.webhookRoutes()
	s.pushRoutes()
	s.adminRoutes()
	s.rosterRoutes()
	s.realtimeRoutes()
	s.documentRateLimits()

	// The reference page; the spec itself is served by huma at
	// /api/v1/openapi.json (and .yaml, -3.0.json).
	s.mux.HandleFunc("GET /api/docs", s.docsPage)
	s.mux.HandleFunc("GET /api/docs/{file}", s.docsAsset)
}

// register adds one operation of the route table under its tag and
// authentication mode, its handler's errors answered as problems. Only what
// varies between operations is written at each call.
func register[I, O any](s *Server, tag, auth string, o huma.Operation, h func(context.Context, *I) (*O, error)) {
	o.Tags = []string{tag}
	huma.Register(s.api, s.op(o, auth), handle(s, h))
}

// healthRoutes are the probes of orchestrators and load balancers.
func (s *Server) healthRoutes() {
	register(s, tagHealth, authNone, huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness: 200 while the process runs"}, s.healthz)
	register(s, tagHealth, authNone, huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary:     "Readiness: 200 when every dependency answers",
		Description: "Pings each dependency (database, queue) with a 2 s timeout; 503 names the ones that did not answer.",
		Errors:      []int{http.StatusServiceUnavailable}}, s.readyz)
}

// authRoutes are sign-in, sessions, the own password and the token keys.
func (s *Server) authRoutes() {
	register(s, tagAuth, authNone, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary: "Sign in",
		Description: "Returns an access/refresh token pair and sets the browser cookies: wc_access (HttpOnly, SameSite=Lax, Path=/), " +
			"wc_refresh (HttpOnly, SameSite=Strict, Path=/api/v1/auth) and wc_csrf (readable by scripts, SameSite=Strict). " +
			"Every credential failure (unknown district, unknown or deactivated user, wrong password) is the same 401; " +
			"during a lockout, or while the account's or address's allowed attempts are being checked, the answer is 429 with Retry-After; " +
			"when the server is too busy checking passwords to take this one, 503 with Retry-After (the attempt is not counted).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, s.login)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary: "Exchange a refresh token for a new pair",
		Description: "The refresh token comes from the body, else from the wc_refresh cookie (then X-CSRF-Token must equal the " +
			"wc_csrf cookie). The token is spent; presenting a spent token again is 401 and revokes its whole session.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}}, s.refresh)
	register(s, tagAuth, authOptional, huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Summary: "Sign out", DefaultStatus: http.StatusNoContent,
		Description: "Revokes the session of the refresh token in the body or the wc_refresh cookie, else the session of the " +
			"caller's access token, and expires the cookies. Always 204 unless a cookie request lacks its X-CSRF-Token (403).",
		Errors: []int{http.StatusBadRequest, http.StatusForbidden}}, s.logout)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me",
		Summary: "The signed-in user", Errors: []int{http.StatusUnauthorized}}, s.me)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "update-me", Method: http.MethodPatch, Path: "/api/v1/me",
		Summary: "Change your own profile",
		Description: "Name, language (locale), time zone and phone; only the fields given change, an empty locale or " +
			"timezone meaning the district's default and an empty phone none. Validated as PATCH /api/v1/users/{id}: " +
			"a bad value is 422 naming the field. Email and role are the district's to change (422: unknown field). " +
			"Audited as user.updated with \"self\": \"true\".",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.updateMe)
	register(s, tagAuth, authRequired, huma.Operation{OperationID: "change-password", Method: http.MethodPut, Path: "/api/v1/me/password",
		Summary: "Change your own password", DefaultStatus: http.StatusNoContent,
		Description: "Needs the current password: a wrong one is 403 naming body.current_password and counts toward the " +
			"sign-in lockout (429 with Retry-After while it lasts). The new password has at least 12 characters, is not the " +
			"email or name and is not easy to guess (common, a word, name, date or pattern): else 422 naming body.new_password. " +
			"Every other session of the user ends at once; this one stays. Passwords are hashed in a bounded number of " +
			"slots: 503 with Retry-After when none frees in time.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity,
			http.StatusTooManyRequests, http.StatusServiceUnavailable}}, s.changePassword)
	register(s, tagAuth, authNone, huma.Operation{OperationID: "jwks", Method: http.MethodGet, Path: "/.well-known/jwks.json",
		Summary: "Public keys that verify access tokens (JWKS)"}, s.jwks)
}

// userRoutes are the directory of people and their administration.
func (s *Server) userRoutes() {
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/api/v1/users",
		Summary:     "The people the caller may message",
		Description: "Active users only, by name. Guardians see the staff at their students' locations; never other guardians.",
		Errors:      []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, s.listUsers)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/api/v1/users",
		Summary: "Create a user", DefaultStatus: http.StatusCreated,
		Description: "ADMIN anywhere in the district; SCHOOL_ADMIN for non-ADMIN users within their locations and guardians. " +
			"An email already in the district is 409. Nobody chooses another person's password: a password in the body is 403 " +
			"naming body.password (the person signs in with a code, or the operator sets a first password with the CLI).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.createUser)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/api/v1/users/{id}",
		Summary: "A user the caller may message or administer",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, s.getUser)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/api/v1/users/{id}",
		Summary: "Change a user",
		Description: "Only the fields given change. The email cannot change (sending it is 422). " +
			"A password is never set here, not even one's own: 403 naming body.password (PUT /api/v1/me/password " +
			"with the current password; an administrator deactivates the account instead). " +
			"Turning a guardian into staff or staff into a guardian is an ADMIN's act (403 naming body.role for a SCHOOL_ADMIN); " +
			"placing a non-custodial contact of a student at, above or below that student's location is 403 naming " +
			"body.location_ids for a SCHOOL_ADMIN and, for an ADMIN, recorded in the audit as an override.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.updateUser)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "deactivate-user", Method: http.MethodDelete, Path: "/api/v1/users/{id}",
		Summary: "Deactivate a user", DefaultStatus: http.StatusNoContent,
		Description: "The user can no longer sign in and their sessions end at once; their messages stay.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.deleteUser)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "reactivate-user", Method: http.MethodPost, Path: "/api/v1/users/{id}/reactivate",
		Summary: "Let a deactivated user sign in again",
		Description: "Who may deactivate a user may reactivate them: ADMIN anyone in the district, SCHOOL_ADMIN the non-ADMIN " +
			"users at their locations and the guardians of their students (another user they may see is 403; one they may not, 404). " +
			"The user signs in again as before (their sessions stayed ended) and is reachable again. Reactivating an active " +
			"user changes nothing. Audited (user.reactivated).",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.reactivateUser)
	register(s, tagUsers, authRequired, huma.Operation{OperationID: "list-people", Method: http.MethodGet, Path: "/api/v1/admin/users",
		Summary: "The people the caller administers, deactivated ones too",
		Description: "ADMIN: everyone in the district; SCHOOL_ADMIN: the non-ADMIN users at their locations (or below them) " +
			"and the guardians of their students, themselves included; anyone else 403. Unlike GET /api/v1/users it lists " +
			"deactivated people (deactivated_at set) unless status says otherwise. Search, filters and pages as there.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}}, s.listPeople)
}

// locationRoutes are the district's tree of schools and campuses.
func (s *Server) locationRoutes() {
	register(s, tagLocations, authRequired, huma.Operation{OperationID: "create-location", Method: http.MethodPost, Path: "/api/v1/locations",
		Summary: "Create a district, school or campus", DefaultStatus: http.StatusCreated,
		Description: "ADMIN anywhere; SCHOOL_ADMIN below their own locations.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.createLocation)
	register(s, tagLocations, authRequired, huma.Operation{OperationID: "list-locations", Method: http.MethodGet, Path: "/api/v1/locations",
		Summary: "Every location of the district, parents first",
		Errors:  []int{http.StatusUnauthorized}}, s.listLocations)
	register(s, tagLocations, authRequired, huma.Operation{OperationID: "rename-location", Method: http.MethodPatch, Path: "/api/v1/locations/{id}",
		Summary: "Rename a location",
		Description: "ADMIN any location; SCHOOL_ADMIN their own locations and those below them (another is 403: every user of " +
			"the district may read it); another district's is 404. Audited (location.renamed).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.renameLocation)
}

// studentRoutes are students and their guardians.
func (s *Server) studentRoutes() {
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "create-student", Method: http.MethodPost, Path: "/api/v1/students",
		Summary: "Create a student with their guardians", DefaultStatus: http.StatusCreated,
		Description: "The caller must administer the student's location. Guardians must be users of role GUARDIAN in the district " +
			"whom the caller may see (GET /api/v1/users/{id}); any other id is 422 naming it, alike for unknown and unseen ones. " +
			"Custody for a guardian who is a non-custodial contact of a student at or near this location is an ADMIN's decision " +
			"(403 naming body.guardians[i].custody for a SCHOOL_ADMIN; audited as an override).",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.createStudent)
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "list-students", Method: http.MethodGet, Path: "/api/v1/students",
		Summary: "The students the caller may see (a guardian: the children they have custody of)",
		Description: "Paged by name (keyset cursor), filtered by a name search, a location (and below) and a grade. " +
			"Deactivated students are left out unless include_deactivated=true, which only ADMIN and SCHOOL_ADMIN may ask (403 naming it).",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}}, s.listStudents)
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "get-student", Method: http.MethodGet, Path: "/api/v1/students/{id}",
		Summary:     "A student the caller may see",
		Description: "A non-custodial contact of the student sees nothing of them: 404.",
		Errors:      []int{http.StatusUnauthorized, http.StatusNotFound}}, s.getStudent)
	editErrors := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "update-student", Method: http.MethodPatch, Path: "/api/v1/students/{id}",
		Summary: "Change a student's name, grade or location",
		Description: studentEditRule + "Moving a student near where one of its custodial guardians is a non-custodial contact is an " +
			"ADMIN's decision (403 naming body.location_id for a SCHOOL_ADMIN).",
		Errors: editErrors}, s.updateStudent)
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "set-guardian", Method: http.MethodPut, Path: "/api/v1/students/{id}/guardians/{user_id}",
		Summary: "Link a guardian to a student, or change their custody",
		Description: studentEditRule + "The guardian must be a user of role GUARDIAN the caller may see (404 otherwise; 422 naming " +
			"path.user_id for another role). Custody for a non-custodial contact of a student at or near this location is an ADMIN's " +
			"decision (403 naming body.custody for a SCHOOL_ADMIN; audited as an override).",
		Errors: editErrors}, s.setGuardian)
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "remove-guardian", Method: http.MethodDelete, Path: "/api/v1/students/{id}/guardians/{user_id}",
		Summary:     "Unlink a guardian from a student",
		Description: studentEditRule + "A guardian not linked to the student is 404.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, s.removeGuardian)
}

// studentEditRule is who may change a student, as its operations say it.
const studentEditRule = "ADMIN anywhere, SCHOOL_ADMIN at their locations; a student the caller may not see is 404, one they see but " +
	"do not administer 403. The roster owns what it imports: an imported student's name, grade and location, and the links it made, " +
	"are 409 (change them in the student information system); links added by hand are never touched by an import. " +
	"A deactivated student is 409. Audited. "

// groupRoutes are the named groups of recipients.
func (s *Server) groupRoutes() {
	register(s, tagGroups, authRequired, huma.Operation{OperationID: "create-group", Method: http.MethodPost, Path: "/api/v1/groups",
		Summary: "Create a group of people the caller may message", DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.createGroup)
	register(s, tagGroups, authRequired, huma.Operation{OperationID: "list-groups", Method: http.MethodGet, Path: "/api/v1/groups",
		Summary: "The groups the caller may message",
		Errors:  []int{http.StatusUnauthorized}}, s.listGroups)
	register(s, tagGroups, authRequired, huma.Operation{OperationID: "get-group", Method: http.MethodGet, Path: "/api/v1/groups/{id}",
		Summary: "A group the caller may message",
		Errors:  []int{http.StatusUnauthorized, http.StatusNotFound}}, s.getGroup)
	register(s, tagGroups, authRequired, huma.Operation{OperationID: "update-group", Method: http.MethodPatch, Path: "/api/v1/groups/{id}",
		Summary: "Rename a group or replace its members",
		Description: "ADMIN and SCHOOL_ADMIN only (403), on a group they may message (404 otherwise). member_ids replaces the members: " +
			"those added must be people the caller may message (403 naming body.member_ids[i]), those kept may stay. Audited.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.updateGroup)
	register(s, tagGroups, authRequired, huma.Operation{OperationID: "delete-group", Method: http.MethodDelete, Path: "/api/v1/groups/{id}",
		Summary: "Delete a group", DefaultStatus: http.StatusNoContent,
		Description: "Who may, as for update-group. Messages already sent to the group keep their recipients. Audited.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.deleteGroup)
}

// Who may act on a message, as the operations that share the rule say it.
const (
	senderOnly = "Sender only: a recipient or ADMIN who may see it gets 403, anyone else 404. "
	reportOnly = "Sender and ADMIN only: a recipient gets 403, anyone else 404. "
)

// messageRoutes are sending, reading and reporting on messages.
func (s *Server) messageRoutes() {
	// GET /messages/counts is a literal path, so the ServeMux
	// prefers it to /messages/{id}.
	bodyErrors := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}
	idErrors := []int{http.StatusUnauthorized, http.StatusNotFound}
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "send-message", Method: http.MethodPost, Path: "/api/v1/messages",
		Summary: "Send a message", DefaultStatus: http.StatusCreated,
		Description: "To recipient_ids, the members of group_ids and an audience (at least one of them), whom the caller must be allowed to " +
			"message. A recipient id that is not an active user of the district is 422 naming it (errors[0].location " +
			"body.recipient_ids[i]); a recipient the caller may not message is 403 naming it; a group the caller may not " +
			"use is 422 naming body.group_ids[i]. Group members the caller may not message, or who are deactivated, are " +
			"left out. What the caller's role may not send is 403 naming the rule's field: body.category for EMERGENCY " +
			"(ADMIN and SCHOOL_ADMIN only), body.priority for URGENT from a GUARDIAN (at most HIGH); GET /tenant " +
			"send_policy lists what each role may send. Malformed input is 422 before a forbidden category or priority is " +
			"403. Health categories are sensitive unless the request says \"sensitive\": false and the district's " +
			"sensitive_by_default is off. A refused request stores nothing. " +
			"Limits: subject 200 characters, body 20,000 characters, 10 attachments (https URLs), 10,000 recipient_ids, " +
			"50 group_ids, 100,000 recipients after expanding groups, request 1 MiB. With an Idempotency-Key (per user), " +
			"repeating the request with the same body (whitespace and field order aside) returns the original message, 201; " +
			"with a different body, 409. A scheduled_at in the future stores the message as SCHEDULED until then. " +
			"An audience (a broadcast) is resolved when the message is dispatched, with no limit on its size: the answer is " +
			"SENDING (or SCHEDULED) with recipient_count counting only the named recipients until then; a guardian is 403 " +
			"body.audience, a location outside the caller's 403 body.audience.location_ids[i].",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.sendMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "list-messages", Method: http.MethodGet, Path: "/api/v1/messages",
		Summary: "One page of a box, newest first",
		Description: "inbox: received and not archived, in arrival order; archived: received and archived; sent: sent by the " +
			"caller (SENDING or SENT); scheduled: the caller's SCHEDULED messages and those canceled while scheduled " +
			"(status CANCELED: canceling leaves a trace). Pages never skip or repeat a message " +
			"while new ones arrive. A sensitive message is listed with its subject and sensitive: true, its body, body_html " +
			"and attachments empty: GET /messages/{id} shows them. A page is audited as one message.read event naming " +
			"its messages.",
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, s.listMessages)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "count-messages", Method: http.MethodGet, Path: "/api/v1/messages/counts",
		Summary: "The size and unread count of every box, for badges",
		Errors:  []int{http.StatusUnauthorized}}, s.countMessages)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message", Method: http.MethodGet, Path: "/api/v1/messages/{id}",
		Summary: "A message, to its sender, its recipients and the district's admins",
		Description: "Recipients see a message once it is sent (not while SCHEDULED). Reading a message is recorded in " +
			"the audit log (message.read); it does not mark it read: PUT /read does. The only read that shows a sensitive message's body " +
			"and attachments. " +
			"body_html is the body as sanitized HTML, safe to insert into a page.",
		Errors: idErrors}, s.getMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "reschedule-message", Method: http.MethodPatch, Path: "/api/v1/messages/{id}",
		Summary: "Reschedule a scheduled message",
		Description: senderOnly + "409 once the message is no longer SCHEDULED (sent or canceled); " +
			"422 for a time not in the future or more than a year ahead.",
		Errors: bodyErrors}, s.rescheduleMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "cancel-message", Method: http.MethodDelete, Path: "/api/v1/messages/{id}",
		Summary: "Cancel a scheduled message", DefaultStatus: http.StatusNoContent,
		Description: senderOnly + "The message becomes CANCELED and is never sent; it stays in the scheduled box, " +
			"marked CANCELED. 409 for one already sent or canceled.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, s.cancelMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message-thread", Method: http.MethodGet, Path: "/api/v1/messages/{id}/thread",
		Summary: "The thread of a message, oldest first",
		Description: "Only the messages of the thread the caller may see: a guardian sees their own exchange with the " +
			"sender, never other recipients' replies. Sensitive messages carry no body or attachments, as in lists.",
		Errors: idErrors}, s.messageThread)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "reply-to-message", Method: http.MethodPost, Path: "/api/v1/messages/{id}/replies",
		Summary: "Reply in a message's thread", DefaultStatus: http.StatusCreated,
		Description: "A recipient's reply goes to the message's sender only, never to the other recipients. The sender may " +
			"reply to a one-to-one message once sent; to a broadcast it is 409 (send a new message instead); an ADMIN " +
			"who only reads it gets 403. The reply's subject is \"Re: \" and the original's; it takes the original's " +
			"sensitive flag, and its category and priority as far as the replier's role may send them (never refused: a " +
			"GUARDIAN's reply to an URGENT message is HIGH, to an EMERGENCY one GENERAL), and goes IN_APP only. " +
			"Idempotency-Key as for sending.",
		Errors: bodyErrors}, s.replyToMessage)
}

// messageReportRoutes tell a message's sender and the district's admins
// how it was delivered and read; a recipient gets 403.
func (s *Server) messageReportRoutes() {
	reportErrors := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message-delivery", Method: http.MethodGet, Path: "/api/v1/messages/{id}/delivery",
		Summary:     "Deliveries of a message by recipient and channel, with a summary by status",
		Description: reportOnly + "At most 10,000 items (by recipient, then channel); the summary counts every delivery.",
		Errors:      reportErrors}, s.messageDeliveries)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message-receipts", Method: http.MethodGet, Path: "/api/v1/messages/{id}/receipts",
		Summary:     "Who has received and read a message",
		Description: reportOnly + "At most 10,000 items, by name.",
		Errors:      reportErrors}, s.messageReceipts)
}

// messageStateRoutes are a recipient's own read and archive state of a
// message; the sender has none, so it gets 409.
func (s *Server) messageStateRoutes() {
	stateErrors := []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict}
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "mark-message-read", Method: http.MethodPut, Path: "/api/v1/messages/{id}/read",
		Summary: "Mark a received message read, for the caller", DefaultStatus: http.StatusNoContent,
		Errors: stateErrors}, s.markRead)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "mark-message-unread", Method: http.MethodDelete, Path: "/api/v1/messages/{id}/read",
		Summary: "Mark a received message unread, for the caller", DefaultStatus: http.StatusNoContent,
		Description: "Only the caller's own box changes: the read receipt its sender sees (read_count, receipts) stays.",
		Errors:      stateErrors}, s.markUnread)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "archive-message", Method: http.MethodPut, Path: "/api/v1/messages/{id}/archive",
		Summary: "Archive a message, for the caller", DefaultStatus: http.StatusNoContent,
		Description: "It leaves the inbox and appears in the archived box.",
		Errors:      stateErrors}, s.archiveMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "unarchive-message", Method: http.MethodDelete, Path: "/api/v1/messages/{id}/archive",
		Summary: "Return an archived message to the inbox, for the caller", DefaultStatus: http.StatusNoContent,
		Errors: stateErrors}, s.unarchiveMessage)
}

// op completes an operation of the table: the body limit, and the
// authentication mode with its security requirement for the spec.
func (s *Server) op(o huma.Operation, auth string) huma.Operation {
	// huma refuses a body whose length reaches MaxBodyBytes; +1 lets a body
	// of exactly the limit through. An upload route sets its own.
	o.MaxBodyBytes = cmp.Or(o.MaxBodyBytes, s.cfg.MaxBodyBytes) + 1
	if rateLimited(o.Path) {
		o.Errors = append(o.Errors, http.StatusTooManyRequests)
	}
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
