package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store"
	"whitecross/store/storetest"
)

// serveWith starts a second server on b's database and services, with the
// configuration and dependencies change makes (the mounts the default
// bundle leaves out).
func (b *bundle) serveWith(t *testing.T, cfg api.Config, change func(d *api.Deps)) string {
	t.Helper()
	deps := b.deps
	change(&deps)
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURL
	}
	srv := httptest.NewServer(api.New(cfg, deps))
	t.Cleanup(srv.Close)
	return srv.URL
}

// at returns a copy of b that sends its requests to another server.
func (b *bundle) at(url string) *bundle {
	c := *b
	c.url = url
	return &c
}

// failDelivery records a final failure of the message's delivery over
// channel to recipient, as the delivery worker would, and returns its id.
func failDelivery(t *testing.T, db *store.DB, messageID, recipientID, channel, reason string) string {
	t.Helper()
	ctx := context.Background()
	var id, tenantID string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(ctx), `SELECT id, tenant_id FROM deliveries WHERE message_id = $1 AND recipient_id = $2 AND channel = $3`,
		messageID, recipientID, channel).Scan(&id, &tenantID))
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = 'FAILED', error = $2, provider = 'smtp', provider_id = 'p-1', attempts = 3,
			failed_at = $3, updated_at = $3 WHERE id = $1`, id, reason, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO delivery_events (id, tenant_id, delivery_id, status, at, detail) VALUES ($1, $2, $3, 'FAILED', $4, $5)`,
			uuid.Must(uuid.NewV7()).String(), tenantID, id, now, reason)
		return err
	}))
	return strings.ToLower(id)
}

// sendTo sends a message from u to the recipients over channels and
// returns its id.
func (b *bundle) sendTo(t *testing.T, token string, channels []string, to ...*whitecross.User) string {
	t.Helper()
	var ids []string
	for _, u := range to {
		ids = append(ids, u.ID)
	}
	res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: token, body: map[string]any{
		"recipient_ids": ids, "subject": "Flu clinic", "body": "Friday in the gym.", "channels": channels}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var m api.Message
	res.decode(t, &m)
	return m.ID
}

func TestDeadLettersAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse := b.token(t, d, d.LincolnNurse)
		admin := b.token(t, d, d.Admin)
		msgID := b.sendTo(t, nurse, []string{"EMAIL", "SMS"}, d.LincolnParent)
		failed := failDelivery(t, b.db, msgID, d.LincolnParent.ID, "EMAIL", "550 mailbox unavailable")
		otherMsg := b.sendTo(t, b.token(t, b.other, b.other.LincolnNurse), []string{"EMAIL"}, b.other.LincolnParent)
		otherFailed := failDelivery(t, b.db, otherMsg, b.other.LincolnParent.ID, "EMAIL", "550 mailbox unavailable")

		res := b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		res.decode(t, &page)
		require.Nil(t, page.NextCursor)
		require.Len(t, page.Items, 1, "only this district's failures")
		item := page.Items[0]
		require.Equal(t, failed, item["id"])
		require.Equal(t, msgID, item["message_id"])
		require.Equal(t, d.LincolnParent.ID, item["recipient_id"])
		require.Equal(t, d.LincolnParent.Name, item["recipient_name"])
		require.Equal(t, "EMAIL", item["channel"])
		require.Equal(t, "FAILED", item["status"])
		require.Equal(t, "550 mailbox unavailable", item["error"])
		require.Equal(t, "smtp", item["provider"])
		require.EqualValues(t, 3, item["attempts"])
		require.NotNil(t, item["failed_at"])
		require.NotNil(t, item["updated_at"])
		timeline := item["timeline"].([]any)
		require.Len(t, timeline, 2)
		require.Equal(t, "PENDING", timeline[0].(map[string]any)["status"], "oldest first")
		require.Equal(t, "FAILED", timeline[1].(map[string]any)["status"])
		require.Equal(t, "550 mailbox unavailable", timeline[1].(map[string]any)["detail"])

		for _, q := range []string{"?status=bounced", "?channel=sms", "?status=failed&channel=email&limit=1"} {
			res := b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries" + q, token: admin})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			res.decode(t, &page)
			if strings.Contains(q, "email") {
				require.Len(t, page.Items, 1, q)
			} else {
				require.Empty(t, page.Items, q)
			}
		}
		for q, loc := range map[string]string{"?status=lost": "query.status", "?channel=in_app": "query.channel",
			"?limit=0": "query.limit", "?cursor=nonsense": "query.cursor"} {
			res := b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries" + q, token: admin})
			require.Equal(t, http.StatusUnprocessableEntity, res.status, q)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors, q)
			require.Equal(t, loc, p.Errors[0].Location, q)
		}
		require.Equal(t, http.StatusForbidden, b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries", token: nurse}).status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries"}).status)

		// Retry: the nurse may not; bad bodies name the field; the admin's
		// retry skips the other district's delivery.
		retry := func(token string, body any) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/admin/deliveries/retry", token: token, body: body})
		}
		require.Equal(t, http.StatusForbidden, retry(nurse, map[string]any{"delivery_ids": []string{failed}}).status)
		for _, body := range []any{map[string]any{"delivery_ids": []string{}}, map[string]any{"delivery_ids": []string{"not-a-uuid"}}, map[string]any{}} {
			res := retry(admin, body)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
			require.True(t, strings.HasPrefix(res.problem(t).Errors[0].Location, "body.delivery_ids"), "%s", res.body)
		}
		res = retry(admin, map[string]any{"delivery_ids": []string{failed, otherFailed}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var out struct {
			Requeued int `json:"requeued"`
		}
		res.decode(t, &out)
		require.Equal(t, 1, out.Requeued)
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries", token: admin})
		res.decode(t, &page)
		require.Empty(t, page.Items, "the retried delivery is PENDING again")
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/deliveries", token: b.token(t, b.other, b.other.Admin)})
		res.decode(t, &page)
		require.Len(t, page.Items, 1, "the other district's failure is untouched")
	})
}

func TestTenantSettingsAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		admin := b.token(t, d, d.Admin)
		nurse := b.token(t, d, d.LincolnNurse)
		tenant := func(res *response) api.Tenant {
			t.Helper()
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			var out api.Tenant
			res.decode(t, &out)
			return out
		}
		patch := func(token string, settings any) *response {
			return b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: token, body: map[string]any{"settings": settings}})
		}

		got := tenant(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: b.token(t, d, d.LincolnParent)}))
		require.Equal(t, d.Tenant.ID, got.ID)
		require.Equal(t, "springfield", got.Slug)
		require.Equal(t, api.TenantSettings{AllowedChannels: []string{}, Fallback: map[string][]string{}, SensitiveByDefault: true, Presence: true, IdleTimeoutMinutes: 30,
			MFARequiredRoles: []string{}}, got.Settings)
		res := b.do(t, req{method: "GET", path: "/api/v1/tenant", token: admin})
		require.Contains(t, string(res.body), `"allowed_channels":[]`, "empty lists are [], never null")

		require.Equal(t, http.StatusForbidden, patch(nurse, map[string]any{"retention_days": 30}).status)

		got = tenant(patch(admin, map[string]any{"allowed_channels": []string{"EMAIL", "SMS"},
			"fallback": map[string][]string{"URGENT": {"SMS", "VOICE"}, "LOW": {}}, "quiet_hours_start": "21:00", "quiet_hours_end": "07:00"}))
		require.Equal(t, []string{"EMAIL", "SMS"}, got.Settings.AllowedChannels)
		require.Equal(t, map[string][]string{"URGENT": {"SMS", "VOICE"}, "LOW": {}}, got.Settings.Fallback)
		got = tenant(patch(admin, map[string]any{"retention_days": 30, "emergency_overrides_opt_out": true}))
		require.Equal(t, 30, got.Settings.RetentionDays)
		require.True(t, got.Settings.EmergencyOverridesOptOut)
		require.Equal(t, []string{"EMAIL", "SMS"}, got.Settings.AllowedChannels, "fields left out keep their values")
		require.Equal(t, "21:00", got.Settings.QuietHoursStart)
		require.True(t, got.Settings.SensitiveByDefault, "the default")
		got = tenant(patch(admin, map[string]any{"sensitive_by_default": false}))
		require.False(t, got.Settings.SensitiveByDefault)
		require.Equal(t, 30, got.Settings.RetentionDays, "fields left out keep their values")
		require.Equal(t, got, tenant(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: nurse})))
		require.False(t, tenant(patch(admin, map[string]any{"retention_days": 31})).Settings.SensitiveByDefault, "left out, kept")
		require.True(t, got.Settings.Presence, "presence: on by default")
		got = tenant(patch(admin, map[string]any{"presence": false}))
		require.False(t, got.Settings.Presence)
		require.False(t, tenant(patch(admin, map[string]any{"retention_days": 31})).Settings.Presence, "left out, kept")
		require.True(t, tenant(patch(admin, map[string]any{"presence": true})).Settings.Presence)
		got = tenant(patch(admin, map[string]any{"retention_days": 30}))

		for _, tc := range []struct {
			settings map[string]any
			location string
		}{
			{map[string]any{"fallback": map[string][]string{"URGENT": {"SMS", "IN_APP"}}}, "body.settings.fallback.URGENT[1]"},
			{map[string]any{"fallback": map[string][]string{"SOMETIMES": {"SMS"}}}, "body.settings.fallback.SOMETIMES"},
			{map[string]any{"allowed_channels": []string{"EMAIL", "FAX"}}, "body.settings.allowed_channels[1]"},
			{map[string]any{"quiet_hours_end": ""}, "body.settings.quiet_hours_end"},
			{map[string]any{"retention_days": 4000}, "body.settings.retention_days"},
			{map[string]any{"colour": "blue"}, "body.settings.colour"},
		} {
			res := patch(admin, tc.settings)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", tc.settings, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors)
			require.Equal(t, tc.location, p.Errors[0].Location, "%v: %s", tc.settings, res.body)
		}
		require.Equal(t, got, tenant(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: admin})), "refused changes store nothing")

		// The allowed channels hold when sending.
		res = b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: map[string]any{
			"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Call me", "body": "Please call.", "channels": []string{"EMAIL", "VOICE"}}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		require.Equal(t, "body.channels[1]", res.problem(t).Errors[0].Location)
		b.sendTo(t, nurse, []string{"EMAIL", "SMS"}, d.LincolnParent)

		// Another district is untouched.
		other := tenant(b.do(t, req{method: "GET", path: "/api/v1/tenant", token: b.token(t, b.other, b.other.Admin)}))
		require.Equal(t, b.other.Tenant.ID, other.ID)
		require.Empty(t, other.Settings.AllowedChannels)
		require.True(t, other.Settings.SensitiveByDefault)
	})
}

// recordingOutbox is an OutboxReader that answers from a fixed list per
// district and remembers what it was asked.
type recordingOutbox struct {
	mu    sync.Mutex
	asked []string
	items map[string][]api.OutboxItem
}

func (o *recordingOutbox) ListOutbox(_ context.Context, tenantID string, channel whitecross.Channel, limit int) []api.OutboxItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked = append(o.asked, tenantID+" "+string(channel)+" "+strings.Repeat("x", min(limit, 3)))
	var out []api.OutboxItem
	for _, it := range o.items[tenantID] {
		if channel == "" || it.Channel == string(channel) {
			out = append(out, it)
		}
	}
	return out
}

func TestDevOutboxAPI(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, api.Config{})
		guardian := b.token(t, b.d, b.d.LincolnParent)

		res := b.do(t, req{method: "GET", path: "/api/v1/dev/outbox", token: guardian})
		require.Equal(t, http.StatusNotFound, res.status, "no capture, no outbox")
		require.Contains(t, res.problem(t).Detail, "serve --demo")

		outbox := &recordingOutbox{items: map[string][]api.OutboxItem{
			b.d.Tenant.ID: {
				{ID: "2", Channel: "SMS", To: "+15550100001", Text: "Flu clinic Friday"},
				{ID: "1", Channel: "EMAIL", To: "pat@springfield.example", Subject: "Flu clinic", Text: "Friday", HTML: "<p>Friday</p>"},
			},
			b.other.Tenant.ID: {{ID: "3", Channel: "EMAIL", To: "someone@shelbyville.example"}},
		}}
		c := b.at(b.serveWith(t, api.Config{}, func(d *api.Deps) { d.Outbox = outbox }))
		res = c.do(t, req{method: "GET", path: "/api/v1/dev/outbox", token: guardian})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var list api.OutboxList
		res.decode(t, &list)
		require.Equal(t, outbox.items[b.d.Tenant.ID], list.Items, "the caller's district's sends, as the reader gave them")
		res = c.do(t, req{method: "GET", path: "/api/v1/dev/outbox?channel=email&limit=2", token: guardian})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &list)
		require.Len(t, list.Items, 1)
		require.Equal(t, "EMAIL", list.Items[0].Channel)
		require.Equal(t, []string{b.d.Tenant.ID + "  xxx", b.d.Tenant.ID + " EMAIL xx"}, outbox.asked, "the district comes from the caller")

		require.Equal(t, http.StatusUnauthorized, c.do(t, req{method: "GET", path: "/api/v1/dev/outbox"}).status)
		require.Equal(t, http.StatusUnprocessableEntity, c.do(t, req{method: "GET", path: "/api/v1/dev/outbox?channel=fax", token: guardian}).status)
		require.Equal(t, http.StatusUnprocessableEntity, c.do(t, req{method: "GET", path: "/api/v1/dev/outbox?limit=1001", token: guardian}).status)
	})
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, api.Config{})
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "GET", path: "/metrics"}).status, "not mounted without a handler")

		reg := prometheus.NewRegistry()
		scrapes := prometheus.NewCounter(prometheus.CounterOpts{Name: "whitecross_test_total", Help: "A test counter."})
		reg.MustRegister(scrapes)
		scrapes.Add(7)
		metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

		open := b.at(b.serveWith(t, api.Config{}, func(d *api.Deps) { d.Metrics = metrics }))
		res := open.do(t, req{method: "GET", path: "/metrics"})
		require.Equal(t, http.StatusOK, res.status)
		require.Contains(t, string(res.body), "whitecross_test_total 7")

		const token = "a-long-scrape-token-0123456789"
		closed := b.at(b.serveWith(t, api.Config{MetricsToken: token}, func(d *api.Deps) { d.Metrics = metrics }))
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x"} {
			res := closed.do(t, req{method: "GET", path: "/metrics", header: map[string]string{"Authorization": auth}})
			require.Equal(t, http.StatusUnauthorized, res.status, auth)
			require.Equal(t, `Bearer realm="metrics"`, res.header.Get("WWW-Authenticate"))
			require.NotContains(t, string(res.body), "whitecross_test_total")
			res.problem(t)
		}
		res = closed.do(t, req{method: "GET", path: "/metrics", token: token})
		require.Equal(t, http.StatusOK, res.status)
		require.Contains(t, string(res.body), "whitecross_test_total 7")
		require.Equal(t, http.StatusMethodNotAllowed, closed.do(t, req{method: "POST", path: "/metrics", token: token, body: "{}"}).status)
	})
}

func TestRiverUIIsReadOnlyForAdmins(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, api.Config{})
		// Stands in for River's UI (cmd mounts the real one; its own test
		// drives it): it says what reached it.
		ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("riverui " + r.Method + " " + r.URL.Path))
		})
		c := b.at(b.serveWith(t, api.Config{}, func(d *api.Deps) { d.RiverUI = ui }))
		admin := b.token(t, b.d, b.d.Admin)

		res := c.do(t, req{method: "GET", path: "/riverui/"})
		require.Equal(t, http.StatusUnauthorized, res.status)
		require.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
		res.problem(t)
		for _, u := range []*whitecross.User{b.d.LincolnAdmin, b.d.LincolnNurse, b.d.LincolnParent} {
			res := c.do(t, req{method: "GET", path: "/riverui/", token: b.token(t, b.d, u)})
			require.Equal(t, http.StatusForbidden, res.status, b.d.Labels[u.ID])
			require.NotContains(t, string(res.body), "riverui ")
		}
		res = c.do(t, req{method: "GET", path: "/riverui/", header: map[string]string{"Cookie": "wc_access=not-a-token"}})
		require.Equal(t, http.StatusUnauthorized, res.status)

		res = c.do(t, req{method: "GET", path: "/riverui/jobs", token: admin})
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, "riverui GET /riverui/jobs", string(res.body))
		csp := res.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self';", "scripts stay same-origin")
		require.Contains(t, csp, "style-src 'self' 'unsafe-inline'", "River's UI injects styles")
		require.NotContains(t, c.do(t, req{method: "GET", path: "/api/v1/me", token: admin}).header.Get("Content-Security-Policy"),
			"unsafe-inline", "only River's UI gets the looser policy")
		require.Equal(t, "DENY", res.header.Get("X-Frame-Options"))

		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res = c.do(t, req{method: "GET", path: "/riverui", client: noRedirect})
		require.Equal(t, http.StatusMovedPermanently, res.status)
		require.Equal(t, "/riverui/", res.header.Get("Location"))

		// The session cookie works as the bearer token does; nothing changes
		// state through River's UI, whoever asks.
		cookie := map[string]string{"Cookie": "wc_access=" + admin}
		require.Equal(t, http.StatusOK, c.do(t, req{method: "GET", path: "/riverui/api/states", header: cookie}).status)
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			res := c.do(t, req{method: method, path: "/riverui/api/jobs/cancel", body: `{"job_ids":["1"]}`, header: cookie})
			require.Equal(t, http.StatusForbidden, res.status, method)
			require.Contains(t, res.problem(t).Detail, "read-only")
			res = c.do(t, req{method: method, path: "/riverui/api/jobs/cancel", body: `{"job_ids":["1"]}`, token: admin})
			require.Equal(t, http.StatusForbidden, res.status, method)
		}
	})
}

func TestAppServesWhatTheAPIDoesNot(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, api.Config{})
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "GET", path: "/"}).status, "no app, no page")

		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("app " + r.URL.Path))
		})
		c := b.at(b.serveWith(t, api.Config{}, func(d *api.Deps) { d.App = app }))
		for _, path := range []string{"/", "/messages/0190f0f0-0000-7000-8000-000000000001", "/compose", "/app.js"} {
			res := c.do(t, req{method: "GET", path: path})
			require.Equal(t, http.StatusOK, res.status, path)
			require.Equal(t, "app "+path, string(res.body))
		}
		res := c.do(t, req{method: "GET", path: "/healthz"})
		require.Equal(t, http.StatusOK, res.status)
		require.Contains(t, string(res.body), `"status":"ok"`, "the API answers its own paths")
		res = c.do(t, req{method: "GET", path: "/api/v1/nothing-here"})
		require.Equal(t, http.StatusNotFound, res.status, "an unknown API path stays a problem")
		res.problem(t)
		res = c.do(t, req{method: "DELETE", path: "/api/v1/me"})
		require.Equal(t, http.StatusMethodNotAllowed, res.status)
	})
}
