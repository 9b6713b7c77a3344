package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// legalHoldRoutes registers legal holds: what keeps messages past the
// district's retention_days while a matter is open.
func (s *Server) legalHoldRoutes() {
	const covers = "A hold on a person (user_id) keeps every message they sent or received; a hold on a student " +
		"(student_id) every message about the student. "
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "place-legal-hold", Method: http.MethodPost, Path: "/api/v1/admin/legal-holds",
		Summary: "Keep a person's or a student's messages past retention", DefaultStatus: http.StatusCreated,
		Description: "ADMIN only (others 403). " + covers + "Exactly one of user_id and student_id, of the district " +
			"(otherwise 422 naming the field), and a reason (1 to 500 characters; kept with the hold, not in the audit log). " +
			"The hold lasts until it is released. Audited.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.placeLegalHold)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "list-legal-holds", Method: http.MethodGet, Path: "/api/v1/admin/legal-holds",
		Summary:     "The district's legal holds, active first",
		Description: "ADMIN only (others 403). Active holds first, then released ones (kept as the record), each newest first.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden}}, s.listLegalHolds)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "release-legal-hold", Method: http.MethodDelete, Path: "/api/v1/admin/legal-holds/{id}",
		Summary: "Release a legal hold",
		Description: "ADMIN only (others 403). The hold stops protecting messages (the next daily purge may delete them) and " +
			"is kept, with who released it and when. An unknown, released or other district's hold is 404. Audited.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.releaseLegalHold)
}

// LegalHold is a hold on a person's or a student's messages.
type LegalHold struct {
	ID         string     `json:"id" format:"uuid"`
	UserID     *string    `json:"user_id" format:"uuid" doc:"The person held; null for a student hold"`
	StudentID  *string    `json:"student_id" format:"uuid" doc:"The student held; null for a person hold"`
	Name       string     `json:"name" doc:"The person's or the student's name"`
	Reason     string     `json:"reason"`
	Active     bool       `json:"active" doc:"False once released"`
	CreatedBy  string     `json:"created_by" format:"uuid"`
	CreatedAt  time.Time  `json:"created_at"`
	ReleasedAt *time.Time `json:"released_at" doc:"null while active"`
	ReleasedBy *string    `json:"released_by" format:"uuid"`
}

// LegalHoldList is the district's holds.
type LegalHoldList struct {
	Items []LegalHold `json:"items"`
}

type legalHoldOutput struct{ Body LegalHold }

type legalHoldListOutput struct{ Body LegalHoldList }

type placeLegalHoldInput struct {
	Body struct {
		UserID    string `json:"user_id,omitempty" maxLength:"64" doc:"A person of the district"`
		StudentID string `json:"student_id,omitempty" maxLength:"64" doc:"A student of the district"`
		Reason    string `json:"reason" maxLength:"500" doc:"Why the messages are held, e.g. the matter or request"`
	}
}

type legalHoldIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) placeLegalHold(ctx context.Context, in *placeLegalHoldInput) (*legalHoldOutput, error) {
	h, err := s.deps.LegalHolds.PlaceLegalHold(ctx, whitecross.LegalHoldCreate{
		UserID: in.Body.UserID, StudentID: in.Body.StudentID, Reason: in.Body.Reason})
	if err != nil {
		return nil, err
	}
	return &legalHoldOutput{Body: legalHoldOf(h)}, nil
}

func (s *Server) listLegalHolds(ctx context.Context, _ *struct{}) (*legalHoldListOutput, error) {
	holds, err := s.deps.LegalHolds.ListLegalHolds(ctx)
	if err != nil {
		return nil, err
	}
	out := &legalHoldListOutput{Body: LegalHoldList{Items: make([]LegalHold, 0, len(holds))}}
	for _, h := range holds {
		out.Body.Items = append(out.Body.Items, legalHoldOf(h))
	}
	return out, nil
}

func (s *Server) releaseLegalHold(ctx context.Context, in *legalHoldIDInput) (*legalHoldOutput, error) {
	h, err := s.deps.LegalHolds.ReleaseLegalHold(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &legalHoldOutput{Body: legalHoldOf(h)}, nil
}

// legalHoldOf is the wire form of h.
func legalHoldOf(h *whitecross.LegalHold) LegalHold {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return LegalHold{ID: h.ID, UserID: opt(h.UserID), StudentID: opt(h.StudentID), Name: h.Name, Reason: h.Reason,
		Active: h.ReleasedAt == nil, CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, ReleasedAt: h.ReleasedAt, ReleasedBy: opt(h.ReleasedBy)}
}
