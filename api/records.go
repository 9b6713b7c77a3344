package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/wire"
)

// Disclosure is one time content about a student reached someone.
type Disclosure struct {
	At        time.Time `json:"at" doc:"When it was sent (DELIVERED) or first read or replied to (READ)"`
	MessageID string    `json:"message_id" format:"uuid"`
	ToUserID  string    `json:"to_user_id" format:"uuid"`
	Channel   string    `json:"channel" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE" doc:"The external channel that carried it; IN_APP for a read"`
	Kind      string    `json:"kind" enum:"DELIVERED,READ"`
}

// DisclosureList is a student's accounting of disclosures.
type DisclosureList struct {
	Items []Disclosure `json:"items" nullable:"false"`
}

type studentMessagesInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Student id"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor string `query:"cursor" maxLength:"256"`
}

type disclosuresInput struct {
	StudentID string    `query:"student_id" maxLength:"64" doc:"The student (required)"`
	Since     time.Time `query:"since" doc:"Only disclosures at or after this time (RFC 3339)"`
	Until     time.Time `query:"until" doc:"Only disclosures before this time (RFC 3339)"`
}

type disclosuresOutput struct{ Body DisclosureList }

// recordRoutes are the messaging part of a student's record.
func (s *Server) recordRoutes() {
	register(s, tagStudents, authRequired, huma.Operation{OperationID: "list-student-messages", Method: http.MethodGet,
		Path:    "/api/v1/students/{id}/messages",
		Summary: "The student's communication log: the messages about them, newest first",
		Description: "For whoever may see the student (GET /api/v1/students/{id}; anyone else 404). ADMIN, and NURSE and " +
			"SCHOOL_ADMIN of the student's school, see every message about the student; STAFF and the student's guardians " +
			"those they sent or received. Items carry their full content, sensitive bodies included: each page is one audited " +
			"read (message.read naming its messages). Paged by message (keyset cursor): no page skips or repeats while messages arrive.",
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound}}, s.studentMessages)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "list-disclosures", Method: http.MethodGet,
		Path:    "/api/v1/admin/disclosures",
		Summary: "Every time content about a student left the school or was read (FERPA 99.32, HIPAA 164.528)",
		Description: "ADMIN only (others 403). For the messages about the student (student_ids): each delivery an external " +
			"channel (EMAIL, SMS, PUSH, VOICE) sent or delivered (kind DELIVERED, at = when sent) and each recipient's first read " +
			"or reply (kind READ, channel IN_APP). Oldest first, then by message, person, kind and channel. At most 10,000 " +
			"items: a range holding more is 422 naming query.until (narrow since/until). A student not in the district is 404. " +
			"The read is audited.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.listDisclosures)
}

func (s *Server) studentMessages(ctx context.Context, in *studentMessagesInput) (*messagePageOutput, error) {
	page, err := s.deps.Students.StudentMessages(ctx, in.ID, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &messagePageOutput{Body: MessagePage{Items: wire.MessagesFrom(page.Items)}}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

func (s *Server) listDisclosures(ctx context.Context, in *disclosuresInput) (*disclosuresOutput, error) {
	f := whitecross.DisclosureFilter{StudentID: in.StudentID}
	if !in.Since.IsZero() {
		since := in.Since.UTC()
		f.Since = &since
	}
	if !in.Until.IsZero() {
		until := in.Until.UTC()
		f.Until = &until
	}
	list, err := s.deps.Students.Disclosures(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &disclosuresOutput{Body: DisclosureList{Items: make([]Disclosure, 0, len(list))}}
	for _, d := range list {
		out.Body.Items = append(out.Body.Items, Disclosure{At: d.At, MessageID: d.MessageID, ToUserID: d.ToUserID,
			Channel: string(d.Channel), Kind: string(d.Kind)})
	}
	return out, nil
}
