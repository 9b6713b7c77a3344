package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/wire"
)

// AudiencePreview is how many people an audience holds now.
type AudiencePreview struct {
	Count     int            `json:"count" doc:"People in the audience now, each once"`
	ByRole    map[string]int `json:"by_role" doc:"How many of them have each role (roles with none are left out)"`
	Reachable map[string]int `json:"reachable" doc:"How many of them each external channel can reach: an email address not suppressed after a bounce (EMAIL), a phone number that has not texted STOP (SMS), a phone number (VOICE), a working push subscription (PUSH)"`
}

type previewAudienceInput struct {
	Body wire.Audience
}

type previewAudienceOutput struct{ Body AudiencePreview }

func (s *Server) previewAudience(ctx context.Context, in *previewAudienceInput) (*previewAudienceOutput, error) {
	p, err := s.deps.Audiences.PreviewAudience(ctx, in.Body.Domain())
	if err != nil {
		return nil, previewField(err)
	}
	out := AudiencePreview{Count: p.Count, ByRole: map[string]int{}, Reachable: map[string]int{}}
	for r, n := range p.ByRole {
		out.ByRole[string(r)] = n
	}
	for c, n := range p.Reachable {
		out.Reachable[string(c)] = n
	}
	return &previewAudienceOutput{Body: out}, nil
}

// previewField names the field of a preview's problem in its own body:
// the store checks an audience as the audience of a send (body.audience.x),
// and a preview's body is the audience itself (body.x).
func previewField(err error) error {
	var e *whitecross.Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Field, "body.audience") {
		return err
	}
	out := *e
	out.Field = "body" + strings.TrimPrefix(e.Field, "body.audience")
	return &out
}

// audienceRoutes adds the audience preview.
func (s *Server) audienceRoutes() {
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "preview-audience", Method: http.MethodPost,
		Path: "/api/v1/audiences/preview", Summary: "Count a broadcast audience before sending to it",
		Description: "The same rules as sending to the audience: a guardian is 403; an audience with no dimension, or everyone " +
			"combined with another, is 422; a location outside the caller's (for anyone but an ADMIN) is 403 naming " +
			"body.location_ids[i] (problems name the fields of this body, which is the audience itself). One grouped count, fast enough to refresh as the sender edits the audience.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}}, s.previewAudience)
}
