package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// suppressionRoutes registers the admin's view of suppressed email
// addresses: the people email no longer reaches, and the way to let it
// reach them again once the address works.
func (s *Server) suppressionRoutes() {
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "list-email-suppressions", Method: http.MethodGet, Path: "/api/v1/admin/email-suppressions",
		Summary: "The district's people whose email address is no longer emailed, newest first",
		Description: "ADMIN only (others 403). An address is suppressed when it hard-bounced, its owner reported an email as " +
			"spam, or unsubscribed (reason bounce, complaint, unsubscribe or invalid); the pipeline then never emails it, and " +
			"email deliveries to it fail at once and fall back to the next channel. Suppressions belong to the address, " +
			"for every district.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}}, s.listEmailSuppressions)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "lift-email-suppression", Method: http.MethodDelete, Path: "/api/v1/admin/email-suppressions/{user_id}",
		Summary: "Email a person's address again", DefaultStatus: http.StatusNoContent,
		Description: "ADMIN only (others 403). Lift it once the person confirms the address works (or after correcting it, " +
			"which also clears it: a new address is not suppressed). The address is emailed again, by every district. " +
			"Deliveries that already failed stay failed: retry them with POST /api/v1/admin/deliveries/retry. A user of " +
			"another district, or one whose address is not suppressed, is 404. Audited (the user, not the address).",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.liftEmailSuppression)
}

// EmailSuppression is a person whose email address is not emailed.
type EmailSuppression struct {
	UserID   string    `json:"user_id" format:"uuid"`
	UserName string    `json:"user_name"`
	Email    string    `json:"email" format:"email"`
	Reason   string    `json:"reason" doc:"Why the address is suppressed: bounce, complaint, unsubscribe or invalid"`
	Since    time.Time `json:"since" doc:"When it was first suppressed"`
}

// EmailSuppressionPage is one page of suppressions.
type EmailSuppressionPage struct {
	Items      []EmailSuppression `json:"items"`
	NextCursor *string            `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

type emailSuppressionPageOutput struct{ Body EmailSuppressionPage }

type listEmailSuppressionsInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor string `query:"cursor" maxLength:"256"`
}

type userIDPathInput struct {
	UserID string `path:"user_id" maxLength:"64" doc:"The person's user id"`
}

func (s *Server) listEmailSuppressions(ctx context.Context, in *listEmailSuppressionsInput) (*emailSuppressionPageOutput, error) {
	page, err := s.deps.DeadLetters.ListEmailSuppressions(ctx, in.Limit, in.Cursor)
	if err != nil {
		return nil, err
	}
	out := &emailSuppressionPageOutput{Body: EmailSuppressionPage{Items: make([]EmailSuppression, 0, len(page.Items))}}
	for _, es := range page.Items {
		out.Body.Items = append(out.Body.Items, EmailSuppression{
			UserID: es.UserID, UserName: es.UserName, Email: es.Email, Reason: es.Reason, Since: es.Since})
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

func (s *Server) liftEmailSuppression(ctx context.Context, in *userIDPathInput) (*struct{}, error) {
	return nil, s.deps.DeadLetters.LiftEmailSuppression(ctx, in.UserID)
}
