package api

import (
	"context"
	"encoding/csv"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"whitecross"
	"whitecross/wire"
)

// ChannelProgress counts one external channel's deliveries of a message.
type ChannelProgress struct {
	Pending   int `json:"pending"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed" doc:"Failed or bounced for people reached no other way"`
	FellBack  int `json:"fell_back" doc:"Failed or bounced for people reached another way (another channel, or read in the app): not a failure of the message"`
}

// BroadcastReport is a message's progress as its sender follows it.
type BroadcastReport struct {
	MessageID      string                     `json:"message_id" format:"uuid"`
	Status         string                     `json:"status" enum:"PENDING_APPROVAL,SCHEDULED,SENDING,SENT,CANCELED"`
	RecipientCount int                        `json:"recipient_count" doc:"People it was sent to (for a broadcast, once its audience is resolved)"`
	InApp          int                        `json:"in_app" doc:"People who have it in the app (their inbox)"`
	Read           int                        `json:"read"`
	NotReached     int                        `json:"not_reached" doc:"People in whose inbox it is who have neither read it nor been sent it by an external channel yet"`
	Acked          int                        `json:"acked" doc:"People who acknowledged it (0 when it does not ask for acknowledgement)"`
	Channels       map[string]ChannelProgress `json:"channels" doc:"Each external channel the message uses"`
}

// Unreached is one recipient not reached yet.
type Unreached struct {
	UserID string `json:"user_id" format:"uuid"`
	Name   string `json:"name"`
	Role   string `json:"role" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
	Reason string `json:"reason" doc:"The last failure (channel: reason), what it waits for, or that only the app carried it"`
}

// UnreachedPage is one page of the recipients not reached yet.
type UnreachedPage struct {
	Items      []Unreached `json:"items" nullable:"false"`
	NextCursor *string     `json:"next_cursor"`
}

// RecipientPage is one page of a message's recipients, each with the same
// receipt as GET /api/v1/messages/{id}/receipts gives.
type RecipientPage struct {
	Items      []wire.Receipt `json:"items" nullable:"false"`
	NextCursor *string        `json:"next_cursor"`
}

type reportOutput struct{ Body BroadcastReport }

type unreachedInput struct {
	ID     string `path:"id" maxLength:"64"`
	Cursor string `query:"cursor" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
}

type unreachedOutput struct{ Body UnreachedPage }

type recipientPageOutput struct{ Body RecipientPage }

func (s *Server) messageReport(ctx context.Context, in *messageIDInput) (*reportOutput, error) {
	r, err := s.deps.Reports.Report(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := BroadcastReport{MessageID: r.MessageID, Status: string(r.Status), RecipientCount: r.RecipientCount, InApp: r.InApp,
		Read: r.Read, NotReached: r.NotReached, Acked: r.Acked, Channels: map[string]ChannelProgress{}}
	for c, p := range r.Channels {
		out.Channels[string(c)] = ChannelProgress(p)
	}
	return &reportOutput{Body: out}, nil
}

func (s *Server) unreached(ctx context.Context, in *unreachedInput) (*unreachedOutput, error) {
	page, err := s.deps.Reports.Unreached(ctx, in.ID, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := UnreachedPage{Items: make([]Unreached, 0, len(page.Items))}
	for _, u := range page.Items {
		out.Items = append(out.Items, Unreached{UserID: u.UserID, Name: u.Name, Role: string(u.Role), Reason: u.Reason})
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return &unreachedOutput{Body: out}, nil
}

func (s *Server) messageRecipients(ctx context.Context, in *unreachedInput) (*recipientPageOutput, error) {
	page, err := s.deps.Reports.Recipients(ctx, in.ID, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := RecipientPage{Items: make([]wire.Receipt, 0, len(page.Items))}
	for _, r := range page.Items {
		out.Items = append(out.Items, wire.ReceiptFrom(r))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return &recipientPageOutput{Body: out}, nil
}

// deliveryCSVHeader is the first line of delivery.csv (API.md).
var deliveryCSVHeader = []string{"recipient_id", "name", "role", "channel", "status", "error", "sent_at", "delivered_at", "read_at", "acked_at"}

// deliveryCSV streams the export: the status and header are written with
// the first row (or at the end), so a refusal, which comes before any row,
// is still an ordinary problem answer.
func (s *Server) deliveryCSV(ctx context.Context, in *messageIDInput) (*huma.StreamResponse, error) {
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		_, w := humago.Unwrap(hctx)
		var out *csv.Writer
		start := func() {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="delivery-`+in.ID+`.csv"`)
			w.WriteHeader(http.StatusOK)
			out = csv.NewWriter(w)
			_ = out.Write(deliveryCSVHeader)
		}
		err := s.deps.Reports.ExportDeliveries(ctx, in.ID, func(r *whitecross.DeliveryRow) error {
			if out == nil {
				start()
			}
			return out.Write(deliveryCSVRow(r))
		})
		switch {
		case err != nil && out == nil:
			writeError(w, s.problem(ctx, err))
		case err != nil:
			s.log.ErrorContext(ctx, "delivery export stopped", "request_id", requestIDFrom(ctx), "error", err.Error())
		default:
			if out == nil {
				start()
			}
			out.Flush()
		}
	}}, nil
}

func deliveryCSVRow(r *whitecross.DeliveryRow) []string {
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	reason := ""
	if r.Error != nil {
		reason = *r.Error
	}
	return []string{r.RecipientID, csvSafe(r.Name), string(r.Role), string(r.Channel), string(r.Status), csvSafe(reason),
		at(r.SentAt), at(r.DeliveredAt), at(r.ReadAt), at(r.AckedAt)}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (a name
// such as "=HYPERLINK(…)" typed by a user).
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

// broadcastReportRoutes adds what a sender follows a broadcast with.
func (s *Server) broadcastReportRoutes() {
	const access = "For the sender and ADMINs: 403 for a recipient, 404 for anyone else. "
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message-report", Method: http.MethodGet,
		Path: "/api/v1/messages/{id}/report", Summary: "A message's progress: reached, read, and each channel",
		Description: access + "Two grouped counts whatever the audience's size; a channel's failures for someone reached " +
			"another way count as fell_back, not failed.", Errors: errs}, s.messageReport)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "list-message-unreached", Method: http.MethodGet,
		Path: "/api/v1/messages/{id}/unreached", Summary: "Recipients not reached yet, with why",
		Description: access + "By user id, a page at a time.", Errors: append(errs, http.StatusUnprocessableEntity)}, s.unreached)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "list-message-recipients", Method: http.MethodGet,
		Path: "/api/v1/messages/{id}/recipients", Summary: "Every recipient of a message, with their receipt",
		Description: access + "By user id, a page at a time (one index range per page whatever the audience's size): " +
			"the whole list, of which a message's own recipient_ids carries the first 1,000.",
		Errors: append(errs, http.StatusUnprocessableEntity)}, s.messageRecipients)
	register(s, tagMessages, authRequired, huma.Operation{OperationID: "get-message-delivery-csv", Method: http.MethodGet,
		Path: "/api/v1/messages/{id}/delivery.csv", Summary: "Every delivery of a message, as CSV",
		Description: access + "text/csv, one row per recipient and channel, by recipient then channel: " +
			"recipient_id,name,role,channel,status,error,sent_at,delivered_at,read_at,acked_at (times RFC 3339 UTC, empty when none). " +
			"Streamed, so a 100,000-recipient broadcast is never held in memory.",
		Responses: map[string]*huma.Response{"200": {Description: "The CSV", Content: map[string]*huma.MediaType{"text/csv": {}}}},
		Errors:    errs}, s.deliveryCSV)
}
