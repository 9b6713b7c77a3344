package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"whitecross/wire"
)

func (s *Server) approveMessage(ctx context.Context, in *messageIDInput) (*messageOutput, error) {
	m, err := s.deps.Messages.Approve(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}

func (s *Server) rejectMessage(ctx context.Context, in *messageIDInput) (*messageOutput, error) {
	m, err := s.deps.Messages.Reject(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}

// approvalRoutes adds the approval of broadcasts held by the district's
// approval_threshold.
func (s *Server) approvalRoutes() {
	const who = "By an ADMIN, or a SCHOOL_ADMIN whose locations cover every location of the message's sender; never by " +
		"its sender (403). A message the caller cannot see is 404; one not PENDING_APPROVAL is 409. Audited. "
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "approve-message", Method: http.MethodPost,
		Path: "/api/v1/messages/{id}/approve", Summary: "Approve a broadcast waiting for approval",
		Description: who + "The message goes on as if just sent: SENDING, or SCHEDULED until its scheduled_at; its audience " +
			"is resolved when it is dispatched.", Errors: errs}, s.approveMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "reject-message", Method: http.MethodPost,
		Path: "/api/v1/messages/{id}/reject", Summary: "Reject a broadcast waiting for approval",
		Description: who + "The message becomes CANCELED and goes nowhere.", Errors: errs}, s.rejectMessage)
}
