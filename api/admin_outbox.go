package api

import (
	"context"
	"strings"
	"time"

	"whitecross"
)

// OutboxReader lists what the capture provider recorded (demo and dev).
type OutboxReader interface {
	// ListOutbox returns the newest captured sends first (at most limit)
	// of one district, of one channel unless channel is "".
	ListOutbox(ctx context.Context, tenantID string, channel whitecross.Channel, limit int) []OutboxItem
}

// OutboxItem is one captured send as the dev outbox shows it.
type OutboxItem struct {
	ID         string    `json:"id" doc:"The capture's own id, in recording order"`
	Channel    string    `json:"channel" enum:"EMAIL,SMS,PUSH,VOICE"`
	To         string    `json:"to" doc:"Email address, E.164 number, or for push the push service (scheme and host of the subscription)"`
	Subject    string    `json:"subject" doc:"Email subject and push title; empty for SMS and voice"`
	Text       string    `json:"text" doc:"The SMS, the voice script, the email's text part or the push body"`
	HTML       string    `json:"html" doc:"The email's HTML part; empty for other channels"`
	Link       string    `json:"link" doc:"The link to the message in the app"`
	CapturedAt time.Time `json:"captured_at"`
	DeliveryID string    `json:"delivery_id" format:"uuid"`
}

// OutboxList is the dev outbox.
type OutboxList struct {
	Items []OutboxItem `json:"items" nullable:"false"`
}

type outboxOutput struct{ Body OutboxList }

type listOutboxInput struct {
	Channel string `query:"channel" enum:"email,sms,push,voice" doc:"Only sends of this channel"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

// listOutbox answers 404 unless the server captures sends (serve --demo).
// The district comes from the caller, never from the request.
func (s *Server) listOutbox(ctx context.Context, in *listOutboxInput) (*outboxOutput, error) {
	if s.deps.Outbox == nil {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "The dev outbox exists only while the server captures sends (serve --demo).")
	}
	a, err := whitecross.RequireActor(ctx)
	if err != nil {
		return nil, err
	}
	items := s.deps.Outbox.ListOutbox(ctx, a.TenantID, whitecross.Channel(strings.ToUpper(in.Channel)), in.Limit)
	return &outboxOutput{Body: OutboxList{Items: nonNil(items)}}, nil
}
