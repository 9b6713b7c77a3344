package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/internal/testutil"
	"whitecross/provider/webpush"
	"whitecross/store"
)

// outboxItem is one entry of GET /api/v1/dev/outbox.
type outboxItem struct {
	Channel    string `json:"channel"`
	To         string `json:"to"`
	Subject    string `json:"subject"`
	Text       string `json:"text"`
	HTML       string `json:"html"`
	Link       string `json:"link"`
	DeliveryID string `json:"delivery_id"`
}

// outbox reads the dev outbox as the holder of token.
func (s *server) outbox(t *testing.T, token string) []outboxItem {
	t.Helper()
	var out struct {
		Items []outboxItem `json:"items"`
	}
	require.Equal(t, http.StatusOK, s.do(http.MethodGet, "/api/v1/dev/outbox?limit=1000", token, nil, &out))
	return out.Items
}

// get sends a GET with an optional bearer token and returns the status,
// a header and the body.
func (s *server) get(t *testing.T, path, token, header string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get(header), string(body)
}

// TestServeDemoDeliversToTheOutbox runs serve --demo end to end: a message
// sent through the API with EMAIL and SMS reaches the capture provider on
// both channels (seen in the dev outbox, by the sender's district only),
// /metrics counts it behind its token, and River's UI answers its admin.
func TestServeDemoDeliversToTheOutbox(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		const metricsToken = "scrape-token-0123456789abcdef"
		// An explicit rate paces even the demo's capture provider; the
		// defaults (SMS at 1 a second) do not.
		e := newEnv(t, d).with("WHITECROSS_METRICS_TOKEN", metricsToken).with("WHITECROSS_EMAIL_RATE", "250")
		srv := startServe(t, e, "--demo")
		nurse := srv.login("demo", "nurse.lincoln@demo.example", demoPassword)

		var users struct {
			Items []struct {
				ID, Email string
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/users?role=guardian", nurse, nil, &users))
		var garcia string
		for _, u := range users.Items {
			if u.Email == "guardian.garcia@demo.example" {
				garcia = u.ID
			}
		}
		require.NotEmpty(t, garcia)
		var msg struct {
			ID string `json:"id"`
		}
		require.Equal(t, http.StatusCreated, srv.do(http.MethodPost, "/api/v1/messages", nurse, map[string]any{
			"recipient_ids": []string{garcia}, "subject": "Field trip forms", "body": "Please sign the field trip form by Friday.",
			"channels": []string{"EMAIL", "SMS"}}, &msg))

		// The deliver jobs run in the background: wait for both sends.
		sent := map[string]outboxItem{}
		testutil.WaitUntil(t, jobLimit, "both sends in the outbox", func() bool {
			for _, it := range srv.outbox(t, nurse) {
				if strings.HasSuffix(it.Link, "/messages/"+msg.ID) {
					sent[it.Channel] = it
				}
			}
			return len(sent) >= 2
		}, func() string { return fmt.Sprintf("sent: %v\nstderr: %s", sent, srv.stderr.String()) })
		email, sms := sent["EMAIL"], sent["SMS"]
		require.Equal(t, "guardian.garcia@demo.example", email.To)
		require.Equal(t, "Field trip forms", email.Subject)
		require.Contains(t, email.Text, "Please sign the field trip form by Friday.")
		require.Contains(t, email.HTML, "Please sign the field trip form by Friday.")
		require.Equal(t, "+15550100001", sms.To)
		require.Contains(t, sms.Text, "field trip form")
		port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
		require.Equal(t, "http://localhost:"+port+"/messages/"+msg.ID, email.Link, "links use the public URL")

		// The seeded sensitive message reached email and SMS as a notice only.
		for _, it := range srv.outbox(t, nurse) {
			require.NotContains(t, it.Text+it.HTML+it.Subject, "inhaler", "a sensitive message's content never leaves the platform")
		}
		// Another district sees none of it.
		riverside := srv.login("riverside", "admin@riverside.example", demoPassword)
		require.Empty(t, srv.outbox(t, riverside))

		// The delivery is recorded as the capture provider reported it.
		var report struct {
			Items []struct {
				Channel, Status string
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/messages/"+msg.ID+"/delivery", nurse, nil, &report))
		statuses := map[string]string{}
		for _, it := range report.Items {
			statuses[it.Channel] = it.Status
		}
		require.Equal(t, map[string]string{"IN_APP": "DELIVERED", "EMAIL": "DELIVERED", "SMS": "DELIVERED"}, statuses)

		// /metrics: only with the token; it counts the deliveries.
		code, challenge, _ := srv.get(t, "/metrics", "", "WWW-Authenticate")
		require.Equal(t, http.StatusUnauthorized, code)
		require.Equal(t, `Bearer realm="metrics"`, challenge)
		code, _, metrics := srv.get(t, "/metrics", metricsToken, "")
		require.Equal(t, http.StatusOK, code)
		for _, want := range []string{
			`whitecross_delivery_transitions_total{channel="EMAIL",status="DELIVERED"}`,
			`whitecross_delivery_transitions_total{channel="SMS",status="DELIVERED"}`,
			`whitecross_provider_send_duration_seconds_count{outcome="success",provider="capture"}`,
			`whitecross_queue_jobs{queue="urgent",state="available"}`,
			`whitecross_breaker_state{provider="capture"} 0`,
			`whitecross_provider_send_rate{channel="EMAIL"} 250`,
			`whitecross_provider_throttled_total{channel="SMS",provider="capture"} 0`,
			"go_goroutines ", "process_resident_memory_bytes ",
		} {
			require.Contains(t, metrics, want)
		}
		require.NotContains(t, metrics, `whitecross_provider_send_rate{channel="SMS"}`, "the demo's SMS are not paced by default")
		require.NotContains(t, metrics, "demo.example", "no addresses in metrics")

		// River's UI: its page and its API through the mount, for ADMIN only.
		admin := srv.login("demo", "admin@demo.example", demoPassword)
		code, ctype, page := srv.get(t, "/riverui/", admin, "Content-Type")
		require.Equal(t, http.StatusOK, code, page)
		require.Contains(t, ctype, "text/html")
		require.Contains(t, page, `src="/riverui/assets/`)
		code, _, states := srv.get(t, "/riverui/api/states", admin, "")
		require.Equal(t, http.StatusOK, code, states)
		var counts map[string]int
		require.NoError(t, json.Unmarshal([]byte(states), &counts))
		require.GreaterOrEqual(t, counts["completed"], 2, "the deliver jobs are River jobs: %s", states)
		code, _, jobs := srv.get(t, "/riverui/api/jobs?state=completed&limit=5", admin, "")
		require.Equal(t, http.StatusOK, code, jobs)
		require.Contains(t, jobs, `"kind":"deliver"`)
		code, _, _ = srv.get(t, "/riverui/", nurse, "")
		require.Equal(t, http.StatusForbidden, code)
		code, _, _ = srv.get(t, "/riverui/api/states", "", "")
		require.Equal(t, http.StatusUnauthorized, code)

		require.Equal(t, 0, srv.stop())
		requireNoErrorLogged(t, srv.stderr.String())
		for _, secret := range []string{metricsToken, "guardian.garcia", "+15550100001"} {
			require.NotContains(t, srv.stderr.String(), secret, "logs carry no secrets or addresses")
		}
	})
}

// TestServeWebPushKeys: on SQLite the VAPID keys are generated into the
// data dir once (mode 0600) and served to browsers; on PostgreSQL without
// configured keys Web Push is off, and says so.
func TestServeWebPushKeys(t *testing.T) {
	t.Parallel()
	t.Run("sqlite generates and keeps them", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, store.SQLite)
		srv := startServe(t, e)
		path := filepath.Join(e["WHITECROSS_DATA_DIR"], "vapid.json")
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		public, _, err := webpush.LoadOrCreateVAPIDKeys(path)
		require.NoError(t, err)
		var key struct {
			PublicKey string `json:"public_key"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/push/key", "", nil, &key))
		require.Equal(t, public, key.PublicKey)
		require.Contains(t, srv.stderr.String(), "generated Web Push (VAPID) keys")
		require.Contains(t, srv.stderr.String(), "push=webpush", "push goes through Web Push")
		require.Equal(t, 0, srv.stop())

		srv = startServe(t, e)
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/push/key", "", nil, &key))
		require.Equal(t, public, key.PublicKey, "the same keys after a restart")
		require.NotContains(t, srv.stderr.String(), "generated Web Push")
	})
	t.Run("postgres needs them configured", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t, newEnv(t, store.Postgres))
		require.Equal(t, http.StatusNotFound, srv.do(http.MethodGet, "/api/v1/push/key", "", nil, nil))
		require.Contains(t, srv.stderr.String(), "Web Push is not used: set WHITECROSS_VAPID_PUBLIC_KEY")

		public, private, err := webpush.GenerateVAPIDKeys()
		require.NoError(t, err)
		e := newEnv(t, store.Postgres).with("WHITECROSS_VAPID_PUBLIC_KEY", public, "WHITECROSS_VAPID_PRIVATE_KEY", private,
			"WHITECROSS_VAPID_SUBJECT", "mailto:ops@district.example")
		srv = startServe(t, e)
		var key struct {
			PublicKey string `json:"public_key"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/push/key", "", nil, &key))
		require.Equal(t, public, key.PublicKey)
		require.NotContains(t, srv.stderr.String(), private)
	})
}

func TestDeliverySettingsProblemsOneLineEach(t *testing.T) {
	t.Parallel()
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	otherPublic, _, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	tests := []struct {
		name string
		env  testEnv
		want []string
	}{
		{"vapid public alone", testEnv{"WHITECROSS_VAPID_PUBLIC_KEY": public},
			[]string{"WHITECROSS_VAPID_PRIVATE_KEY: required with WHITECROSS_VAPID_PUBLIC_KEY"}},
		{"vapid private alone", testEnv{"WHITECROSS_VAPID_PRIVATE_KEY": private},
			[]string{"WHITECROSS_VAPID_PUBLIC_KEY: required with WHITECROSS_VAPID_PRIVATE_KEY"}},
		{"vapid keys of two pairs", testEnv{"WHITECROSS_VAPID_PUBLIC_KEY": otherPublic, "WHITECROSS_VAPID_PRIVATE_KEY": private},
			[]string{"WHITECROSS_VAPID_PRIVATE_KEY: WHITECROSS_VAPID_PUBLIC_KEY is not the public key of this private key"}},
		{"vapid private not a key", testEnv{"WHITECROSS_VAPID_PUBLIC_KEY": public, "WHITECROSS_VAPID_PRIVATE_KEY": "s3cret"},
			[]string{"WHITECROSS_VAPID_PRIVATE_KEY: the VAPID private key is not a P-256 key"}},
		{"vapid subject", testEnv{"WHITECROSS_VAPID_SUBJECT": "ops@district.example"},
			[]string{"WHITECROSS_VAPID_SUBJECT: must be mailto:<address> or an https:// URL"}},
		{"vapid mailto", testEnv{"WHITECROSS_VAPID_SUBJECT": "mailto:nobody"},
			[]string{"WHITECROSS_VAPID_SUBJECT: mailto: must be followed by an email address"}},
		{"sendgrid key", testEnv{"WHITECROSS_SENDGRID_WEBHOOK_KEY": "bm90IGEga2V5"},
			[]string{"WHITECROSS_SENDGRID_WEBHOOK_KEY: not a SendGrid verification key"}},
		{"metrics token short", testEnv{"WHITECROSS_METRICS_TOKEN": "s3cret"},
			[]string{"WHITECROSS_METRICS_TOKEN: must be at least 16 characters"}},
		{"workers", testEnv{"WHITECROSS_QUEUE_URGENT_WORKERS": "0", "WHITECROSS_QUEUE_BULK_WORKERS": "many"}, []string{
			"WHITECROSS_QUEUE_BULK_WORKERS: not a whole number",
			"WHITECROSS_QUEUE_URGENT_WORKERS: must be 1 to 1000, got 0"}},
		{"rescue after the timeouts", testEnv{"WHITECROSS_QUEUE_RESCUE_AFTER": "1m", "WHITECROSS_DELIVER_TIMEOUT": "1m", "WHITECROSS_DISPATCH_TIMEOUT": "2m"}, []string{
			"WHITECROSS_QUEUE_RESCUE_AFTER: must exceed WHITECROSS_DISPATCH_TIMEOUT (2m0s)",
			"WHITECROSS_QUEUE_RESCUE_AFTER: must exceed WHITECROSS_DELIVER_TIMEOUT plus 15s to record the outcome (1m15s)"}},
		{"timeouts not positive", testEnv{"WHITECROSS_DELIVER_TIMEOUT": "-1s", "WHITECROSS_QUEUE_RESCUE_AFTER": "0s"}, []string{
			"WHITECROSS_DELIVER_TIMEOUT: must be positive", "WHITECROSS_QUEUE_RESCUE_AFTER: must be positive"}},
		{"password hashing", testEnv{"WHITECROSS_PASSWORD_HASH_CONCURRENCY": "0", "WHITECROSS_PASSWORD_HASH_WAIT": "2h"}, []string{
			"WHITECROSS_PASSWORD_HASH_CONCURRENCY: must be 1 to 1024, got 0",
			"WHITECROSS_PASSWORD_HASH_WAIT: must be positive and at most 1m, got 2h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := testEnv{"WHITECROSS_DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				e[k] = v
			}
			r := serveWithBadConfig(t, e)
			require.Equal(t, exitUsage, r.code, r.stderr)
			got := lines(r.stderr)
			require.Len(t, got, len(tt.want), r.stderr)
			for i, w := range tt.want {
				require.Contains(t, got[i], "whitecross serve: "+w)
			}
			require.NotContains(t, r.stderr, "s3cret", "a secret was echoed")
			require.NotContains(t, r.stderr, private, "a secret was echoed")
			_, err := os.Stat(filepath.Join(e["WHITECROSS_DATA_DIR"], "vapid.json"))
			require.True(t, os.IsNotExist(err), "validation comes before any side effect")
		})
	}
}

func TestDeliverySettingsDefaultsAndOverrides(t *testing.T) {
	t.Parallel()
	c := loadConfig(testEnv{}.get, &settingFlags{values: map[string]string{}})
	require.NoError(t, c.Validate())
	q := c.queueConfig()
	require.Equal(t, delivery.DefaultUrgentWorkers, q.UrgentWorkers, "the settings' defaults are the queue's")
	require.Equal(t, delivery.DefaultBulkWorkers, q.BulkWorkers)
	require.Equal(t, delivery.DefaultUrgentDeliverWorkers, q.UrgentDeliverWorkers)
	require.Equal(t, delivery.DefaultDeliverWorkers, q.DeliverWorkers)
	require.Equal(t, delivery.DefaultDispatchTimeout, q.DispatchTimeout)
	require.Equal(t, delivery.DefaultDeliverTimeout, q.Deliver.Timeout)
	require.Equal(t, delivery.DefaultRescueAfter, q.RescueAfter)
	require.Equal(t, "1m30s", durationText(90*time.Second))
	require.Equal(t, "2m", durationText(2*time.Minute))
	require.Equal(t, "1h", durationText(time.Hour))

	c = loadConfig(testEnv{"WHITECROSS_QUEUE_URGENT_WORKERS": "16", "WHITECROSS_QUEUE_BULK_WORKERS": "3",
		"WHITECROSS_QUEUE_URGENT_DELIVER_WORKERS": "128", "WHITECROSS_QUEUE_DELIVER_WORKERS": "8",
		"WHITECROSS_DISPATCH_TIMEOUT": "4s", "WHITECROSS_DELIVER_TIMEOUT": "4s", "WHITECROSS_QUEUE_RESCUE_AFTER": "20s"}.get,
		&settingFlags{values: map[string]string{}})
	require.NoError(t, c.Validate())
	q = c.queueConfig()
	require.Equal(t, 16, q.UrgentWorkers)
	require.Equal(t, 3, q.BulkWorkers)
	require.Equal(t, 128, q.UrgentDeliverWorkers)
	require.Equal(t, 8, q.DeliverWorkers)
	require.Equal(t, 4*time.Second, q.DispatchTimeout)
	require.Equal(t, 4*time.Second, q.Deliver.Timeout)
	require.Equal(t, 20*time.Second, q.RescueAfter)

	require.Equal(t, map[whitecross.Channel]float64{whitecross.ChannelSMS: 1, whitecross.ChannelVoice: 1, whitecross.ChannelEmail: 14, whitecross.ChannelPush: 0},
		c.queueConfig().Deliver.Rates, "send rates from the providers' published limits")
	c = loadConfig(testEnv{"WHITECROSS_SMS_RATE": "0.5", "WHITECROSS_PUSH_RATE": "200"}.get, &settingFlags{values: map[string]string{}})
	require.NoError(t, c.Validate())
	require.Equal(t, map[whitecross.Channel]float64{whitecross.ChannelSMS: 0.5, whitecross.ChannelVoice: 1, whitecross.ChannelEmail: 14, whitecross.ChannelPush: 200},
		c.queueConfig().Deliver.Rates)
	c.Demo = true
	require.Equal(t, map[whitecross.Channel]float64{whitecross.ChannelSMS: 0.5, whitecross.ChannelPush: 200}, c.queueConfig().Deliver.Rates,
		"the capture provider of --demo is paced only at rates set explicitly")

	require.Equal(t, "mailto:webpush@localhost", vapidSubject(&Config{PublicURL: "http://localhost:8080"}))
	require.Equal(t, "https://health.example.org", vapidSubject(&Config{PublicURL: "https://health.example.org"}))
	require.Equal(t, "mailto:ops@x.example", vapidSubject(&Config{PublicURL: "https://health.example.org", VAPIDSubject: "mailto:ops@x.example"}))
}
