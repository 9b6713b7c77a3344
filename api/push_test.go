package api_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
	"whitecross/store"
	"whitecross/store/storetest"
)

const vapidPublicKey = "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U"

// browserSubscription is a body as the browser's PushSubscription.toJSON()
// gives it.
func browserSubscription(t *testing.T, endpoint string) map[string]any {
	t.Helper()
	sub := storetest.NewPushSubscription(t, endpoint)
	return map[string]any{"endpoint": sub.Endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth}}
}

func TestPushKey(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), api.Config{VAPIDPublicKey: vapidPublicKey})
	res := b.do(t, req{method: "GET", path: "/api/v1/push/key"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	var key api.PushKey
	res.decode(t, &key)
	require.Equal(t, vapidPublicKey, key.PublicKey)
	raw, err := base64.RawURLEncoding.DecodeString(key.PublicKey)
	require.NoError(t, err)
	require.Len(t, raw, 65)

	off := setup(t, storetest.Open(t, store.SQLite), api.Config{})
	res = off.do(t, req{method: "GET", path: "/api/v1/push/key"})
	require.Equal(t, http.StatusNotFound, res.status)
	require.Equal(t, "Web Push is not configured on this server.", res.problem(t).Detail)
	res = off.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", token: off.token(t, off.d, off.d.LincolnParent),
		body: browserSubscription(t, "https://push.example.net/s/1")})
	require.Equal(t, http.StatusNotFound, res.status, "no subscriptions without a key to subscribe with")
}

func TestPushSubscriptions(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, api.Config{VAPIDPublicKey: vapidPublicKey})
		d := b.d
		parent, nurse := b.token(t, d, d.LincolnParent), b.token(t, d, d.LincolnNurse)

		endpoint := "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH"
		res := b.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", token: parent,
			body: browserSubscription(t, endpoint), header: map[string]string{"User-Agent": "Mozilla/5.0 (Android 14; Mobile)"}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var created api.PushSubscription
		res.decode(t, &created)
		require.NotEmpty(t, created.ID)
		require.Equal(t, endpoint, created.Endpoint)
		require.Equal(t, "Mozilla/5.0 (Android 14; Mobile)", created.UserAgent)
		require.False(t, created.CreatedAt.IsZero())
		require.NotContains(t, string(res.body), "p256dh", "the keys are never given back")

		list := func(token string) []api.PushSubscription {
			t.Helper()
			res := b.do(t, req{method: "GET", path: "/api/v1/push/subscriptions", token: token})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var out api.PushSubscriptionList
			res.decode(t, &out)
			require.NotNil(t, out.Items)
			return out.Items
		}
		items := list(parent)
		require.Len(t, items, 1)
		require.Equal(t, created.ID, items[0].ID)
		require.Empty(t, list(nurse))

		// Someone else's subscription is not found, for them and for other districts.
		res = b.do(t, req{method: "DELETE", path: "/api/v1/push/subscriptions/" + created.ID, token: nurse})
		require.Equal(t, http.StatusNotFound, res.status)
		res.problem(t)
		res = b.do(t, req{method: "DELETE", path: "/api/v1/push/subscriptions/" + created.ID, token: b.token(t, b.other, b.other.Admin)})
		require.Equal(t, http.StatusNotFound, res.status)
		require.Len(t, list(parent), 1)

		// The nurse signs in on the same browser: the subscription moves.
		res = b.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", token: nurse, body: browserSubscription(t, endpoint)})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var moved api.PushSubscription
		res.decode(t, &moved)
		require.NotEqual(t, created.ID, moved.ID)
		require.Empty(t, list(parent))
		require.Len(t, list(nurse), 1)

		res = b.do(t, req{method: "DELETE", path: "/api/v1/push/subscriptions/" + moved.ID, token: nurse})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Empty(t, list(nurse))
		res = b.do(t, req{method: "DELETE", path: "/api/v1/push/subscriptions/" + moved.ID, token: nurse})
		require.Equal(t, http.StatusNotFound, res.status)
	})
}

func TestPushSubscriptionInput(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), api.Config{VAPIDPublicKey: vapidPublicKey})
	token := b.token(t, b.d, b.d.LincolnParent)
	good := func() map[string]any { return browserSubscription(t, "https://push.example.net/s/1") }
	for _, c := range []struct {
		name     string
		change   func(m map[string]any)
		status   int
		location string
	}{
		{"http endpoint", func(m map[string]any) { m["endpoint"] = "http://push.example.net/s/1" }, 422, "body.endpoint"},
		{"endpoint too long", func(m map[string]any) { m["endpoint"] = "https://push.example.net/" + strings.Repeat("a", 2048) }, 422, "body.endpoint"},
		{"no endpoint", func(m map[string]any) { delete(m, "endpoint") }, 422, "body.endpoint"},
		{"short p256dh", func(m map[string]any) { m["keys"].(map[string]string)["p256dh"] = "BEl62iUYgUivxIkv69yViEuiBIa" }, 422, "body.keys.p256dh"},
		{"auth of 8 bytes", func(m map[string]any) { m["keys"].(map[string]string)["auth"] = "AAAAAAAAAAA" }, 422, "body.keys.auth"},
		{"no keys", func(m map[string]any) { delete(m, "keys") }, 422, "body.keys"},
		{"unknown field", func(m map[string]any) { m["options"] = map[string]any{} }, 422, "body.options"},
		{"expirationTime a string", func(m map[string]any) { m["expirationTime"] = "soon" }, 422, "body.expirationTime"},
		// Issue 11, SSRF: endpoints on the server's own network (or a name
		// that resolves there) are refused.
		{"loopback endpoint", func(m map[string]any) { m["endpoint"] = "https://127.0.0.1/push" }, 422, "body.endpoint"},
		{"metadata endpoint", func(m map[string]any) { m["endpoint"] = "https://169.254.169.254/latest/meta-data/" }, 422, "body.endpoint"},
		{"private endpoint", func(m map[string]any) { m["endpoint"] = "https://10.1.2.3/push" }, 422, "body.endpoint"},
		{"IPv6 loopback endpoint", func(m map[string]any) { m["endpoint"] = "https://[::1]/push" }, 422, "body.endpoint"},
		{"endpoint resolving to loopback", func(m map[string]any) { m["endpoint"] = "https://localhost/push" }, 422, "body.endpoint"},
		{"endpoint on another port", func(m map[string]any) { m["endpoint"] = "https://push.example.net:8443/s/1" }, 422, "body.endpoint"},
	} {
		body := good()
		c.change(body)
		res := b.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", token: token, body: body})
		require.Equal(t, c.status, res.status, "%s: %s", c.name, res.body)
		p := res.problem(t)
		require.NotEmpty(t, p.Errors, c.name)
		require.Equal(t, c.location, p.Errors[0].Location, c.name)
	}

	// expirationTime as a number is accepted (and ignored).
	body := good()
	body["expirationTime"] = 1772460000000
	res := b.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", token: token, body: body})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)

	res = b.do(t, req{method: "POST", path: "/api/v1/push/subscriptions", body: good()})
	require.Equal(t, http.StatusUnauthorized, res.status)
	res = b.do(t, req{method: "GET", path: "/api/v1/push/subscriptions"})
	require.Equal(t, http.StatusUnauthorized, res.status)
}
