package api

import (
	"context"
	"time"

	"whitecross"
	"whitecross/wire"
)

// MessageList is the messages of one thread, oldest first.
type MessageList struct {
	Items []Message `json:"items" nullable:"false"`
}

// DeliverySummary counts a message's deliveries by status; every status is
// present, zero when none.
type DeliverySummary struct {
	Pending   int `json:"PENDING"`
	Sent      int `json:"SENT"`
	Delivered int `json:"DELIVERED"`
	Failed    int `json:"FAILED"`
	Bounced   int `json:"BOUNCED"`
}

// DeliveryReport is the delivery view of a message.
type DeliveryReport struct {
	Items   []Delivery      `json:"items" nullable:"false"`
	Summary DeliverySummary `json:"summary"`
}

// ReceiptList is every recipient's read state of a message.
type ReceiptList struct {
	Items          []Receipt `json:"items" nullable:"false"`
	ReadCount      int       `json:"read_count" doc:"Recipients who have read it (or replied to it)"`
	RecipientCount int       `json:"recipient_count"`
}

type messageListOutput struct{ Body MessageList }

type deliveryReportOutput struct{ Body DeliveryReport }

type receiptListOutput struct{ Body ReceiptList }

type replyInput struct {
	ID             string `path:"id" maxLength:"64" doc:"The message answered"`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry safe: the same key with the same body returns the original reply (201); with a different body, 409"`
	Body           struct {
		Body       string `json:"body" minLength:"1" maxLength:"20000"`
		BodyFormat string `json:"body_format,omitempty" enum:"PLAIN,MARKDOWN" default:"PLAIN"`
	}
}

type rescheduleInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Message id"`
	Body struct {
		ScheduledAt time.Time `json:"scheduled_at" doc:"The new send time, in the future"`
	}
}

func (s *Server) messageThread(ctx context.Context, in *messageIDInput) (*messageListOutput, error) {
	ms, err := s.deps.Messages.Thread(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &messageListOutput{Body: MessageList{Items: wire.MessagesFrom(ms)}}, nil
}

func (s *Server) messageDeliveries(ctx context.Context, in *messageIDInput) (*deliveryReportOutput, error) {
	rep, err := s.deps.Messages.Deliveries(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &deliveryReportOutput{Body: DeliveryReport{
		Items: make([]Delivery, 0, len(rep.Items)),
		Summary: DeliverySummary{
			Pending:   rep.Summary[whitecross.DeliveryPending],
			Sent:      rep.Summary[whitecross.DeliverySent],
			Delivered: rep.Summary[whitecross.DeliveryDelivered],
			Failed:    rep.Summary[whitecross.DeliveryFailed],
			Bounced:   rep.Summary[whitecross.DeliveryBounced],
		},
	}}
	for _, d := range rep.Items {
		out.Body.Items = append(out.Body.Items, wire.DeliveryFrom(d))
	}
	return out, nil
}

func (s *Server) messageReceipts(ctx context.Context, in *messageIDInput) (*receiptListOutput, error) {
	rs, err := s.deps.Messages.Receipts(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &receiptListOutput{Body: ReceiptList{Items: make([]Receipt, 0, len(rs)), RecipientCount: len(rs)}}
	for _, r := range rs {
		if r.ReadAt != nil {
			out.Body.ReadCount++
		}
		out.Body.Items = append(out.Body.Items, wire.ReceiptFrom(r))
	}
	return out, nil
}

func (s *Server) replyToMessage(ctx context.Context, in *replyInput) (*messageOutput, error) {
	hash, err := requestHash("reply", in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	m, err := s.deps.Messages.Reply(ctx, in.ID, &whitecross.ReplyCreate{
		Body: in.Body.Body, BodyFormat: whitecross.BodyFormat(in.Body.BodyFormat),
		IdempotencyKey: in.IdempotencyKey, RequestHash: hash,
	})
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}

func (s *Server) markRead(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Messages.SetRead(ctx, in.ID, true)
}

func (s *Server) markUnread(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Messages.SetRead(ctx, in.ID, false)
}

func (s *Server) archiveMessage(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Messages.SetArchived(ctx, in.ID, true)
}

func (s *Server) unarchiveMessage(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Messages.SetArchived(ctx, in.ID, false)
}

func (s *Server) rescheduleMessage(ctx context.Context, in *rescheduleInput) (*messageOutput, error) {
	m, err := s.deps.Messages.Reschedule(ctx, in.ID, in.Body.ScheduledAt.UTC())
	if err != nil {
		return nil, err
	}
	return &messageOutput{Body: wire.MessageFrom(m)}, nil
}

func (s *Server) cancelMessage(ctx context.Context, in *messageIDInput) (*struct{}, error) {
	return nil, s.deps.Messages.Cancel(ctx, in.ID)
}
