package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"whitecross"
	"whitecross/wire"
)

// The shapes of messages, deliveries and receipts are package wire's, the
// same on every wire (REST answers and realtime frames); these names keep
// them in the API's vocabulary.
type (
	// Message is one message as the caller sees it.
	Message = wire.Message
	// MessageSender is who sent a message.
	MessageSender = wire.MessageSender
	// Attachment is a link to a file held elsewhere.
	Attachment = wire.Attachment
	// Delivery is one message to one recipient over one channel.
	Delivery = wire.Delivery
	// Receipt is one recipient's state of a message as its sender sees it.
	Receipt = wire.Receipt
)

// MessagePage is one page of a box, newest first.
type MessagePage struct {
	Items      []Message `json:"items" nullable:"false"`
	NextCursor *string   `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

// BoxCount is the size of one box.
type BoxCount struct {
	Total  int `json:"total" doc:"Messages in the box; for scheduled, those still waiting (canceled ones are listed there, not counted)"`
	Unread int `json:"unread" doc:"Messages the caller has not read (always 0 for sent and scheduled)"`
}

// MessageCounts is the size of every box, for badges.
type MessageCounts struct {
	Inbox     BoxCount `json:"inbox"`
	Sent      BoxCount `json:"sent"`
	Scheduled BoxCount `json:"scheduled"`
	Archived  BoxCount `json:"archived"`
	// Approvals is present for those who may approve broadcasts.
	Approvals *BoxCount `json:"approvals,omitempty" doc:"Broadcasts waiting for the caller's approval (ADMIN and SCHOOL_ADMIN only; total and unread are the same)"`
}

type messageOutput struct{ Body Message }

type messagePageOutput struct{ Body MessagePage }

type messageCountsOutput struct{ Body MessageCounts }

type messageIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Message id"`
}

type sendMessageInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry safe: the same key with the same body returns the original message (201); with a different body, 409"`
	Body           struct {
		RecipientIDs []string       `json:"recipient_ids,omitempty" maxItems:"10000" format:"uuid" doc:"Users the caller may message; at least one of recipient_ids, group_ids and audience"`
		GroupIDs     []string       `json:"group_ids,omitempty" maxItems:"50" format:"uuid" doc:"Groups whose members receive it"`
		StudentIDs   []string       `json:"student_ids,omitempty" maxItems:"20" format:"uuid" doc:"The students the message is about (at most 20), each one the caller may see (GET /api/v1/students/{id}); any other id is 422 naming body.student_ids[i], alike for unknown, unseen and other districts' students. It then shows in each student's communication log, and its deliveries and reads in their disclosures"`
		Audience     *wire.Audience `json:"audience,omitempty" doc:"A broadcast: everyone matching it when the message is dispatched (beside or instead of recipient_ids and group_ids)"`
		Subject      string         `json:"subject" minLength:"1" maxLength:"200"`
		Body         string         `json:"body" minLength:"1" maxLength:"20000"`
		BodyFormat   string         `json:"body_format,omitempty" enum:"PLAIN,MARKDOWN" default:"PLAIN"`
		Category     string         `json:"category,omitempty" enum:"EMERGENCY,HEALTH_UPDATE,MEDICATION,IMMUNIZATION,INCIDENT,APPOINTMENT,REMINDER,GENERAL" default:"GENERAL"`
		Priority     string         `json:"priority,omitempty" enum:"LOW,MEDIUM,HIGH,URGENT" default:"MEDIUM"`
		Channels     []string       `json:"channels,omitempty" maxItems:"5" enum:"IN_APP,EMAIL,SMS,PUSH,VOICE" doc:"Default [\"IN_APP\"]; IN_APP is always added"`
		Attachments  []Attachment   `json:"attachments,omitempty" maxItems:"10"`
		ScheduledAt  *time.Time     `json:"scheduled_at,omitempty" nullable:"true" doc:"Send later (at most a year ahead); absent, null or a time not in the future sends now"`
		Sensitive    *bool          `json:"sensitive,omitempty" doc:"Protected health information: email, SMS and voice carry only a notice and a link, never the content. Health categories (MEDICATION, HEALTH_UPDATE, IMMUNIZATION, INCIDENT) are sensitive unless this is false and the district's sensitive_by_default is off; other categories only when true"`
		AckRequest
	}
}

type listMessagesInput struct {
	Box      string    `query:"box" maxLength:"20" doc:"inbox (default), sent, scheduled, archived or approvals (broadcasts waiting for the caller's approval), either case"`
	Category string    `query:"category" maxLength:"20" doc:"A category, e.g. health_update (either case)"`
	Priority string    `query:"priority" maxLength:"20" doc:"low, medium, high or urgent (either case)"`
	SenderID string    `query:"sender_id" maxLength:"64" doc:"Only messages from this user"`
	Unread   bool      `query:"unread" doc:"Only messages the caller has not read"`
	Since    time.Time `query:"since" doc:"Only messages at or after this time (RFC 3339)"`
	Until    time.Time `query:"until" doc:"Only messages before this time (RFC 3339)"`
	Limit    int       `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor   string    `query:"cursor" maxLength:"200"`
}

// requestHash fingerprints a request for its Idempotency-Key: SHA-256 over
// the operation, the target and the decoded body re-marshalled, so that
// whitespace and field order do not matter but any value does.
func requestHash(op, target string, body any) ([]byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("marshal request: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(op + "\x00" + target + "\x00"))
	h.Write(raw)
	return h.Sum(nil), nil
}

func (s *Server) sendMessage(ctx context.Context, in *sendMessageInput) (*messageOutput, error) {
	b := in.Body
	hash, err := requestHash("send", "", b)
	if err != nil {
		return nil, err
	}
	create := &whitecross.MessageCreate{
		RecipientIDs: nonNil(b.RecipientIDs), GroupIDs: nonNil(b.GroupIDs), StudentIDs: nonNil(b.StudentIDs), Audience: b.Audience.Domain(),
		Subject: b.Subject, Body: b.Body, BodyFormat: whitecross.BodyFormat(b.BodyFormat),
		Category: whitecross.Category(b.Category), Priority: whitecross.Priority(b.Priority),
		Attachments: make([]whitecross.Attachment, 0, len(b.Attachments)),
		ScheduledAt: b.ScheduledAt, Sensitive: b.Sensitive,
		IdempotencyKey: in.IdempotencyKey, RequestHash: hash, Channels: wire.ChannelsOf(b.Channels),
	}
	b.AckRequest.create(create)
	for _, a := range b.Attachments {
		create.Attachments = append(create.Attachments, whitecross.Attachment{URL: a.URL, Name: a.Name})
	}
	m, err := s.deps.Messages.SendMessage(ctx, create)
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}

func (s *Server) listMessages(ctx context.Context, in *listMessagesInput) (*messagePageOutput, error) {
	// The store matches box, category and priority case-insensitively and
	// names the offending parameter when one is unknown.
	f := whitecross.MessageFilter{
		Box: whitecross.Box(in.Box), Category: whitecross.Category(in.Category), Priority: whitecross.Priority(in.Priority),
		SenderID: in.SenderID, Unread: in.Unread, Limit: in.Limit, Cursor: in.Cursor,
	}
	if !in.Since.IsZero() {
		since := in.Since.UTC()
		f.Since = &since
	}
	if !in.Until.IsZero() {
		until := in.Until.UTC()
		f.Until = &until
	}
	page, err := s.deps.Messages.ListMessages(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &messagePageOutput{Body: MessagePage{Items: wire.MessagesFrom(page.Items)}}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

func (s *Server) countMessages(ctx context.Context, _ *struct{}) (*messageCountsOutput, error) {
	counts, err := s.deps.Messages.CountMessages(ctx)
	if err != nil {
		return nil, err
	}
	box := func(b whitecross.Box) BoxCount { return BoxCount(counts[b]) }
	out := &messageCountsOutput{Body: MessageCounts{
		Inbox: box(whitecross.BoxInbox), Sent: box(whitecross.BoxSent),
		Scheduled: box(whitecross.BoxScheduled), Archived: box(whitecross.BoxArchived),
	}}
	if c, ok := counts[whitecross.BoxApprovals]; ok {
		approvals := BoxCount(c)
		out.Body.Approvals = &approvals
	}
	return out, nil
}

func (s *Server) getMessage(ctx context.Context, in *messageIDInput) (*messageOutput, error) {
	m, err := s.deps.Messages.FindMessageByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}
