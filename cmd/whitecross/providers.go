package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"whitecross"
	"whitecross/api"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/provider/smtp"
	"whitecross/provider/twilio"
	"whitecross/provider/webpush"
	"whitecross/realtime"
	"whitecross/store"
)

// deliveryWiring is what serve builds for the delivery pipeline before the
// database opens: a sender per configured channel, the capture outbox in
// demo mode, the Web Push public key and the metrics registry.
type deliveryWiring struct {
	providers map[whitecross.Channel]delivery.Provider
	// outbox records every send instead of sending it (--demo), else nil.
	outbox *capture.Outbox
	// vapidPublicKey is given to browsers; "" when Web Push is not used.
	vapidPublicKey string
	registry       *prometheus.Registry
	// metrics is set by configure, once the database is open.
	metrics *delivery.Metrics
}

// newDeliveryWiring builds the senders the configuration asks for. A
// provider that is not configured is not used: its channel's deliveries
// fail with that reason and fall back. With --demo the capture provider
// takes every external channel, whatever else is configured. The senders
// are built before the Web Push keys may be generated, so that a setting
// one refuses stops serve with nothing written (Validate should have
// caught it already).
func newDeliveryWiring(cfg *Config, log *slog.Logger) (*deliveryWiring, error) {
	w := &deliveryWiring{providers: map[whitecross.Channel]delivery.Provider{}, registry: prometheus.NewRegistry()}
	w.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if !cfg.Demo {
		if err := w.addEmailAndPhone(cfg, log); err != nil {
			return nil, err
		}
	}
	vapidPublic, vapidPrivate, err := vapidKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Demo {
		w.outbox = capture.New(0, nil)
		for _, c := range []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelPush} {
			w.providers[c] = delivery.Provider{Name: "capture", Sender: w.outbox}
		}
		w.vapidPublicKey = vapidPublic
		log.Info("demo: email, SMS, voice and push are captured, not sent; read them at GET /api/v1/dev/outbox")
		return w, nil
	}
	if vapidPublic != "" {
		p, err := webpush.New(webpush.Config{PublicKey: vapidPublic, PrivateKey: vapidPrivate, Subscriber: vapidSubject(cfg), Guard: cfg.pushGuard()})
		if err != nil {
			return nil, fmt.Errorf("web push: %w", err)
		}
		w.providers[whitecross.ChannelPush] = delivery.Provider{Name: webpush.ProviderName, Sender: p}
		w.vapidPublicKey = vapidPublic
	}
	var used []string
	for _, c := range whitecross.Channels {
		if p, ok := w.providers[c]; ok {
			used = append(used, strings.ToLower(string(c))+"="+p.Name)
		}
	}
	log.Info("delivery providers", "configured", strings.Join(used, " "))
	return w, nil
}

// addEmailAndPhone builds the SMTP and Twilio senders when configured.
func (w *deliveryWiring) addEmailAndPhone(cfg *Config, log *slog.Logger) error {
	if cfg.SMTPURL != "" {
		s, err := smtp.New(smtp.Config{URL: cfg.SMTPURL, From: cfg.EmailFrom})
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.source("SMTPURL"), err)
		}
		w.providers[whitecross.ChannelEmail] = delivery.Provider{Name: smtp.ProviderName, Sender: s}
	}
	if cfg.TwilioAccountSID != "" {
		c, err := twilio.New(twilio.Config{BaseURL: cfg.TwilioBaseURL, AccountSID: cfg.TwilioAccountSID,
			AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom, StatusCallbackURL: cfg.PublicURL + api.TwilioStatusPath})
		if err != nil {
			return fmt.Errorf("twilio: %w", err)
		}
		// SMS and voice share Twilio's circuit breaker: one name.
		w.providers[whitecross.ChannelSMS] = delivery.Provider{Name: twilio.ProviderName, Sender: c}
		w.providers[whitecross.ChannelVoice] = delivery.Provider{Name: twilio.ProviderName, Sender: c}
		if u, err := url.Parse(cfg.PublicURL); err == nil && (u.Hostname() == "localhost" || strings.HasPrefix(u.Hostname(), "127.")) {
			log.Warn("Twilio cannot reach status callbacks at a local public URL; set WHITECROSS_PUBLIC_URL to the address Twilio can reach")
		}
	}
	return nil
}

// vapidKeys returns the Web Push key pair: the configured one; on SQLite
// without one, the pair kept in <data-dir>/vapid.json (generated, mode
// 0600, on first start); on PostgreSQL without one, none (every instance
// must sign with the same keys, so they cannot be generated per instance).
func vapidKeys(cfg *Config, log *slog.Logger) (public, private string, err error) {
	if cfg.VAPIDPublicKey != "" {
		return cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, nil
	}
	if cfg.DatabaseURL != "" {
		log.Info("Web Push is not used: set WHITECROSS_VAPID_PUBLIC_KEY and WHITECROSS_VAPID_PRIVATE_KEY (every instance must share them)")
		return "", "", nil
	}
	path := filepath.Join(cfg.DataDir, "vapid.json")
	_, statErr := os.Stat(path)
	public, private, err = webpush.LoadOrCreateVAPIDKeys(path)
	if err != nil {
		return "", "", fmt.Errorf("web push keys %s: %w", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		log.Warn("generated Web Push (VAPID) keys; browsers' push subscriptions are bound to them, so keep the file (or set WHITECROSS_VAPID_PUBLIC_KEY and WHITECROSS_VAPID_PRIVATE_KEY)",
			"path", path)
	}
	return public, private, nil
}

// vapidSubject is WHITECROSS_VAPID_SUBJECT, or the public URL when it is
// https, or a mailto: address at its host.
func vapidSubject(cfg *Config) string {
	if cfg.VAPIDSubject != "" {
		return cfg.VAPIDSubject
	}
	u, err := url.Parse(cfg.PublicURL)
	if err == nil && u.Scheme == "https" {
		return cfg.PublicURL
	}
	host := "localhost"
	if err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "mailto:webpush@" + host
}

// configure completes the deliver jobs' configuration once the database is
// open: the providers, the links' base URL and the metrics (whose queue
// depth gauge reads River's table).
func (w *deliveryWiring) configure(dc *delivery.DeliverConfig, cfg *Config, db *store.DB) {
	w.metrics = delivery.NewMetrics(w.registry, db)
	dc.Providers = w.providers
	dc.PublicURL = cfg.PublicURL
	dc.Metrics = w.metrics
}

// metricsHandler serves the registry in Prometheus' text format.
func (w *deliveryWiring) metricsHandler() http.Handler {
	return promhttp.HandlerFor(w.registry, promhttp.HandlerOpts{})
}

// notifier is the store's post-commit notifier: every committed event goes
// to the delivery metrics and, once it runs (gw not nil), to the realtime
// gateway. It is the one path by which "a delivery changed" reaches both,
// whether a deliver job or a provider callback changed it.
func (w *deliveryWiring) notifier(gw *realtime.Gateway) whitecross.EventNotifier {
	if gw == nil {
		return w.metrics.ObserveEvents
	}
	return func(ctx context.Context, evs []whitecross.Event) {
		w.metrics.ObserveEvents(ctx, evs)
		gw.Notify(ctx, evs)
	}
}

// outboxReader is the dev outbox of the API in demo mode, else nil.
func (w *deliveryWiring) outboxReader() api.OutboxReader {
	if w.outbox == nil {
		return nil
	}
	return captureOutbox{w.outbox}
}

// captureOutbox shows the capture provider's records through the API.
type captureOutbox struct{ outbox *capture.Outbox }

// ListOutbox implements api.OutboxReader: one district's captured sends,
// newest first. An empty tenant id lists nothing.
func (o captureOutbox) ListOutbox(_ context.Context, tenantID string, channel whitecross.Channel, limit int) []api.OutboxItem {
	if tenantID == "" {
		return nil
	}
	msgs := o.outbox.List(capture.Filter{TenantID: tenantID, Channel: channel, Limit: limit})
	out := make([]api.OutboxItem, 0, len(msgs))
	for _, m := range msgs {
		ob := m.Outbound
		to := ob.To
		if ob.Channel == whitecross.ChannelPush {
			to = pushServiceOrigin(ob.To)
		}
		out = append(out, api.OutboxItem{ID: m.ID, Channel: string(ob.Channel), To: to, Subject: ob.Subject,
			Text: ob.Text, HTML: ob.HTML, Link: ob.Link, CapturedAt: m.CapturedAt, DeliveryID: ob.DeliveryID})
	}
	return out
}

// pushServiceOrigin is the push service of a subscription (its endpoint's
// scheme and host): the endpoint itself and the keys are the browser's
// secrets, even in a demo.
func pushServiceOrigin(subscription string) string {
	var sub struct {
		Endpoint string `json:"endpoint"`
	}
	if json.Unmarshal([]byte(subscription), &sub) != nil {
		return ""
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
