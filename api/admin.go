package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/wire"
)

// Operation tags of the admin routes.
const (
	tagAdmin = "Administration"
	tagDemo  = "Demo"
)

// adminRoutes registers the admin routes: dead letters, tenant settings,
// the dev outbox, /metrics, River's UI and the browser app behind them.
func (s *Server) adminRoutes() {
	a := s.api
	a.OpenAPI().Tags = append(a.OpenAPI().Tags,
		&huma.Tag{Name: tagAdmin, Description: "Deliveries that did not arrive and their retry; the district's settings."},
		&huma.Tag{Name: tagDemo, Description: "What the capture provider recorded instead of sending (serve --demo only)."})

	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "list-dead-letters", Method: http.MethodGet, Path: "/api/v1/admin/deliveries",
		Summary: "Deliveries that failed or bounced, newest change first",
		Description: "ADMIN only (others 403). Each item is a delivery with its message id, the recipient's name, the provider " +
			"that refused it, the reason, the attempts made and its timeline (every state change, oldest first). " +
			"Pages never skip or repeat an item while new failures arrive.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}}, s.listDeadLetters)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "retry-deliveries", Method: http.MethodPost, Path: "/api/v1/admin/deliveries/retry",
		Summary: "Send failed or bounced deliveries again",
		Description: "ADMIN only (others 403). Each FAILED or BOUNCED delivery of the district among delivery_ids (at most 1,000) " +
			"goes back to PENDING and is queued again: its error, provider id and failed_at/bounced_at are cleared (the " +
			"timeline keeps the earlier failure) and attempts keep counting. Other ids (another district's, unknown, or not " +
			"failed) are skipped; requeued says how many were queued. A bounced email address stays suppressed, so its " +
			"retry fails again until the suppression is removed. Audited.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.retryDeliveries)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "get-tenant", Method: http.MethodGet, Path: "/api/v1/tenant",
		Summary: "The caller's district and its settings",
		Description: "Any signed-in user: the web app shows the channels the district allows, what the caller's role may " +
			"send (send_policy) and whether health messages are always sensitive (settings.sensitive_by_default).",
		Errors: []int{http.StatusUnauthorized}}, s.getTenant)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "update-tenant", Method: http.MethodPatch, Path: "/api/v1/tenant",
		Summary: "Change the district's settings",
		Description: "ADMIN only (others 403). Only the settings given change; send an empty value (\"\", 0, [], {}, false) to " +
			"return one to its default. allowed_channels: the channels messages may use (IN_APP is always allowed; empty " +
			"allows all), a send asking for another is 422 naming body.channels[i]. fallback: per priority (LOW, MEDIUM, " +
			"HIGH, URGENT), the channels tried in turn when a delivery fails for good (EMAIL, SMS, PUSH, VOICE, each once; " +
			"an empty list turns fallback off for that priority; a priority left out uses the default policy; EMERGENCY " +
			"messages use the URGENT chain). quiet_hours_start and quiet_hours_end: both \"HH:MM\" (24-hour, district " +
			"time) or both empty; SMS, voice and push of messages that are not EMERGENCY or URGENT wait until the end time. retention_days: 0 (keep) to 3650; messages older than that are deleted daily, except under a legal hold. emergency_overrides_opt_out: EMERGENCY messages text " +
			"numbers that replied STOP. sensitive_by_default (default true; the one setting whose default is not its empty " +
			"value): health categories (MEDICATION, HEALTH_UPDATE, IMMUNIZATION, INCIDENT) are always sensitive; false lets a " +
			"sender send one with \"sensitive\": false. presence (default true): users see which of the people they may " +
			"message are online; false sends no presence frames in the district (within a minute on every server). " +
			"Invalid values are 422 naming the field, e.g. " +
			"body.settings.fallback.URGENT[1]. Audited.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}}, s.updateTenant)
	register(s, tagDemo, authRequired, huma.Operation{OperationID: "list-dev-outbox", Method: http.MethodGet, Path: "/api/v1/dev/outbox",
		Summary: "What would have been sent, newest first (demo only)",
		Description: "Only when the server captures email, SMS, voice and push instead of sending them (serve --demo); " +
			"otherwise 404. Any signed-in user of the district sees the district's captured sends, whoever they went to: " +
			"the demo shows a nurse what a parent received. The outbox lives in memory (the newest 1,000 sends) and " +
			"starts empty at each start. Never enable capture in production.",
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusUnprocessableEntity}}, s.listOutbox)

	s.suppressionRoutes()
	s.dataKeyRoutes()
	s.legalHoldRoutes()
	s.auditRoutes()
	s.mountAdminHandlers()
}

// DeliveryEvent is one step of a delivery's timeline.
type DeliveryEvent struct {
	Status string    `json:"status" enum:"PENDING,SENT,DELIVERED,FAILED,BOUNCED"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail" doc:"What happened: the provider's reason, a retry and who asked for it; never message content or addresses"`
}

// DeadLetter is a delivery that failed or bounced, as the admin sees it.
type DeadLetter struct {
	Delivery
	MessageID     string          `json:"message_id" format:"uuid"`
	RecipientName string          `json:"recipient_name"`
	Provider      string          `json:"provider" doc:"The provider that last handled it (smtp, twilio, webpush, capture), or empty"`
	UpdatedAt     time.Time       `json:"updated_at" doc:"When its status last changed"`
	Timeline      []DeliveryEvent `json:"timeline" nullable:"false" doc:"Every state change, oldest first"`
}

// DeadLetterPage is one page of dead letters.
type DeadLetterPage struct {
	Items      []DeadLetter `json:"items" nullable:"false"`
	NextCursor *string      `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

type deadLetterPageOutput struct{ Body DeadLetterPage }

type listDeadLettersInput struct {
	Status  string `query:"status" enum:"failed,bounced" doc:"Only FAILED or only BOUNCED deliveries; both when absent"`
	Channel string `query:"channel" enum:"email,sms,push,voice" doc:"Only deliveries of this channel"`
	Limit   int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor  string `query:"cursor" maxLength:"256"`
}

// RetryResult says how many deliveries were queued again.
type RetryResult struct {
	Requeued int `json:"requeued" doc:"Deliveries put back to PENDING and queued"`
}

type retryOutput struct{ Body RetryResult }

type retryInput struct {
	Body struct {
		DeliveryIDs []string `json:"delivery_ids" minItems:"1" maxItems:"1000" format:"uuid" doc:"Deliveries to send again"`
	}
}

func (s *Server) listDeadLetters(ctx context.Context, in *listDeadLettersInput) (*deadLetterPageOutput, error) {
	page, err := s.deps.DeadLetters.ListDeadLetters(ctx, whitecross.DeadLetterFilter{
		Status: whitecross.DeliveryStatus(strings.ToUpper(in.Status)), Channel: whitecross.Channel(strings.ToUpper(in.Channel)),
		Limit: in.Limit, Cursor: in.Cursor,
	})
	if err != nil {
		return nil, err
	}
	out := &deadLetterPageOutput{Body: DeadLetterPage{Items: make([]DeadLetter, 0, len(page.Items))}}
	for _, dl := range page.Items {
		item := DeadLetter{
			Delivery:  wire.DeliveryFrom(&dl.Delivery),
			MessageID: dl.MessageID, RecipientName: dl.RecipientName, Provider: dl.Provider, UpdatedAt: dl.UpdatedAt,
			Timeline: make([]DeliveryEvent, 0, len(dl.Timeline)),
		}
		for _, e := range dl.Timeline {
			item.Timeline = append(item.Timeline, DeliveryEvent{Status: string(e.Status), At: e.At, Detail: e.Detail})
		}
		out.Body.Items = append(out.Body.Items, item)
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}

func (s *Server) retryDeliveries(ctx context.Context, in *retryInput) (*retryOutput, error) {
	n, err := s.deps.DeadLetters.RetryDeliveries(ctx, in.Body.DeliveryIDs)
	if err != nil {
		return nil, err
	}
	return &retryOutput{Body: RetryResult{Requeued: n}}, nil
}
