package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/provider/twilio"
	"whitecross/store"
	"whitecross/store/storetest"
)

const (
	twilioToken  = "0123456789abcdef0123456789abcdef"
	parentPhone  = "+15555550142"
	twilioStatus = "/api/v1/webhooks/twilio/status"
	twilioIn     = "/api/v1/webhooks/twilio/inbound"
	sendgridPath = "/api/v1/webhooks/sendgrid/events"
)

// hookBundle is an API server with Twilio and SendGrid callbacks
// configured, a settable clock, and the delivery changes it reported.
type hookBundle struct {
	*bundle
	clock    *storetest.Clock
	sendgrid *ecdsa.PrivateKey

	mu      sync.Mutex
	changes []whitecross.Event
}

func forEachHookDialect(t *testing.T, fn func(t *testing.T, h *hookBundle)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := &hookBundle{clock: storetest.NewClock(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))}
		db.Now = h.clock.Now
		var err error
		h.sendgrid, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		der, err := x509.MarshalPKIXPublicKey(&h.sendgrid.PublicKey)
		require.NoError(t, err)
		cfg := api.Config{TwilioAuthToken: twilioToken, SendGridWebhookKey: base64.StdEncoding.EncodeToString(der)}
		h.bundle = setup(t, db, cfg)
		// What metrics and realtime are told of: the store's committed events.
		h.st.SetEventNotifier(func(_ context.Context, evs []whitecross.Event) {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, ev := range evs {
				if ev.Type == whitecross.EventDeliveryUpdated {
					h.changes = append(h.changes, ev)
				}
			}
		})
		fn(t, h)
	})
}

// observed returns the delivery.updated events the store notified after
// commit: one per changed delivery, and one per fallback delivery created.
func (h *hookBundle) observed() []whitecross.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]whitecross.Event(nil), h.changes...)
}

// twilio posts form to path signed as Twilio signs it for the public URL;
// token "" sends no signature.
func (h *hookBundle) twilio(t *testing.T, path string, form url.Values, token string) *response {
	t.Helper()
	header := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if token != "" {
		header[twilio.SignatureHeader] = twilio.Signature(token, publicURL+path, form)
	}
	return h.do(t, req{method: "POST", path: path, body: form.Encode(), header: header})
}

// sendgridPost posts body signed with key (nil: the configured one) at ts.
func (h *hookBundle) sendgridPost(t *testing.T, body string, key *ecdsa.PrivateKey, ts time.Time) *response {
	t.Helper()
	return h.do(t, req{method: "POST", path: sendgridPath, body: body, header: map[string]string{
		"X-Twilio-Email-Event-Webhook-Signature": h.signature(t, body, key, ts),
		"X-Twilio-Email-Event-Webhook-Timestamp": strconv.FormatInt(ts.Unix(), 10),
	}})
}

// sent sends a message from the Lincoln nurse to the Lincoln parent on
// channels and records each non-IN_APP delivery as accepted by provider
// with the id providerID(channel), forgetting the events that recorded.
// It returns the deliveries by channel.
func (h *hookBundle) sent(t *testing.T, provider string, providerID func(whitecross.Channel) string, channels ...whitecross.Channel) map[whitecross.Channel]string {
	t.Helper()
	d := h.d
	m, err := d.Store.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{
		RecipientIDs: []string{d.LincolnParent.ID}, Subject: "Vision screening", Body: "Results are in.",
		Priority: whitecross.PriorityHigh, Channels: channels,
	})
	require.NoError(t, err)
	ids := map[whitecross.Channel]string{}
	for _, c := range channels {
		var id string
		require.NoError(t, h.db.Reader().QueryRow(store.AllTenants(context.Background()),
			`SELECT id FROM deliveries WHERE message_id = $1 AND channel = $2`, m.ID, string(c)).Scan(&id))
		id = strings.ToLower(id)
		change, err := d.Store.RecordDeliveryOutcome(context.Background(), d.Tenant.ID, id, whitecross.DeliveryOutcome{
			Status: whitecross.DeliverySent, Provider: provider, ProviderID: providerID(c),
		})
		require.NoError(t, err)
		require.NotNil(t, change)
		ids[c] = id
	}
	// Only what callbacks change is looked at.
	h.mu.Lock()
	h.changes = nil
	h.mu.Unlock()
	return ids
}

// delivery reads a delivery's status and error as stored.
func (h *hookBundle) delivery(t *testing.T, id string) (whitecross.DeliveryStatus, string) {
	t.Helper()
	var status string
	var errText *string
	require.NoError(t, h.db.Reader().QueryRow(store.AllTenants(context.Background()),
		`SELECT status, error FROM deliveries WHERE id = $1`, id).Scan(&status, &errText))
	if errText == nil {
		return whitecross.DeliveryStatus(status), ""
	}
	return whitecross.DeliveryStatus(status), *errText
}

func (h *hookBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, h.db.Reader().QueryRow(store.AllTenants(context.Background()), query, args...).Scan(&n))
	return n
}

func smsStatus(sid, status string, extra ...string) url.Values {
	form := url.Values{
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "ApiVersion": {"2010-04-01"},
		"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"From": {"+15555550100"}, "To": {parentPhone},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return form
}

func TestTwilioStatusCallbacks(t *testing.T) {
	t.Parallel()
	forEachHookDialect(t, func(t *testing.T, h *hookBundle) {
		sids := map[whitecross.Channel]string{whitecross.ChannelSMS: "SM00000000000000000000000000000001", whitecross.ChannelVoice: "CA00000000000000000000000000000001"}
		ids := h.sent(t, "twilio", func(c whitecross.Channel) string { return sids[c] }, whitecross.ChannelSMS, whitecross.ChannelVoice)
		sms, voice := ids[whitecross.ChannelSMS], ids[whitecross.ChannelVoice]

		// A wrong, missing or misplaced signature is 403 and changes nothing.
		for name, res := range map[string]*response{
			"wrong token":  h.twilio(t, twilioStatus, smsStatus(sids[whitecross.ChannelSMS], "delivered"), "another-token"),
			"no signature": h.twilio(t, twilioStatus, smsStatus(sids[whitecross.ChannelSMS], "delivered"), ""),
			"signed for another route": h.do(t, req{method: "POST", path: twilioStatus, body: smsStatus(sids[whitecross.ChannelSMS], "delivered").Encode(),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded",
					twilio.SignatureHeader: twilio.Signature(twilioToken, publicURL+twilioIn, smsStatus(sids[whitecross.ChannelSMS], "delivered"))}}),
		} {
			require.Equal(t, http.StatusForbidden, res.status, "%s: %s", name, res.body)
			require.Contains(t, res.problem(t).Detail, "X-Twilio-Signature", name)
		}
		// A valid signature over a tampered form is refused as well.
		form := smsStatus(sids[whitecross.ChannelSMS], "delivered")
		sig := twilio.Signature(twilioToken, publicURL+twilioStatus, form)
		form.Set("MessageStatus", "failed")
		res := h.do(t, req{method: "POST", path: twilioStatus, body: form.Encode(),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", twilio.SignatureHeader: sig}})
		require.Equal(t, http.StatusForbidden, res.status)
		status, _ := h.delivery(t, sms)
		require.Equal(t, whitecross.DeliverySent, status)
		require.Empty(t, h.observed())

		// delivered, then a late "sent": DELIVERED stays.
		h.clock.Advance(time.Minute)
		res = h.twilio(t, twilioStatus, smsStatus(sids[whitecross.ChannelSMS], "delivered"), twilioToken)
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Empty(t, res.body)
		status, _ = h.delivery(t, sms)
		require.Equal(t, whitecross.DeliveryDelivered, status)
		changes := h.observed()
		require.Len(t, changes, 1)
		require.Equal(t, sms, changes[0].Delivery.ID)
		require.Equal(t, whitecross.DeliveryDelivered, changes[0].Delivery.Status)
		require.Equal(t, h.d.Tenant.ID, changes[0].TenantID)
		require.Equal(t, h.d.LincolnNurse.ID, changes[0].UserID, "told to the sender")

		for _, late := range []string{"sent", "queued", "delivered"} {
			res = h.twilio(t, twilioStatus, smsStatus(sids[whitecross.ChannelSMS], late), twilioToken)
			require.Equal(t, http.StatusNoContent, res.status)
			status, _ = h.delivery(t, sms)
			require.Equal(t, whitecross.DeliveryDelivered, status, "a late %q never moves it back", late)
		}
		require.Len(t, h.observed(), 1, "callbacks that change nothing are not reported")

		// A call nobody answered fails, with Twilio's words; the policy's next
		// channel is tried.
		res = h.twilio(t, twilioStatus, url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"},
			"CallSid": {sids[whitecross.ChannelVoice]}, "CallStatus": {"no-answer"}, "To": {parentPhone}}, twilioToken)
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		status, errText := h.delivery(t, voice)
		require.Equal(t, whitecross.DeliveryFailed, status)
		require.Equal(t, "Twilio: no-answer", errText)
		changes = h.observed()
		require.Len(t, changes, 2)
		require.Equal(t, voice, changes[1].Delivery.ID)

		// Callbacks for sends we do not know change nothing.
		res = h.twilio(t, twilioStatus, smsStatus("SM99999999999999999999999999999999", "failed", "ErrorCode", "30003"), twilioToken)
		require.Equal(t, http.StatusNoContent, res.status)
		require.Len(t, h.observed(), 2)

		// A signed form that is no status callback is 422.
		res = h.twilio(t, twilioStatus, url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"}}, twilioToken)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		res.problem(t)
		res = h.twilio(t, twilioStatus, smsStatus(sids[whitecross.ChannelSMS], "received"), twilioToken)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)

		require.NotContains(t, h.logs.String(), parentPhone, "logs carry no phone numbers")
	})
}

func TestTwilioUndeliveredSMS(t *testing.T) {
	t.Parallel()
	forEachHookDialect(t, func(t *testing.T, h *hookBundle) {
		n := 0
		sid := func(whitecross.Channel) string { n++; return fmt.Sprintf("SM%032d", n) }
		first := h.sent(t, "twilio", sid, whitecross.ChannelSMS)[whitecross.ChannelSMS]
		second := h.sent(t, "twilio", sid, whitecross.ChannelSMS)[whitecross.ChannelSMS]

		// A carrier failure: FAILED with the code, and the fallback channel.
		res := h.twilio(t, twilioStatus, smsStatus(fmt.Sprintf("SM%032d", 1), "undelivered", "ErrorCode", "30003"), twilioToken)
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		status, errText := h.delivery(t, first)
		require.Equal(t, whitecross.DeliveryFailed, status)
		require.Equal(t, "Twilio: undelivered (error 30003)", errText)
		changes := h.observed()
		require.Len(t, changes, 2)
		require.Equal(t, first, changes[0].Delivery.ID)
		require.Equal(t, whitecross.ChannelEmail, changes[1].Delivery.Channel, "HIGH priority falls back from SMS to EMAIL")
		require.Equal(t, whitecross.DeliveryPending, changes[1].Delivery.Status)
		require.Equal(t, 0, h.count(t, `SELECT COUNT(*) FROM phone_opt_outs`), "30003 is no opt-out")

		// 21610: the number texted STOP; it is recorded as opted out.
		res = h.twilio(t, twilioStatus, smsStatus(fmt.Sprintf("SM%032d", 2), "failed", "ErrorCode", "21610"), twilioToken)
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		status, errText = h.delivery(t, second)
		require.Equal(t, whitecross.DeliveryFailed, status)
		require.Equal(t, "Twilio: failed (error 21610)", errText)
		require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM phone_opt_outs WHERE phone = $1 AND source = 'twilio:21610'`, parentPhone))
	})
}

func TestTwilioInboundStopAndStart(t *testing.T) {
	t.Parallel()
	forEachHookDialect(t, func(t *testing.T, h *hookBundle) {
		d := h.d
		phone := parentPhone
		_, err := d.Store.UpdateUser(d.As(d.Admin), d.LincolnParent.ID, &whitecross.UserUpdate{Phone: &phone})
		require.NoError(t, err)
		sms := h.sent(t, "twilio", func(whitecross.Channel) string { return "SM00000000000000000000000000000042" }, whitecross.ChannelSMS)[whitecross.ChannelSMS]
		optedOut := func() bool {
			task, err := d.Store.LoadDeliveryTask(context.Background(), d.Tenant.ID, sms)
			require.NoError(t, err)
			return task.Recipient.PhoneOptedOut
		}
		inbound := func(body string, extra ...string) url.Values {
			form := url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "MessageSid": {"SM" + strings.Repeat("7", 32)},
				"From": {phone}, "To": {"+15555550100"}, "Body": {body}, "NumMedia": {"0"}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			return form
		}
		requireTwiML := func(res *response) {
			t.Helper()
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			require.Equal(t, "text/xml; charset=utf-8", res.header.Get("Content-Type"))
			require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response/>`, string(res.body))
		}

		// A forged STOP is refused and records nothing.
		res := h.twilio(t, twilioIn, inbound("STOP"), "another-token")
		require.Equal(t, http.StatusForbidden, res.status)
		require.False(t, optedOut())

		requireTwiML(h.twilio(t, twilioIn, inbound(" stop "), twilioToken))
		require.True(t, optedOut())
		require.Equal(t, 1, h.count(t, `SELECT COUNT(*) FROM phone_opt_outs WHERE phone = $1 AND source = 'STOP'`, phone))

		// Other texts are acknowledged and change nothing.
		requireTwiML(h.twilio(t, twilioIn, inbound("Is the nurse in today?"), twilioToken))
		requireTwiML(h.twilio(t, twilioIn, inbound("HELP"), twilioToken))
		require.True(t, optedOut())

		requireTwiML(h.twilio(t, twilioIn, inbound("Start"), twilioToken))
		require.False(t, optedOut())
		require.Equal(t, 0, h.count(t, `SELECT COUNT(*) FROM phone_opt_outs`))

		// Twilio's Advanced Opt-Out names the keyword in OptOutType.
		requireTwiML(h.twilio(t, twilioIn, inbound("Arrêtez", "OptOutType", "STOP"), twilioToken))
		require.True(t, optedOut())

		// A sender that is no phone number is acknowledged, not an error.
		form := inbound("STOP")
		form.Set("From", "12345")
		requireTwiML(h.twilio(t, twilioIn, form, twilioToken))

		res = h.twilio(t, twilioIn, url.Values{"Body": {"STOP"}}, twilioToken)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)

		logs := h.logs.String()
		require.NotContains(t, logs, phone)
		require.NotContains(t, logs, "nurse in today")
	})
}

// sgEvent is one SendGrid event for a test batch.
func sgEvent(event, email, messageID string, at time.Time, extra ...string) map[string]any {
	ev := map[string]any{"event": event, "email": email, "timestamp": at.Unix(), "sg_event_id": "ev-" + event,
		"sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "category": []string{"whitecross"}}
	if messageID != "" {
		ev["smtp-id"] = messageID
	}
	for i := 0; i+1 < len(extra); i += 2 {
		ev[extra[i]] = extra[i+1]
	}
	return ev
}

func sgBatch(t *testing.T, events ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(events)
	require.NoError(t, err)
	return string(b) + "\r\n"
}

func TestSendGridEvents(t *testing.T) {
	t.Parallel()
	forEachHookDialect(t, func(t *testing.T, h *hookBundle) {
		d := h.d
		mid := func(id string) string { return "<" + id + "@springfield.example>" }
		n := 0
		next := func(whitecross.Channel) string { n++; return mid(fmt.Sprintf("delivery-%d", n)) }
		delivered := h.sent(t, "smtp", next, whitecross.ChannelEmail)[whitecross.ChannelEmail]
		bounced := h.sent(t, "smtp", next, whitecross.ChannelEmail)[whitecross.ChannelEmail]
		complained := h.sent(t, "smtp", next, whitecross.ChannelEmail)[whitecross.ChannelEmail]
		parent := d.LincolnParent.Email
		now := h.clock.Now()
		suppressed := func(email string) string {
			var reason string
			err := h.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT reason FROM email_suppressions WHERE email = $1`, email).Scan(&reason)
			if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
				return ""
			}
			require.NoError(t, err)
			return reason
		}

		batch := sgBatch(t,
			sgEvent("processed", parent, mid("delivery-1"), now),
			sgEvent("delivered", parent, mid("delivery-1"), now.Add(time.Second)),
			sgEvent("deferred", parent, mid("delivery-2"), now),
			sgEvent("bounce", parent, mid("delivery-2"), now.Add(2*time.Second), "type", "bounce", "status", "5.1.1",
				"reason", "550 5.1.1 <"+parent+">: Recipient address rejected"),
			sgEvent("delivered", parent, mid("delivery-3"), now),
			sgEvent("spamreport", "Complainer@Example.org", mid("delivery-3"), now.Add(time.Hour)),
			sgEvent("open", parent, mid("delivery-1"), now.Add(time.Minute)),
			sgEvent("delivered", parent, mid("unknown"), now),
		)

		// Refused: another key, a tampered body, an old signature.
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		for name, res := range map[string]*response{
			"wrong key": h.sendgridPost(t, batch, other, now),
			"replayed":  h.sendgridPost(t, batch, nil, now.Add(-11*time.Minute)),
			"unsigned":  h.do(t, req{method: "POST", path: sendgridPath, body: batch}),
		} {
			require.Equal(t, http.StatusForbidden, res.status, "%s: %s", name, res.body)
			res.problem(t)
		}
		tampered := h.do(t, req{method: "POST", path: sendgridPath, body: strings.Replace(batch, "delivered", "dropped", 1),
			header: map[string]string{
				"X-Twilio-Email-Event-Webhook-Signature": h.signature(t, batch, nil, now),
				"X-Twilio-Email-Event-Webhook-Timestamp": strconv.FormatInt(now.Unix(), 10)}})
		require.Equal(t, http.StatusForbidden, tampered.status)
		for _, id := range []string{delivered, bounced, complained} {
			status, _ := h.delivery(t, id)
			require.Equal(t, whitecross.DeliverySent, status, "refused batches change nothing")
		}
		require.Equal(t, 0, h.count(t, `SELECT COUNT(*) FROM email_suppressions`))

		h.clock.Advance(5 * time.Minute)
		res := h.sendgridPost(t, batch, nil, now)
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)

		status, _ := h.delivery(t, delivered)
		require.Equal(t, whitecross.DeliveryDelivered, status)
		status, errText := h.delivery(t, bounced)
		require.Equal(t, whitecross.DeliveryBounced, status)
		require.Equal(t, "email bounced (hard bounce) (5.1.1)", errText)
		require.Equal(t, "bounce", suppressed(parent))
		status, errText = h.delivery(t, complained)
		require.Equal(t, whitecross.DeliveryBounced, status, "a complaint after delivery bounces it")
		require.Equal(t, "recipient reported the email as spam", errText)
		require.Equal(t, "complaint", suppressed("complainer@example.org"))
		require.Len(t, h.observed(), 4, "delivered, bounced, delivered, bounced")

		task, err := d.Store.LoadDeliveryTask(context.Background(), d.Tenant.ID, delivered)
		require.NoError(t, err)
		require.True(t, task.Recipient.EmailSuppressed, "the parent's address is no longer emailed")

		// SendGrid posting the batch again changes nothing; nor do late
		// events that would move a delivery back.
		res = h.sendgridPost(t, batch, nil, h.clock.Now())
		require.Equal(t, http.StatusNoContent, res.status)
		res = h.sendgridPost(t, sgBatch(t, sgEvent("delivered", parent, mid("delivery-2"), now.Add(time.Hour))), nil, h.clock.Now())
		require.Equal(t, http.StatusNoContent, res.status)
		status, _ = h.delivery(t, bounced)
		require.Equal(t, whitecross.DeliveryBounced, status)
		require.Len(t, h.observed(), 4)

		// Unsubscribes suppress without touching deliveries; an event with an
		// address that is none is skipped; a body that is no array is 422.
		res = h.sendgridPost(t, sgBatch(t,
			sgEvent("group_unsubscribe", "Leaver@Example.org", "", now),
			sgEvent("bounce", "not an address", mid("delivery-9"), now, "type", "bounce")), nil, h.clock.Now())
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)
		require.Equal(t, "unsubscribe", suppressed("leaver@example.org"))
		res = h.sendgridPost(t, `{"event":"delivered"}`, nil, h.clock.Now())
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		res.problem(t)

		logs := h.logs.String()
		require.NotContains(t, logs, parent, "logs carry no addresses")
		require.NotContains(t, strings.ToLower(logs), "complainer@")
	})
}

// signature is SendGrid's signature of body at ts with key (nil: the
// configured one).
func (h *hookBundle) signature(t *testing.T, body string, key *ecdsa.PrivateKey, ts time.Time) string {
	t.Helper()
	if key == nil {
		key = h.sendgrid
	}
	digest := sha256.Sum256([]byte(strconv.FormatInt(ts.Unix(), 10) + body))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func TestWebhooksNotConfigured(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	b := setup(t, db, api.Config{})
	form := smsStatus("SM00000000000000000000000000000001", "delivered")
	for _, path := range []string{twilioStatus, twilioIn} {
		res := b.do(t, req{method: "POST", path: path, body: form.Encode(), header: map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", twilio.SignatureHeader: twilio.Signature("", publicURL+path, form)}})
		require.Equal(t, http.StatusNotFound, res.status, path)
		require.Contains(t, res.problem(t).Detail, "not configured")
	}
	res := b.do(t, req{method: "POST", path: sendgridPath, body: "[]"})
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, res.problem(t).Detail, "not configured")

	// A key that is no P-256 public key: 503, so SendGrid keeps the events.
	b = setup(t, storetest.Open(t, store.SQLite), api.Config{SendGridWebhookKey: "bm90IGEga2V5"})
	res = b.do(t, req{method: "POST", path: sendgridPath, body: "[]"})
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	res.problem(t)
	require.Contains(t, b.logs.String(), "verification key is invalid")
}

func TestWebhookBodyLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), api.Config{TwilioAuthToken: twilioToken})
	big := url.Values{"MessageSid": {"SM1"}, "From": {parentPhone}, "Body": {strings.Repeat("a", 64<<10)}}
	res := b.do(t, req{method: "POST", path: twilioIn, body: big.Encode(), header: map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", twilio.SignatureHeader: twilio.Signature(twilioToken, publicURL+twilioIn, big)}})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status, "Twilio forms are limited to 64 KiB")
	res.problem(t)
}
