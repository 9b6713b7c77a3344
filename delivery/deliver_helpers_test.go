package delivery_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/store"
)

// testPublicURL is the app's address in links.
const testPublicURL = "https://school.example"

// deliverBundle is a sendBundle whose queue also runs deliver jobs, with a
// capture outbox per channel (unless the test configured that channel's
// provider itself) and the pipeline's metrics on their own registry.
type deliverBundle struct {
	*sendBundle
	outbox   map[whitecross.Channel]*capture.Outbox
	registry *prometheus.Registry
	metrics  *delivery.Metrics
}

// newDeliverBundle builds and starts the pipeline. cfg.Deliver.Providers
// entries win over the capture outboxes; other zero fields are filled:
// a test retry schedule of 1-2 s (River's scheduler then makes retries
// available at once, due by the test clock) and the test public URL.
func newDeliverBundle(t *testing.T, db *store.DB, cfg delivery.QueueConfig) *deliverBundle {
	t.Helper()
	b := newStoppedDeliverBundle(t, db, cfg)
	b.start(t)
	return b
}

func newStoppedDeliverBundle(t *testing.T, db *store.DB, cfg delivery.QueueConfig) *deliverBundle {
	t.Helper()
	reg := prometheus.NewRegistry()
	b := &deliverBundle{outbox: map[whitecross.Channel]*capture.Outbox{}, registry: reg}
	providers := map[whitecross.Channel]delivery.Provider{}
	for _, c := range []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelPush} {
		if p, ok := cfg.Deliver.Providers[c]; ok {
			if p.Sender != nil {
				providers[c] = p
			}
			continue // configured by the test, or deliberately not at all
		}
		b.outbox[c] = capture.New(0, nil)
		providers[c] = delivery.Provider{Name: "capture", Sender: b.outbox[c]}
	}
	cfg.Deliver.Providers = providers
	b.metrics = delivery.NewMetrics(reg, db)
	cfg.Deliver.Metrics = b.metrics
	cfg.Deliver.PublicURL = cmp.Or(cfg.Deliver.PublicURL, testPublicURL)
	if cfg.Deliver.RetryBase == 0 {
		cfg.Deliver.RetryBase, cfg.Deliver.RetryMax = time.Second, 2*time.Second
	}
	b.sendBundle = newSendBundle(t, db, cfg, false)
	// As serve wires it: the store tells the metrics of every change.
	b.st.SetEventNotifier(b.metrics.ObserveEvents)
	return b
}

// deliverArgs decodes a deliver job's arguments ("" ids for other kinds).
func deliverArgs(t testing.TB, e *river.Event) delivery.DeliverArgs {
	t.Helper()
	var a delivery.DeliverArgs
	if e.Job.Kind == delivery.DeliverKind {
		require.NoError(t, json.Unmarshal(e.Job.EncodedArgs, &a))
	}
	return a
}

// waitDelivered waits until the deliver job of delivery id completes and
// returns its event.
func (b *deliverBundle) waitDelivered(t *testing.T, id string) *river.Event {
	t.Helper()
	return b.waitFor(t, "completed deliver job of "+id, func(e *river.Event) bool {
		return e.Kind == river.EventKindJobCompleted && deliverArgs(t, e).DeliveryID == id
	})
}

// driveUntil advances the test clock by step whenever the queue has been
// quiet for a moment, until done holds: retries and snoozes come due by the
// test clock. It fails after waitTimeout.
func (b *deliverBundle) driveUntil(t *testing.T, what string, step time.Duration, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; logs:\n%s", what, waitTimeout, b.logs.String())
		}
		b.clock.Advance(step)
		b.mu.Lock()
		select {
		case e := <-b.events:
			b.seen = append(b.seen, e)
		case <-time.After(100 * time.Millisecond):
		}
		b.mu.Unlock()
	}
}

// setPhone gives u a phone number.
func (b *deliverBundle) setPhone(t *testing.T, u *whitecross.User, phone string) {
	t.Helper()
	_, err := b.st.UpdateUser(b.d.System(), u.ID, &whitecross.UserUpdate{Phone: &phone})
	require.NoError(t, err)
}

// addPushSubscription registers a browser for u (raw SQL: the push
// subscription service is tested with the API) and returns it.
func (b *deliverBundle) addPushSubscription(t *testing.T, u *whitecross.User, endpoint string) *whitecross.PushSubscription {
	t.Helper()
	sub := &whitecross.PushSubscription{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Endpoint: endpoint,
		P256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", Auth: "tBHItJI5svbpez7KI4CCXg"}
	ctx := context.Background()
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, user_agent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'test', $7)`, sub.ID, b.d.Tenant.ID, u.ID, endpoint, sub.P256dh, sub.Auth, b.clock.Now())
		return err
	}))
	return sub
}

// setSettings replaces the tenant's settings (raw JSON).
func (b *deliverBundle) setSettings(t *testing.T, settings string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET settings = $1 WHERE id = $2`, settings, b.d.Tenant.ID)
		return err
	}))
}

// storedDelivery is a deliveries row as the tests read it.
type storedDelivery struct {
	ID, Channel, Status, Provider, ProviderID, Error string
	Attempts                                         int
}

// delivery returns the message's delivery to u on channel c; ok is false
// when there is none.
func (b *deliverBundle) delivery(t *testing.T, messageID string, u *whitecross.User, c whitecross.Channel) (storedDelivery, bool) {
	t.Helper()
	var d storedDelivery
	var providerID, errText *string
	err := b.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id, channel, status, provider, provider_id, error, attempts
		FROM deliveries WHERE message_id = $1 AND recipient_id = $2 AND channel = $3`, messageID, u.ID, string(c)).
		Scan(&d.ID, &d.Channel, &d.Status, &d.Provider, &providerID, &errText, &d.Attempts)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return d, false
	}
	require.NoError(t, err)
	d.ID = strings.ToLower(d.ID)
	if providerID != nil {
		d.ProviderID = *providerID
	}
	if errText != nil {
		d.Error = *errText
	}
	return d, true
}

// mustDelivery is delivery, failing when there is none.
func (b *deliverBundle) mustDelivery(t *testing.T, messageID string, u *whitecross.User, c whitecross.Channel) storedDelivery {
	t.Helper()
	d, ok := b.delivery(t, messageID, u, c)
	require.True(t, ok, "no %s delivery", c)
	return d
}

// timeline returns "STATUS detail" for each event of a delivery, in order.
func (b *deliverBundle) timeline(t *testing.T, deliveryID string) []string {
	t.Helper()
	rows, err := b.db.Reader().Query(store.AllTenants(context.Background()), `SELECT status, detail FROM delivery_events WHERE delivery_id = $1 ORDER BY at, id`, deliveryID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s, d string
		require.NoError(t, rows.Scan(&s, &d))
		out = append(out, strings.TrimSpace(s+" "+d))
	}
	require.NoError(t, rows.Err())
	return out
}

// metric returns the value of the counter, gauge or histogram count with
// that name and labels in the bundle's registry, failing when there is no
// such series.
func (b *deliverBundle) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := b.registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// keeps every message it accepts.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	mail []receivedMail
}

// receivedMail is one accepted message.
type receivedMail struct {
	From string
	To   []string
	Data []byte
}

func startSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &smtpSession{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = ln.Close()
		<-served
	})
	return s
}

// received returns the accepted messages.
func (s *smtpServer) received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.mail...)
}

type smtpSession struct {
	server *smtpServer
	cur    receivedMail
}

func (s *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur = receivedMail{From: from}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = data
	s.server.mu.Lock()
	s.server.mail = append(s.server.mail, s.cur)
	s.server.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = receivedMail{} }
func (s *smtpSession) Logout() error { return nil }

// parsedMail is a received message's headers and decoded parts.
type parsedMail struct {
	Header     netmail.Header
	Subject    string
	Text, HTML string
}

// parseMail reads a multipart/alternative message as go-mail writes it.
func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	out := parsedMail{Header: msg.Header, Subject: subject}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType, "text and HTML parts")
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(part)
		require.NoError(t, err)
		ct, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		require.NoError(t, err)
		switch ct {
		case "text/plain":
			out.Text = string(body)
		case "text/html":
			out.HTML = string(body)
		default:
			t.Fatalf("unexpected part %s", ct)
		}
	}
	return out
}

// phoneOf returns a distinct E.164 test number for index i.
func phoneOf(i int) string { return fmt.Sprintf("+1555%07d", 1000+i) }
