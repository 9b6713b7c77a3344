package api

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"whitecross"
)

// auditRoutes registers the district administrator's audit viewer: the
// hash-chained log of who did what, as pages, as CSV, and its verification.
func (s *Server) auditRoutes() {
	const admin = "ADMIN only (others 403); the caller's district only. "
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "list-audit-events", Method: http.MethodGet, Path: "/api/v1/admin/audit",
		Summary: "The district's audit log, newest first",
		Description: admin + "Filters combine (actor_id, action and target_id exact; since inclusive, until exclusive); target_id also " +
			"matches the message.read events that name that message among several. " +
			"Every read of message content is one message.read event naming its messages in detail.message_ids (a list " +
			"page is one event; a single message is also the target); events before issue 15 say message.viewed. " +
			"Events appear once linked into the chain, within about a second.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}}, s.listAudit)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "get-audit-csv", Method: http.MethodGet, Path: "/api/v1/admin/audit.csv",
		Summary: "The district's audit log as CSV",
		Description: admin + "The filters of GET /api/v1/admin/audit, every matching event, newest first: " +
			"id,at,actor_id,action,target_type,target_id,outcome,ip,detail (detail as JSON). Streamed; a cell that " +
			"starts with = + - @ is prefixed with ' so a spreadsheet never reads it as a formula.",
		Responses: map[string]*huma.Response{"200": {Description: "The CSV", Content: map[string]*huma.MediaType{"text/csv": {}}}},
		Errors:    []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}}, s.auditCSV)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "verify-audit", Method: http.MethodGet, Path: "/api/v1/admin/audit/verify",
		Summary: "Check the district's audit chain",
		Description: admin + "Walks the whole chain: ok with the number of events, or not ok with broken_at, the id of the " +
			"first event that was edited, removed or reordered (or the chain head's id when the newest events are gone).",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}}, s.verifyAudit)
}

// AuditItem is one event of the audit log.
type AuditItem struct {
	ID         int64             `json:"id" doc:"Its place in the district's chain: 1, 2, 3…"`
	At         time.Time         `json:"at"`
	ActorID    string            `json:"actor_id" doc:"The user who acted; empty for the system or an anonymous caller"`
	Action     string            `json:"action" doc:"What was done, e.g. message.read, auth.login.failed"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Outcome    string            `json:"outcome" enum:"SUCCESS,FAILURE,DENIED"`
	IP         string            `json:"ip"`
	Detail     map[string]string `json:"detail,omitempty" doc:"Small facts without PHI, e.g. message_ids of a message.read"`
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Items      []AuditItem `json:"items"`
	NextCursor *string     `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

type auditPageOutput struct{ Body AuditPage }

// AuditVerdict is the result of walking the chain.
type AuditVerdict struct {
	OK       bool   `json:"ok"`
	Events   *int64 `json:"events,omitempty" doc:"Events checked, when ok"`
	BrokenAt *int64 `json:"broken_at,omitempty" doc:"The first event that does not hold, when not ok"`
}

type auditVerdictOutput struct{ Body AuditVerdict }

type auditFilterInput struct {
	ActorID  string    `query:"actor_id" maxLength:"64"`
	Action   string    `query:"action" maxLength:"100"`
	TargetID string    `query:"target_id" maxLength:"200"`
	Since    time.Time `query:"since" doc:"Only events at or after this time (RFC 3339)"`
	Until    time.Time `query:"until" doc:"Only events before this time (RFC 3339)"`
}

func (in *auditFilterInput) filter() whitecross.AuditFilter {
	return whitecross.AuditFilter{ActorID: in.ActorID, Action: in.Action, TargetID: in.TargetID, Since: in.Since, Until: in.Until}
}

// listAuditInput is auditFilterInput with paging (huma reads no embedded
// parameter structs).
type listAuditInput struct {
	ActorID  string    `query:"actor_id" maxLength:"64"`
	Action   string    `query:"action" maxLength:"100"`
	TargetID string    `query:"target_id" maxLength:"200"`
	Since    time.Time `query:"since" doc:"Only events at or after this time (RFC 3339)"`
	Until    time.Time `query:"until" doc:"Only events before this time (RFC 3339)"`
	Limit    int       `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor   string    `query:"cursor" maxLength:"256"`
}

func (s *Server) listAudit(ctx context.Context, in *listAuditInput) (*auditPageOutput, error) {
	f := whitecross.AuditFilter{ActorID: in.ActorID, Action: in.Action, TargetID: in.TargetID, Since: in.Since, Until: in.Until,
		Limit: in.Limit, Cursor: in.Cursor}
	page, err := s.deps.Audit.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &auditPageOutput{Body: AuditPage{Items: make([]AuditItem, 0, len(page.Items))}}
	for _, e := range page.Items {
		out.Body.Items = append(out.Body.Items, auditItem(e))
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

func auditItem(e *whitecross.AuditEvent) AuditItem {
	return AuditItem{ID: e.Seq, At: e.At, ActorID: e.ActorID, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Outcome: e.Outcome, IP: e.ClientIP, Detail: e.Detail}
}

// auditCSVHeader is the first line of audit.csv.
var auditCSVHeader = []string{"id", "at", "actor_id", "action", "target_type", "target_id", "outcome", "ip", "detail"}

// auditCSV streams the log as deliveryCSV streams a report: a refusal
// comes before any row, so it is still a problem answer.
func (s *Server) auditCSV(ctx context.Context, in *auditFilterInput) (*huma.StreamResponse, error) {
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		var out *csv.Writer
		start := func() {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
			w.WriteHeader(http.StatusOK)
			out = csv.NewWriter(w)
			_ = out.Write(auditCSVHeader)
		}
		err := s.deps.Audit.EachAudit(ctx, in.filter(), func(e *whitecross.AuditEvent) error {
			if out == nil {
				start()
			}
			return out.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.ActorID),
				csvSafe(e.Action), csvSafe(e.TargetType), csvSafe(e.TargetID), csvSafe(e.Outcome), csvSafe(e.ClientIP),
				csvSafe(string(e.StoredDetail))})
		})
		switch {
		case err != nil && out == nil:
			writeError(w, s.problem(ctx, err))
		case err != nil:
			s.log.ErrorContext(ctx, "audit export stopped", "request_id", requestIDFrom(ctx), "error", err.Error())
		default:
			if out == nil {
				start()
			}
			out.Flush()
		}
	}}, nil
}

func (s *Server) verifyAudit(ctx context.Context, _ *struct{}) (*auditVerdictOutput, error) {
	v, err := s.deps.Audit.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	out := &auditVerdictOutput{Body: AuditVerdict{OK: v.OK}}
	if v.OK {
		out.Body.Events = &v.Events
	} else {
		out.Body.BrokenAt = &v.BrokenAt
	}
	return out, nil
}
