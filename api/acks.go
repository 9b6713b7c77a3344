package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/wire"
)

// Acknowledgement and escalation (API.md): a recipient acknowledges a
// message that asks for it; its sender and the district's admins list who
// has and has not. Sending with ack_requested and escalation is part of
// POST /messages (sendMessageInput embeds AckRequest).

// AckRequest is the acknowledgement part of a send request, embedded in its
// body.
type AckRequest struct {
	AckRequested bool             `json:"ack_requested,omitempty" doc:"Ask every recipient to acknowledge the message (PUT /messages/{id}/ack); the sender sees ack_summary and GET /messages/{id}/acks"`
	Escalation   *wire.Escalation `json:"escalation,omitempty" doc:"Only with ack_requested (else 422 naming body.escalation): contact again, on its channels, the recipients who have not acknowledged after_minutes after sending, up to repeat more times at the same interval, stopping as soon as they acknowledge"`
}

// create copies the request into a send.
func (r AckRequest) create(in *whitecross.MessageCreate) {
	in.AckRequested, in.Escalation = r.AckRequested, wire.EscalationTo(r.Escalation)
}

// Ack is one recipient's acknowledgement state.
type Ack = wire.Ack

// AckPage is one page of a message's acknowledgements, by name.
type AckPage struct {
	Items      []Ack      `json:"items" nullable:"false"`
	NextCursor *string    `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
	AckSummary AckSummary `json:"ack_summary" doc:"The message's counts as this page was read (what the message's ack_summary says), so a live report refreshes both with one request"`
}

type ackPageOutput struct{ Body AckPage }

type listAcksInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Message id"`
	Status string `query:"status" maxLength:"20" doc:"acked or pending (either case); absent: every recipient asked"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor string `query:"cursor" maxLength:"1024"`
}

// ackRoutes are acknowledging a message and listing its acknowledgements.
func (s *Server) ackRoutes() {
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "acknowledge-message", Method: http.MethodPut, Path: "/api/v1/messages/{id}/ack",
		Summary: "Acknowledge a received message that asks for it", DefaultStatus: http.StatusNoContent,
		Description: "By a recipient only: anyone else, its sender and admins included, gets 404. The first acknowledgement " +
			"is kept (acknowledging again is 204 and changes nothing); it also marks the message read, stops its escalation " +
			"for the caller, tells the sender (ack.received) and is audited. 409 when the message does not ask to be acknowledged.",
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict}}, s.acknowledgeMessage)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "list-message-acks", Method: http.MethodGet, Path: "/api/v1/messages/{id}/acks",
		Summary: "Who has and has not acknowledged a message",
		Description: reportOnly + "Every recipient asked (those escalation added included), by name, with acked_at null " +
			"while pending; status filters. Pages never skip or repeat a person (one who acknowledges meanwhile may leave " +
			"a pending listing). 409 when the message does not ask to be acknowledged.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
			http.StatusUnprocessableEntity}}, s.listMessageAcks)
}

func (s *Server) acknowledgeMessage(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Acks.Acknowledge(ctx, in.ID)
}

func (s *Server) listMessageAcks(ctx context.Context, in *listAcksInput) (*ackPageOutput, error) {
	page, err := s.deps.Acks.ListAcks(ctx, in.ID, whitecross.AckFilter{
		Status: whitecross.AckStatus(in.Status), Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	out := &ackPageOutput{Body: AckPage{Items: make([]Ack, 0, len(page.Items)),
		AckSummary: AckSummary{Requested: page.Summary.Requested, Acked: page.Summary.Acked}}}
	for _, a := range page.Items {
		out.Body.Items = append(out.Body.Items, wire.AckFrom(a))
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

// The acknowledgement shapes of a Message, in the API's vocabulary.
type (
	// AckSummary counts a message's acknowledgements.
	AckSummary = wire.AckSummary
	// Escalation is how recipients who do not acknowledge are contacted again.
	Escalation = wire.Escalation
)
