package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// tagPush groups the Web Push routes in the docs.
const tagPush = "Push"

// errPushOff answers push routes when the server has no VAPID key or no
// subscription store.
var errPushOff = whitecross.Errorf(whitecross.ENOTFOUND, "Web Push is not configured on this server.")

// pushRoutes registers the Web Push key and subscription routes.
func (s *Server) pushRoutes() {
	register(s, tagPush, authNone, huma.Operation{OperationID: "get-push-key", Method: http.MethodGet, Path: "/api/v1/push/key",
		Summary: "The server's Web Push application key",
		Description: "The VAPID public key (base64url, uncompressed P-256 point) a browser passes as applicationServerKey to " +
			"PushManager.subscribe(). Public; 404 when Web Push is not configured on this server.",
		Errors: []int{http.StatusNotFound}}, s.pushKey)
	register(s, tagPush, authRequired, huma.Operation{OperationID: "create-push-subscription", Method: http.MethodPost, Path: "/api/v1/push/subscriptions",
		Summary: "Register this browser for push notifications", DefaultStatus: http.StatusCreated,
		Description: "The body is the browser's PushSubscription.toJSON() as it is. The endpoint must be an https URL of at " +
			"most 2,048 characters, keys.p256dh base64url of a 65-byte uncompressed P-256 public key, keys.auth base64url " +
			"of 16 bytes; expirationTime is accepted and ignored (an expired subscription is removed when its push service " +
			"says it is gone). The server only sends to push services on the public internet: an endpoint on a port other " +
			"than 443, whose host is a loopback, private, link-local, multicast or other special-purpose address or a name " +
			"that resolves to one (or does not resolve), or outside the operator's allow-list of push services " +
			"(WHITECROSS_PUSH_ALLOWED_HOSTS), is 422 naming body.endpoint; 503 when its name cannot be resolved now. " +
			"An endpoint already registered, by the caller or by anyone else on that browser, becomes " +
			"the caller's (a moved subscription gets a new id); registering a disabled one again enables it. Each user " +
			"keeps their 20 newest subscriptions; registering another drops the oldest. 404 when Web Push is not " +
			"configured on this server.",
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusServiceUnavailable}}, s.createPushSubscription)
	register(s, tagPush, authRequired, huma.Operation{OperationID: "list-push-subscriptions", Method: http.MethodGet, Path: "/api/v1/push/subscriptions",
		Summary: "The caller's browsers registered for push, newest first",
		Description: "Disabled subscriptions are listed too, with disabled_at: one whose sends kept failing (5 in a row over " +
			"at least a day) is no longer sent to; delete it, or register the browser again to enable it.",
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound}}, s.listPushSubscriptions)
	register(s, tagPush, authRequired, huma.Operation{OperationID: "delete-push-subscription", Method: http.MethodDelete, Path: "/api/v1/push/subscriptions/{id}",
		Summary: "Stop push notifications to one of the caller's browsers", DefaultStatus: http.StatusNoContent,
		Description: "Another user's subscription is 404. A browser should also call PushSubscription.unsubscribe().",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.deletePushSubscription)
}

// PushKey is the server's VAPID public key.
type PushKey struct {
	PublicKey string `json:"public_key" doc:"The VAPID public key, base64url without padding"`
}

type pushKeyOutput struct{ Body PushKey }

func (s *Server) pushKey(_ context.Context, _ *struct{}) (*pushKeyOutput, error) {
	if s.cfg.VAPIDPublicKey == "" || s.deps.Push == nil {
		return nil, errPushOff
	}
	return &pushKeyOutput{Body: PushKey{PublicKey: s.cfg.VAPIDPublicKey}}, nil
}

// PushSubscriptionInput is a browser's PushSubscription.toJSON().
type PushSubscriptionInput struct {
	Endpoint       string   `json:"endpoint" minLength:"1" maxLength:"2048" doc:"The push service URL (https); a secret: never logged"`
	ExpirationTime *float64 `json:"expirationTime,omitempty" required:"false" nullable:"true" doc:"Milliseconds since the epoch, or null; ignored"`
	Keys           PushKeys `json:"keys"`
}

// PushKeys are the keys a browser made for its subscription.
type PushKeys struct {
	P256dh string `json:"p256dh" maxLength:"100" doc:"base64url of the browser's 65-byte uncompressed P-256 public key"`
	Auth   string `json:"auth" maxLength:"50" doc:"base64url of the 16-byte authentication secret"`
}

// PushSubscription is one of the caller's registered browsers.
type PushSubscription struct {
	ID        string    `json:"id" format:"uuid"`
	Endpoint  string    `json:"endpoint"`
	UserAgent string    `json:"user_agent" doc:"The browser's User-Agent when it registered, to tell browsers apart"`
	CreatedAt time.Time `json:"created_at" doc:"When this browser last registered"`
	Failures  int       `json:"failures" doc:"Sends to this browser that failed in a row (0 when the last one worked)"`
	LastError string    `json:"last_error,omitempty" doc:"Why the latest send failed, while failures is not 0"`
	// DisabledAt is set once the subscription kept failing.
	DisabledAt *time.Time `json:"disabled_at,omitempty" doc:"When it was disabled for failing (5 sends in a row over at least a day): nothing is sent to it until the browser registers again"`
}

func pushSubscriptionFrom(p *whitecross.PushSubscription) PushSubscription {
	return PushSubscription{ID: p.ID, Endpoint: p.Endpoint, UserAgent: p.UserAgent, CreatedAt: p.CreatedAt,
		Failures: p.Failures, LastError: p.LastError, DisabledAt: p.DisabledAt}
}

type createPushSubscriptionInput struct {
	UserAgent string `header:"User-Agent"`
	Body      PushSubscriptionInput
}

type pushSubscriptionOutput struct{ Body PushSubscription }

func (s *Server) createPushSubscription(ctx context.Context, in *createPushSubscriptionInput) (*pushSubscriptionOutput, error) {
	if s.cfg.VAPIDPublicKey == "" || s.deps.Push == nil {
		return nil, errPushOff
	}
	sub := &whitecross.PushSubscription{
		Endpoint: in.Body.Endpoint, P256dh: in.Body.Keys.P256dh, Auth: in.Body.Keys.Auth, UserAgent: in.UserAgent,
	}
	if err := s.deps.Push.SavePushSubscription(ctx, sub); err != nil {
		return nil, err
	}
	return &pushSubscriptionOutput{Body: pushSubscriptionFrom(sub)}, nil
}

// PushSubscriptionList is the caller's registered browsers.
type PushSubscriptionList struct {
	Items []PushSubscription `json:"items" nullable:"false"`
}

type pushSubscriptionListOutput struct{ Body PushSubscriptionList }

func (s *Server) listPushSubscriptions(ctx context.Context, _ *struct{}) (*pushSubscriptionListOutput, error) {
	if s.deps.Push == nil {
		return nil, errPushOff
	}
	subs, err := s.deps.Push.ListPushSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := &pushSubscriptionListOutput{Body: PushSubscriptionList{Items: make([]PushSubscription, 0, len(subs))}}
	for _, p := range subs {
		out.Body.Items = append(out.Body.Items, pushSubscriptionFrom(p))
	}
	return out, nil
}

type pushSubscriptionIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Push subscription id"`
}

func (s *Server) deletePushSubscription(ctx context.Context, in *pushSubscriptionIDInput) (*struct{}, error) {
	if s.deps.Push == nil {
		return nil, errPushOff
	}
	return nil, s.deps.Push.DeletePushSubscription(ctx, in.ID)
}
