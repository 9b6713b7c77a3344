package store

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"whitecross"
	"whitecross/netguard"
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
// shows one person's notifications to the next. Registering a disabled
// subscription again enables it (its failures are forgotten). An endpoint
// the server must not connect to is refused (checkPushEndpointHost).
func (s *Store) SavePushSubscription(ctx context.Context, sub *whitecross.PushSubscription) error {
	tenantID, userID, err := pushCaller(ctx)
	if err != nil {
		return err
	}
	if err := validPushSubscription(sub); err != nil {
		return err
	}
	if err := s.checkPushEndpointHost(ctx, sub.Endpoint); err != nil {
		return err
	}
	sub.UserAgent = cleanUserAgent(sub.UserAgent)
	now := s.db.now()
	// An endpoint is one browser: registered again by someone of another
	// district, the row moves to them, across the row-level-security wall.
	return s.db.InTx(AllTenants(ctx), func(tx *Tx) error {
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
				created_at = excluded.created_at, last_used_at = NULL,
				failures = 0, failing_since = NULL, last_error = '', disabled_at = NULL
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
// caller's subscriptions, newest first, disabled ones included (with their
// failures), so the owner sees why a browser gets nothing.
func (s *Store) ListPushSubscriptions(ctx context.Context) ([]*whitecross.PushSubscription, error) {
	tenantID, userID, err := pushCaller(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := loadUserPushSubscriptions(ctx, s.db.Reader(), tenantID, userID, false)
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

// SetPushGuard sets which push endpoints may be registered: the public
// address rule, and the operator's allow-list of push service hosts
// (Guard.Hosts). The default, the zero Guard, resolves names with the
// system resolver and allows any public host. Call it before serving.
func (s *Store) SetPushGuard(g netguard.Guard) { s.pushGuard = g }

// pushLookupTimeout bounds resolving an endpoint's host at registration.
const pushLookupTimeout = 5 * time.Second

// checkPushEndpointHost refuses an endpoint the server must never connect
// to (issue 11, SSRF): a port other than 443 (push services use it, and
// nothing else should be reachable), a host outside the allow-list, an
// address that is not public or a name that resolves to one. The sender's
// dialer checks again at each connection. EINVALID naming body.endpoint;
// EUNAVAILABLE when the name could not be resolved for now.
func (s *Store) checkPushEndpointHost(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint must be an https URL.")
	}
	if p := u.Port(); p != "" && p != "443" {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint must use the https port, 443.")
	}
	if !s.pushGuard.HostAllowed(u.Hostname()) {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil, "The push endpoint's host is not a push service this server sends to.")
	}
	lctx, cancel := context.WithTimeout(ctx, pushLookupTimeout)
	defer cancel()
	err = s.pushGuard.CheckHost(lctx, u.Hostname())
	switch {
	case errors.Is(err, netguard.ErrRefused):
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.endpoint", nil,
			"The push endpoint must be a push service on the public internet; its host is not a public address or does not resolve.")
	case err != nil:
		return whitecross.Errorf(whitecross.EUNAVAILABLE, "The push endpoint's host could not be resolved now; try again.")
	}
	return nil
}
