package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseDeliveriesWork is the conformance suite of what the delivery
// workers and provider callbacks need of the store: loading a task,
// recording attempts, forward-only provider statuses, channel fallback and
// opt-outs.
func exerciseDeliveriesWork(t *testing.T, open Opener) {
	tests := []subtest{
		{"LoadTask", testWorkLoadTask},
		{"LoadTaskTenantScoped", testWorkTenantScoped},
		{"OptOutsAndSuppressions", testWorkOptOuts},
		{"RecordOutcome", testWorkRecordOutcome},
		{"FallbackChain", testWorkFallbackChain},
		{"FallbackTenantPolicy", testWorkFallbackTenantPolicy},
		{"NoDoubleFallback", testWorkNoDoubleFallback},
		{"ProviderStatusForwardOnly", testWorkProviderStatus},
		{"PushFailures", testWorkPushFailures},
	}
	runSubtests(t, open, tests)
}

// workPhone is the Lincoln parent's phone in these tests.
const workPhone = "+15551230001"

// setupWork is setupSend with a queue, and the Lincoln parent given a
// phone, the locale "es" and a push subscription (returned).
func setupWork(t *testing.T, open Opener) (*sendBundle, *whitecross.PushSubscription) {
	t.Helper()
	b := setupSend(t, open, true)
	phone, locale := workPhone, "es"
	_, err := b.st.UpdateUser(b.d.System(), b.d.LincolnParent.ID, &whitecross.UserUpdate{Phone: &phone, Locale: &locale})
	require.NoError(t, err)
	sub := &whitecross.PushSubscription{ID: uuid.Must(uuid.NewV7()).String(), UserID: b.d.LincolnParent.ID,
		Endpoint: "https://push.example/send/abc", P256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
		Auth: "tBHItJI5svbpez7KI4CCXg", UserAgent: "Firefox", CreatedAt: b.clock.Now()}
	require.NoError(t, b.db.InTx(store.AllTenants(context.Background()), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth, user_agent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sub.ID, b.d.Tenant.ID, sub.UserID, sub.Endpoint, sub.P256dh, sub.Auth, sub.UserAgent, sub.CreatedAt)
		return err
	}))
	return b, sub
}

// takeDeliveries returns and forgets the recorded deliver jobs.
func (q *recordingQueue) takeDeliveries() []store.DeliverJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.deliveries
	q.deliveries = nil
	return out
}

// setTenantSettings replaces the tenant's settings with raw JSON (the
// settings service is tested elsewhere).
func setTenantSettings(t *testing.T, db *store.DB, tenantID, settings string) {
	t.Helper()
	require.NoError(t, db.InTx(store.AllTenants(context.Background()), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE tenants SET settings = $1 WHERE id = $2`, settings, tenantID)
		return err
	}))
}

// workMessage sends subject from the Lincoln nurse to users over channels.
func workMessage(t *testing.T, b *sendBundle, subject string, p whitecross.Priority, chans []whitecross.Channel, users ...*whitecross.User) *whitecross.Message {
	t.Helper()
	in := msg(subject, users...)
	in.Priority, in.Channels = p, chans
	return b.send(t, b.d.LincolnNurse, in)
}

// deliveryID returns the id of the message's delivery to user on channel.
func deliveryID(t *testing.T, db *store.DB, messageID, userID string, c whitecross.Channel) string {
	t.Helper()
	var id string
	require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT id FROM deliveries
		WHERE message_id = $1 AND recipient_id = $2 AND channel = $3`, messageID, userID, string(c)).Scan(&id))
	return strings.ToLower(id)
}

// workEvent is one delivery_events row.
type workEvent struct {
	Status whitecross.DeliveryStatus
	Detail string
}

func workTimeline(t *testing.T, db *store.DB, deliveryID string) []workEvent {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT status, detail FROM delivery_events WHERE delivery_id = $1 ORDER BY at, id`, deliveryID)
	require.NoError(t, err)
	defer rows.Close()
	var out []workEvent
	for rows.Next() {
		var e workEvent
		var st string
		require.NoError(t, rows.Scan(&st, &e.Detail))
		e.Status = whitecross.DeliveryStatus(st)
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

// channelsOf returns the channel of each delivery of the message to user,
// with its status.
func channelsOf(t *testing.T, db *store.DB, messageID, userID string) map[whitecross.Channel]whitecross.DeliveryStatus {
	t.Helper()
	rows, err := db.Reader().Query(store.AllTenants(context.Background()), `SELECT channel, status FROM deliveries WHERE message_id = $1 AND recipient_id = $2`, messageID, userID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[whitecross.Channel]whitecross.DeliveryStatus{}
	for rows.Next() {
		var c, s string
		require.NoError(t, rows.Scan(&c, &s))
		out[whitecross.Channel(c)] = whitecross.DeliveryStatus(s)
	}
	require.NoError(t, rows.Err())
	return out
}

func testWorkLoadTask(t *testing.T, open Opener) {
	b, sub := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	in := msg("Flu clinic", d.LincolnParent, d.LincolnStaff)
	in.Body, in.BodyFormat = "**Bring** the signed form.", whitecross.BodyMarkdown
	in.Priority = whitecross.PriorityHigh
	in.Channels = []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelPush}
	in.Attachments = []whitecross.Attachment{{URL: "https://files.example/form.pdf", Name: "form.pdf"}}
	m := b.send(t, d.LincolnNurse, in)

	jobs := b.queue.takeDeliveries()
	require.Len(t, jobs, 6, "one deliver job per recipient per external channel")
	for _, j := range jobs {
		require.Equal(t, d.Tenant.ID, j.TenantID)
		require.False(t, j.Urgent)
	}

	id := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelSMS)
	task, err := b.st.LoadDeliveryTask(ctx, d.Tenant.ID, id)
	require.NoError(t, err)
	require.Equal(t, id, task.Delivery.ID)
	require.Equal(t, m.ID, task.Delivery.MessageID)
	require.Equal(t, d.LincolnParent.ID, task.Delivery.RecipientID)
	require.Equal(t, whitecross.ChannelSMS, task.Delivery.Channel)
	require.Equal(t, whitecross.DeliveryPending, task.Delivery.Status)
	require.Zero(t, task.Delivery.Attempts)
	require.True(t, task.Delivery.QueuedAt.Equal(b.clock.Now()))
	require.Equal(t, d.Tenant.Name, task.TenantName)
	require.Equal(t, d.Tenant.Timezone, task.Timezone)

	require.Equal(t, "Flu clinic", task.Message.Subject, "decrypted")
	require.Equal(t, in.Body, task.Message.Body)
	require.Equal(t, whitecross.BodyMarkdown, task.Message.BodyFormat)
	require.Equal(t, whitecross.PriorityHigh, task.Message.Priority)
	require.Equal(t, in.Attachments, task.Message.Attachments)
	require.Equal(t, d.LincolnNurse.Name, task.Message.Sender.Name)
	require.Equal(t, whitecross.RoleNurse, task.Message.Sender.Role)
	require.Equal(t, []string{d.LincolnParent.ID}, task.Message.RecipientIDs, "only the recipient's own id")

	rc := task.Recipient
	require.Equal(t, d.LincolnParent.ID, rc.ID)
	require.Equal(t, d.LincolnParent.Name, rc.Name)
	require.Equal(t, d.LincolnParent.Email, rc.Email)
	require.Equal(t, workPhone, rc.Phone)
	require.Equal(t, "es", rc.Locale)
	require.False(t, rc.EmailSuppressed)
	require.False(t, rc.PhoneOptedOut)
	require.Empty(t, rc.Push, "only a PUSH delivery reads push subscriptions")
	pushTask, err := b.st.LoadDeliveryTask(ctx, d.Tenant.ID, deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelPush))
	require.NoError(t, err)
	push := pushTask.Recipient.Push
	require.Len(t, push, 1)
	require.Equal(t, sub.ID, push[0].ID)
	require.Equal(t, sub.Endpoint, push[0].Endpoint)
	require.Equal(t, sub.P256dh, push[0].P256dh)
	require.Equal(t, sub.Auth, push[0].Auth)

	// Staff: no phone, no subscription; their locale, else the district's, else "en".
	staffID := deliveryID(t, b.db, m.ID, d.LincolnStaff.ID, whitecross.ChannelEmail)
	require.NoError(t, b.db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET locale = '' WHERE id = $1`, d.LincolnStaff.ID)
		return err
	}))
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, staffID)
	require.NoError(t, err)
	require.Empty(t, task.Recipient.Phone)
	require.Empty(t, task.Recipient.Push)
	require.Equal(t, "en", task.Recipient.Locale)
	setTenantSettings(t, b.db, d.Tenant.ID, `{"default_locale":"fr","emergency_overrides_opt_out":true}`)
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, staffID)
	require.NoError(t, err)
	require.Equal(t, "fr", task.Recipient.Locale)
	require.True(t, task.Settings.EmergencyOverridesOptOut, "settings are read fresh")

	// A sensitive message's content is not even decrypted for the workers.
	in = msg("Head lice treatment for Lily", d.LincolnParent)
	in.Sensitive, in.Channels = new(true), []whitecross.Channel{whitecross.ChannelEmail}
	sm := b.send(t, d.LincolnNurse, in)
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, deliveryID(t, b.db, sm.ID, d.LincolnParent.ID, whitecross.ChannelEmail))
	require.NoError(t, err)
	require.True(t, task.Message.Sensitive)
	require.Empty(t, task.Message.Subject)
	require.Empty(t, task.Message.Body)
	require.Equal(t, d.LincolnNurse.Name, task.Message.Sender.Name, "the notice names the sender")
}

func testWorkTenantScoped(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	m := workMessage(t, b, "Picture day", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelSMS}, d.LincolnParent)
	id := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelSMS)

	for _, tc := range [][2]string{
		{other.Tenant.ID, id},           // another tenant's delivery
		{d.Tenant.ID, uuid.NewString()}, // no such delivery
		{d.Tenant.ID, "nope"},           // malformed id
		{"nope", id},                    // malformed tenant
	} {
		_, err := b.st.LoadDeliveryTask(ctx, tc[0], tc[1])
		requireCode(t, err, whitecross.ENOTFOUND, "")
		_, err = b.st.RecordDeliveryOutcome(ctx, tc[0], tc[1], whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: "x", Fallback: true})
		requireCode(t, err, whitecross.ENOTFOUND, "")
	}
	task, err := b.st.LoadDeliveryTask(ctx, d.Tenant.ID, strings.ToUpper(id))
	require.NoError(t, err, "ids are case-insensitive")
	require.Equal(t, whitecross.DeliveryPending, task.Delivery.Status, "the other tenant changed nothing")
	require.Equal(t, 0, task.Delivery.Attempts)
	require.Equal(t, map[whitecross.Channel]whitecross.DeliveryStatus{whitecross.ChannelInApp: whitecross.DeliveryDelivered,
		whitecross.ChannelSMS: whitecross.DeliveryPending}, channelsOf(t, b.db, m.ID, d.LincolnParent.ID))

	// Push subscriptions are removed only within their tenant.
	pm := workMessage(t, b, "Picture day reminder", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelPush}, d.LincolnParent)
	pushID := deliveryID(t, b.db, pm.ID, d.LincolnParent.ID, whitecross.ChannelPush)
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, pushID)
	require.NoError(t, err)
	sub := task.Recipient.Push[0]
	require.NoError(t, b.st.RemovePushSubscription(ctx, other.Tenant.ID, sub.ID))
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, pushID)
	require.NoError(t, err)
	require.Len(t, task.Recipient.Push, 1)
	require.NoError(t, b.st.RemovePushSubscription(ctx, d.Tenant.ID, sub.ID))
	task, err = b.st.LoadDeliveryTask(ctx, d.Tenant.ID, pushID)
	require.NoError(t, err)
	require.Empty(t, task.Recipient.Push)
	require.NoError(t, b.st.RemovePushSubscription(ctx, d.Tenant.ID, sub.ID), "already gone is fine")
}

func testWorkOptOuts(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	m := workMessage(t, b, "Picture day", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail}, d.LincolnParent)
	id := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelSMS)
	recipient := func() whitecross.DeliveryRecipient {
		t.Helper()
		task, err := b.st.LoadDeliveryTask(ctx, d.Tenant.ID, id)
		require.NoError(t, err)
		return task.Recipient
	}

	require.NoError(t, b.st.SetPhoneOptOut(ctx, workPhone, true, "STOP"))
	require.True(t, recipient().PhoneOptedOut)
	require.NoError(t, b.st.SetPhoneOptOut(ctx, workPhone, true, "twilio:21610"), "opting out twice is fine")
	var source string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT source FROM phone_opt_outs WHERE phone = $1`, workPhone).Scan(&source))
	require.Equal(t, "twilio:21610", source)
	require.NoError(t, b.st.SetPhoneOptOut(ctx, workPhone, false, "START"))
	require.False(t, recipient().PhoneOptedOut)
	require.NoError(t, b.st.SetPhoneOptOut(ctx, workPhone, false, "START"), "opting in twice is fine")
	requireCode(t, b.st.SetPhoneOptOut(ctx, "555-1234", true, "STOP"), whitecross.EINVALID, "")

	require.False(t, recipient().EmailSuppressed)
	require.NoError(t, b.st.SuppressEmail(ctx, "  "+strings.ToUpper(d.LincolnParent.Email)+" ", "bounce"))
	require.True(t, recipient().EmailSuppressed, "addresses compare case-insensitively")
	require.NoError(t, b.st.SuppressEmail(ctx, d.LincolnParent.Email, "complaint"))
	var reason string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT reason FROM email_suppressions WHERE email = $1`, d.LincolnParent.Email).Scan(&reason))
	require.Equal(t, "complaint", reason)
	requireCode(t, b.st.SuppressEmail(ctx, "not an address", "bounce"), whitecross.EINVALID, "")
	requireCode(t, b.st.SuppressEmail(ctx, "@example.org", "bounce"), whitecross.EINVALID, "")
}

func testWorkRecordOutcome(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	m := workMessage(t, b, "Vision screening", whitecross.PriorityHigh,
		[]whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail, whitecross.ChannelPush}, d.LincolnParent)
	b.queue.takeDeliveries()
	sms := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelSMS)
	record := func(id string, o whitecross.DeliveryOutcome) *whitecross.DeliveryChange {
		t.Helper()
		c, err := b.st.RecordDeliveryOutcome(ctx, d.Tenant.ID, id, o)
		require.NoError(t, err)
		return c
	}

	// A temporary failure: still PENDING, one attempt, the reason kept.
	c := record(sms, whitecross.DeliveryOutcome{Error: "twilio temporary failure 503: twilio temporarily unavailable (HTTP 503)"})
	require.NotNil(t, c)
	require.Equal(t, d.Tenant.ID, c.TenantID)
	require.Equal(t, m.ID, c.MessageID)
	require.Equal(t, d.LincolnNurse.ID, c.SenderID)
	require.Nil(t, c.Fallback)
	require.Equal(t, whitecross.DeliveryPending, c.Delivery.Status)
	require.Equal(t, 1, c.Delivery.Attempts)
	require.NotNil(t, c.Delivery.Error)
	require.Contains(t, *c.Delivery.Error, "HTTP 503")

	// Accepted a minute later.
	b.clock.Advance(time.Minute)
	c = record(sms, whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "twilio", ProviderID: "SM0001"})
	require.Equal(t, whitecross.DeliverySent, c.Delivery.Status)
	require.Equal(t, 2, c.Delivery.Attempts)
	require.Nil(t, c.Delivery.Error, "success clears the error")
	require.NotNil(t, c.Delivery.SentAt)
	require.True(t, c.Delivery.SentAt.Equal(b.clock.Now()))
	require.Nil(t, c.Delivery.DeliveredAt)
	var provider, providerID string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT provider, provider_id FROM deliveries WHERE id = $1`, sms).Scan(&provider, &providerID))
	require.Equal(t, [2]string{"twilio", "SM0001"}, [2]string{provider, providerID})

	// No longer PENDING: a second run of the job records nothing.
	for _, o := range []whitecross.DeliveryOutcome{
		{Status: whitecross.DeliverySent, Provider: "twilio", ProviderID: "SM0002"},
		{Status: whitecross.DeliveryFailed, Error: "late", Fallback: true},
		{Error: "late temporary"},
	} {
		require.Nil(t, record(sms, o))
	}
	require.Equal(t, []workEvent{
		{whitecross.DeliveryPending, ""},
		{whitecross.DeliveryPending, "attempt 1 failed: twilio temporary failure 503: twilio temporarily unavailable (HTTP 503); retrying"},
		{whitecross.DeliverySent, "sent via twilio (SM0001)"},
	}, workTimeline(t, b.db, sms))

	// Capture's acceptance is the delivery.
	email := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelEmail)
	c = record(email, whitecross.DeliveryOutcome{Status: whitecross.DeliveryDelivered, Provider: "capture", ProviderID: "capture-1"})
	require.Equal(t, whitecross.DeliveryDelivered, c.Delivery.Status)
	require.True(t, c.Delivery.SentAt.Equal(b.clock.Now()))
	require.True(t, c.Delivery.DeliveredAt.Equal(b.clock.Now()))

	// A permanent failure without Fallback falls back to nothing.
	push := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelPush)
	c = record(push, whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Provider: "webpush", Error: "webpush permanent failure 403: VAPID key mismatch"})
	require.Equal(t, whitecross.DeliveryFailed, c.Delivery.Status)
	require.Equal(t, 1, c.Delivery.Attempts)
	require.True(t, c.Delivery.FailedAt.Equal(b.clock.Now()))
	require.Equal(t, "webpush permanent failure 403: VAPID key mismatch", *c.Delivery.Error)
	require.Nil(t, c.Fallback)
	require.Empty(t, b.queue.takeDeliveries())
	require.Equal(t, []workEvent{{whitecross.DeliveryPending, ""}, {whitecross.DeliveryFailed, "webpush permanent failure 403: VAPID key mismatch"}},
		workTimeline(t, b.db, push))

	_, err := b.st.RecordDeliveryOutcome(ctx, d.Tenant.ID, sms, whitecross.DeliveryOutcome{Status: whitecross.DeliveryBounced})
	requireCode(t, err, whitecross.EINVALID, "")
}

// failWithFallback records a permanent failure asking for fallback and
// returns the change.
func failWithFallback(t *testing.T, b *sendBundle, id, reason string) *whitecross.DeliveryChange {
	t.Helper()
	c, err := b.st.RecordDeliveryOutcome(context.Background(), b.d.Tenant.ID, id,
		whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: reason, Fallback: true})
	require.NoError(t, err)
	require.NotNil(t, c)
	return c
}

func testWorkFallbackChain(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	parent := d.LincolnParent

	// URGENT: PUSH, then SMS, then VOICE, then EMAIL, then nothing.
	m := workMessage(t, b, "Early dismissal", whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelPush}, parent)
	jobs := b.queue.takeDeliveries()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Urgent)
	id := jobs[0].DeliveryID
	for _, next := range []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelEmail} {
		c := failWithFallback(t, b, id, "no luck")
		require.NotNil(t, c.Fallback, "after %s", c.Delivery.Channel)
		require.Equal(t, next, c.Fallback.Channel)
		require.Equal(t, whitecross.DeliveryPending, c.Fallback.Status)
		require.Equal(t, parent.ID, c.Fallback.RecipientID)
		require.Equal(t, m.ID, c.Fallback.MessageID)
		require.Equal(t, []workEvent{{whitecross.DeliveryPending, "fallback from " + string(c.Delivery.Channel) + ": no luck"}},
			workTimeline(t, b.db, c.Fallback.ID))
		jobs := b.queue.takeDeliveries()
		require.Equal(t, []store.DeliverJob{{TenantID: d.Tenant.ID, DeliveryID: c.Fallback.ID, Urgent: true}}, jobs,
			"the fallback's job is enqueued with it, in the urgent lane")
		id = c.Fallback.ID
	}
	require.Nil(t, failWithFallback(t, b, id, "no luck").Fallback, "the chain is exhausted")
	require.Empty(t, b.queue.takeDeliveries())
	require.Len(t, channelsOf(t, b.db, m.ID, parent.ID), 5)

	// MEDIUM: EMAIL, then PUSH.
	m = workMessage(t, b, "Newsletter", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelEmail}, parent)
	c := failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelEmail), "address suppressed after a bounce")
	require.Equal(t, whitecross.ChannelPush, c.Fallback.Channel)
	require.False(t, b.queue.takeDeliveries()[1].Urgent)

	// LOW has no SMS in its chain; an EMERGENCY uses the URGENT chain
	// whatever its priority.
	m = workMessage(t, b, "Bake sale", whitecross.PriorityLow, []whitecross.Channel{whitecross.ChannelSMS}, parent)
	require.Nil(t, failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS), "x").Fallback)
	in := msg("Gas leak", parent)
	in.Category, in.Priority, in.Channels = whitecross.CategoryEmergency, whitecross.PriorityLow, []whitecross.Channel{whitecross.ChannelSMS}
	m = b.send(t, d.LincolnAdmin, in) // only administrators send EMERGENCY
	c = failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS), "number opted out (STOP)")
	require.Equal(t, whitecross.ChannelVoice, c.Fallback.Channel)
}

func testWorkFallbackTenantPolicy(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	parent := d.LincolnParent
	setTenantSettings(t, b.db, d.Tenant.ID,
		`{"allowed_channels":["IN_APP","EMAIL","SMS","PUSH"],"fallback":{"MEDIUM":["SMS","EMAIL","VOICE","PUSH"]}}`)

	// The tenant's MEDIUM chain; VOICE is not allowed, so EMAIL is followed by PUSH.
	m := workMessage(t, b, "Picture day", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelSMS}, parent)
	c := failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS), "x")
	require.Equal(t, whitecross.ChannelEmail, c.Fallback.Channel)
	c = failWithFallback(t, b, c.Fallback.ID, "x")
	require.Equal(t, whitecross.ChannelPush, c.Fallback.Channel)

	// URGENT keeps the default chain, without VOICE.
	m = workMessage(t, b, "Lockdown", whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelPush}, parent)
	c = failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelPush), "x")
	require.Equal(t, whitecross.ChannelSMS, c.Fallback.Channel)
	c = failWithFallback(t, b, c.Fallback.ID, "x")
	require.Equal(t, whitecross.ChannelEmail, c.Fallback.Channel)

	// A channel the message already went out on is not tried again.
	m = workMessage(t, b, "Field trip", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail}, parent)
	c = failWithFallback(t, b, deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS), "x")
	require.Equal(t, whitecross.ChannelPush, c.Fallback.Channel, "EMAIL was tried already")
}

func testWorkNoDoubleFallback(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	parent := d.LincolnParent
	m := workMessage(t, b, "Early dismissal", whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelSMS}, parent)
	sms := deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS)
	_, err := b.st.RecordDeliveryOutcome(ctx, d.Tenant.ID, sms, whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "twilio", ProviderID: "SM42"})
	require.NoError(t, err)
	b.queue.takeDeliveries()

	// The same failure callback, several at once and then again: one
	// change, one fallback.
	failed := whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM42", Status: whitecross.DeliveryFailed, Error: "30003 unreachable destination handset"}
	var wg sync.WaitGroup
	changes := make(chan *whitecross.DeliveryChange, 4)
	for range 4 {
		wg.Go(func() {
			c, err := b.st.ApplyProviderStatus(ctx, failed)
			if err != nil {
				t.Errorf("apply: %v", err)
			}
			changes <- c
		})
	}
	wg.Wait()
	close(changes)
	var applied []*whitecross.DeliveryChange
	for c := range changes {
		if c != nil {
			applied = append(applied, c)
		}
	}
	require.Len(t, applied, 1, "exactly one callback moved the delivery")
	require.Equal(t, whitecross.ChannelVoice, applied[0].Fallback.Channel)
	c, err := b.st.ApplyProviderStatus(ctx, failed)
	require.NoError(t, err)
	require.Nil(t, c)
	c, err = b.st.ApplyProviderStatus(ctx, whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM42", Status: whitecross.DeliveryBounced})
	require.NoError(t, err)
	require.Nil(t, c, "FAILED is final")
	c, err = b.st.RecordDeliveryOutcome(ctx, d.Tenant.ID, sms, whitecross.DeliveryOutcome{Status: whitecross.DeliveryFailed, Error: "x", Fallback: true})
	require.NoError(t, err)
	require.Nil(t, c)
	require.Equal(t, map[whitecross.Channel]whitecross.DeliveryStatus{
		whitecross.ChannelInApp: whitecross.DeliveryDelivered, whitecross.ChannelSMS: whitecross.DeliveryFailed,
		whitecross.ChannelVoice: whitecross.DeliveryPending,
	}, channelsOf(t, b.db, m.ID, parent.ID))
	require.Len(t, b.queue.takeDeliveries(), 1, "one fallback job")
}

func testWorkProviderStatus(t *testing.T, open Opener) {
	b, _ := setupWork(t, open)
	d := b.d
	ctx := context.Background()
	parent := d.LincolnParent
	m := workMessage(t, b, "Picture day", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelEmail}, parent)
	sms := deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelSMS)
	email := deliveryID(t, b.db, m.ID, parent.ID, whitecross.ChannelEmail)
	for id, pid := range map[string][2]string{sms: {"twilio", "SM7"}, email: {"smtp", "<" + email + "@springfield.example>"}} {
		_, err := b.st.RecordDeliveryOutcome(ctx, d.Tenant.ID, id, whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: pid[0], ProviderID: pid[1]})
		require.NoError(t, err)
	}
	sentAt := b.clock.Now()
	apply := func(st whitecross.ProviderStatus) *whitecross.DeliveryChange {
		t.Helper()
		c, err := b.st.ApplyProviderStatus(ctx, st)
		require.NoError(t, err)
		return c
	}
	b.clock.Advance(time.Minute)
	deliveredAt := b.clock.Now().Add(-10 * time.Second)

	// Delivered arrives before the (late) sent callback; sent never moves it back.
	c := apply(whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM7", Status: whitecross.DeliveryDelivered, At: deliveredAt})
	require.NotNil(t, c)
	require.Equal(t, d.Tenant.ID, c.TenantID)
	require.Equal(t, m.ID, c.MessageID)
	require.Equal(t, d.LincolnNurse.ID, c.SenderID)
	require.Equal(t, whitecross.DeliveryDelivered, c.Delivery.Status)
	require.True(t, c.Delivery.DeliveredAt.Equal(deliveredAt))
	require.True(t, c.Delivery.SentAt.Equal(sentAt), "sent_at is kept")
	require.Equal(t, 1, c.Delivery.Attempts, "a callback is not an attempt")
	require.Nil(t, apply(whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM7", Status: whitecross.DeliverySent, At: sentAt}))
	require.Nil(t, apply(whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM7", Status: whitecross.DeliveryDelivered, At: deliveredAt}))
	require.Nil(t, apply(whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM-unknown", Status: whitecross.DeliveryDelivered}))
	require.Nil(t, apply(whitecross.ProviderStatus{Provider: "smtp", ProviderID: "SM7", Status: whitecross.DeliveryDelivered}), "ids are per provider")
	require.Equal(t, []workEvent{
		{whitecross.DeliveryPending, ""},
		{whitecross.DeliverySent, "sent via twilio (SM7)"},
		{whitecross.DeliveryDelivered, "twilio reported delivered"},
	}, workTimeline(t, b.db, sms), "one event per change, at the provider's time")
	_, err := b.st.ApplyProviderStatus(ctx, whitecross.ProviderStatus{Provider: "twilio", ProviderID: "SM7", Status: whitecross.DeliveryPending})
	requireCode(t, err, whitecross.EINVALID, "")

	// A hard bounce after the email was sent: BOUNCED with the reason, and
	// the MEDIUM chain falls back to PUSH.
	b.queue.takeDeliveries()
	c = apply(whitecross.ProviderStatus{Provider: "smtp", ProviderID: "<" + email + "@springfield.example>", Status: whitecross.DeliveryBounced,
		Error: "550 5.1.1 mailbox does not exist", At: deliveredAt})
	require.NotNil(t, c)
	require.Equal(t, whitecross.DeliveryBounced, c.Delivery.Status)
	require.True(t, c.Delivery.BouncedAt.Equal(deliveredAt))
	require.Equal(t, "550 5.1.1 mailbox does not exist", *c.Delivery.Error)
	require.NotNil(t, c.Fallback)
	require.Equal(t, whitecross.ChannelPush, c.Fallback.Channel)
	require.Len(t, b.queue.takeDeliveries(), 1)
	require.Equal(t, []workEvent{
		{whitecross.DeliveryPending, ""},
		{whitecross.DeliverySent, "sent via smtp (<" + email + "@springfield.example>)"},
		{whitecross.DeliveryBounced, "smtp reported bounced: 550 5.1.1 mailbox does not exist"},
	}, workTimeline(t, b.db, email))
	require.Nil(t, apply(whitecross.ProviderStatus{Provider: "smtp", ProviderID: "<" + email + "@springfield.example>", Status: whitecross.DeliveryDelivered}),
		"BOUNCED is final")
}
