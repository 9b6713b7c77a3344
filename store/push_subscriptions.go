package store

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

var _ whitecross.PushSubscriptionService = (*Store)(nil)

// Limits of a Web Push subscription.
const (
	// MaxPushSubscriptions is how many browsers one user keeps subscribed;
	// saving one more drops the oldest.
	MaxPushSubscriptions = 20
	// MaxPushEndpointLength bounds the endpoint URL (push services' are
	// about 200 characters).
	MaxPushEndpointLength = 2048
	// maxUserAgentLength bounds the stored User-Agent, shown to the user to
	// tell their browsers apart.
	maxUserAgentLength = 255
)

// SavePushSubscription implements whitecross.PushSubscriptionService. The
// endpoint is unique across the deployment: a browser belongs to whoever
// registered it last, in whichever district, so a shared computer never
// shows one person's notifications to the next.
func (s *Store) SavePushSubscription(ctx context.Context, sub *whitecross.PushSubscription) error {
	tenantID, userID, err := pushCaller(ctx)
	if err != nil {
		return err
	}
	if err := validPushSubscription(sub); err != nil {
		return err
	}
	sub.UserAgent = cleanUserAgent(sub.UserAgent)
	now := s.db.now()
	return s.db.InTx(ctx, func(tx *Tx) error {
		// The row keeps its id when its owner registers it again, and gets
		// a new one when it moves, so the previous owner's id stops working.
		var id string
		if err := tx.QueryRow(ctx, `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, user_agent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (endpoint) DO UPDATE SET
				id = CASE WHEN push_subscriptions.tenant_id = excluded.tenant_id AND push_subscriptions.user_id = excluded.user_id
					THEN push_subscriptions.id ELSE excluded.id END,
				tenant_id = excluded.tenant_id, user_id = excluded.user_id,
				p256dh = excluded.p256dh, auth = excluded.auth, user_agent = excluded.user_agent,
				created_at = excluded.created_at, last_used_at = NULL
			RETURNING id`,
			newID(), tenantID, userID, sub.Endpoint, sub.P256dh, sub.Auth, sub.UserAgent, now).Scan(&id); err != nil {
			return fmt.Errorf("save push subscription: %w", err)
		}
		id = strings.ToLower(id)
		// Keep the newest; the one just saved always stays, even when the
		// clock has not moved since the others were saved.
		if _, err := tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE tenant_id = $1 AND user_id = $2 AND id NOT IN (
				SELECT id FROM push_subscriptions WHERE tenant_id = $1 AND user_id = $2
				ORDER BY CASE WHEN id = $3 THEN 0 ELSE 1 END, created_at DESC, id DESC
				LIMIT `+strconv.Itoa(MaxPushSubscriptions)+`)`, tenantID, userID, id); err != nil {
			return fmt.Errorf("drop oldest push subscriptions: %w", err)
		}
		sub.ID, sub.UserID, sub.CreatedAt = id, userID, now
		return nil
	})
}

// ListPushSubscriptions implements whitecross.PushSubscriptionService: the
// caller's subscriptions, newest first.
func (s *Store) ListPushSubscriptions(ctx context.Context) ([]*whitecross.PushSubscription, error) {
	tenantID, userID, err := pushCaller(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := loadUserPushSubscriptions(ctx, s.db.Reader(), tenantID, userID)
	if err != nil {
		return nil, err
	}
	slices.Reverse(subs) // oldest first by (created_at, id), reversed
	return subs, nil
}

// DeletePushSubscription implements whitecross.PushSubscriptionService.
func (s *Store) DeletePushSubscription(ctx context.Context, id string) error {
	tenantID, userID, err := pushCaller(ctx)
	if err != nil {
		return err
	}
	notFound := whitecross.Errorf(whitecross.ENOTFOUND, "Push subscription not found.")
	id, ok := parseID(id)
	if !ok {
		return notFound
	}
	var n int64
	if err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE id = $1 AND tenant_id = $2 AND user_id = $3`, id, tenantID, userID)
		return err
	}); err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// pushCaller returns the caller's tenant and user ids, canonical.
func pushCaller(ctx context.Context) (tenantID, userID string, err error) {
	a, err := caller(ctx)
	if err != nil {
		return "", "", err
	}
	if a.System {
		return "", "", whitecross.Errorf(whitecross.EFORBIDDEN, "Only a signed-in user has push subscriptions.")
	}
	tenantID, _ = parseID(a.TenantID)
	userID, _ = parseID(a.UserID)
	return tenantID, userID, nil
}

// validPushSubscription checks a subscription as PushSubscription.toJSON()
// gives it. The endpoint is a capability URL: errors never echo it.
func validPushSubscription(sub *whitecross.PushSubscription) error {
	u, err := url.Parse(sub.Endpoint)
	switch {
	case sub.Endpoint == "":
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint is required.")
	case len(sub.Endpoint) > MaxPushEndpointLength:
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint is longer than %d characters.", MaxPushEndpointLength)
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsFunc(sub.Endpoint, unicode.IsSpace):
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint must be an https URL.")
	}
	key, ok := decodeBase64URL(sub.P256dh)
	if !ok || len(key) != 65 {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.keys.p256dh", nil, "keys.p256dh must be base64url of a 65-byte uncompressed P-256 public key.")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.keys.p256dh", nil, "keys.p256dh is not a point on the P-256 curve.")
	}
	if secret, ok := decodeBase64URL(sub.Auth); !ok || len(secret) != 16 {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.keys.auth", nil, "keys.auth must be base64url of 16 bytes.")
	}
	return nil
}

// decodeBase64URL decodes base64url with or without padding, as browsers
// give keys without it.
func decodeBase64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// cleanUserAgent keeps a User-Agent printable and short.
func cleanUserAgent(ua string) string {
	ua = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(ua, "")))
	for len(ua) > maxUserAgentLength {
		_, size := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-size]
	}
	return ua
}
