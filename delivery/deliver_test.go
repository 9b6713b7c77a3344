package delivery_test

import (
	"context"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/provider/capture"
	"whitecross/provider/smtp"
	"whitecross/store"
	"whitecross/store/storetest"
)

func TestEmailArrivesAtARealSMTPServer(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		srv := startSMTPServer(t)
		sender, err := smtp.New(smtp.Config{URL: "smtp://" + srv.addr, From: "White Cross <no-reply@springfield.example>", Timeout: time.Minute})
		require.NoError(t, err)
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: map[whitecross.Channel]delivery.Provider{whitecross.ChannelEmail: {Name: "smtp", Sender: sender}},
		}})
		staff := b.d.LincolnStaff
		in := message("Vision screening on Friday", []string{staff.ID})
		in.Body, in.BodyFormat = "Please **sign** the form.\nThank you.", whitecross.BodyMarkdown
		in.Attachments = []whitecross.Attachment{{URL: "https://files.example/form.pdf", Name: "Consent form"}}
		in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
		m := b.send(t, in)
		d := b.mustDelivery(t, m.ID, staff, whitecross.ChannelEmail)
		b.waitDelivered(t, d.ID)

		mails := srv.received()
		require.Len(t, mails, 1)
		require.Equal(t, []string{staff.Email}, mails[0].To)
		require.Equal(t, "no-reply@springfield.example", mails[0].From)
		mail := parseMail(t, mails[0].Data)
		require.Equal(t, "Vision screening on Friday", mail.Subject)
		from, err := netmail.ParseAddress(mail.Header.Get("From"))
		require.NoError(t, err)
		require.Equal(t, b.d.Tenant.Name, from.Name, "from the district")
		to, err := netmail.ParseAddress(mail.Header.Get("To"))
		require.NoError(t, err)
		require.Equal(t, staff.Name, to.Name)
		link := testPublicURL + "/messages/" + m.ID
		text := strings.ReplaceAll(mail.Text, "\r\n", "\n")
		require.Contains(t, text, "Please **sign** the form.\nThank you.")
		require.Contains(t, text, "- Consent form: https://files.example/form.pdf")
		require.Contains(t, text, "Open it in White Cross: "+link)
		require.Contains(t, mail.HTML, "<strong>sign</strong>")
		require.Contains(t, mail.HTML, `<a href="https://files.example/form.pdf"`)
		require.Contains(t, mail.HTML, `<a href="`+link+`">Open it in White Cross</a>`)

		got := b.mustDelivery(t, m.ID, staff, whitecross.ChannelEmail)
		require.Equal(t, "SENT", got.Status)
		require.Equal(t, "smtp", got.Provider)
		require.Equal(t, "<"+d.ID+"@springfield.example>", got.ProviderID)
		require.Equal(t, got.ProviderID, mail.Header.Get("Message-ID"), "callbacks find the delivery by the Message-ID")
		require.Equal(t, 1, got.Attempts)
		require.Equal(t, []string{"PENDING", "SENT sent via smtp (" + got.ProviderID + ")"}, b.timeline(t, d.ID))

		// A sensitive message: a notice and a link, nothing of its content.
		in = message("Lice check results for Sam", []string{staff.ID})
		in.Body, in.Sensitive = "Sam has head lice; treat tonight.", new(true)
		in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
		m = b.send(t, in)
		b.waitDelivered(t, b.mustDelivery(t, m.ID, staff, whitecross.ChannelEmail).ID)
		mails = srv.received()
		require.Len(t, mails, 2)
		raw := strings.ToLower(string(mails[1].Data))
		for _, secret := range []string{"lice", "sam has", "treat tonight"} {
			require.NotContains(t, raw, secret)
		}
		mail = parseMail(t, mails[1].Data)
		require.Equal(t, "Secure message from "+b.d.Tenant.Name, mail.Subject)
		notice := "You have a secure message from " + b.d.LincolnNurse.Name + ", " + b.d.Tenant.Name + ". Sign in to read it."
		require.Equal(t, notice+"\n\n"+testPublicURL+"/messages/"+m.ID, strings.TrimSpace(strings.ReplaceAll(mail.Text, "\r\n", "\n")))
		require.Contains(t, mail.HTML, notice)
	})
}

func TestSMSVoiceAndPushOfAnEmergencyGoOutInTheUrgentLane(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(1))
		locale := "es"
		_, err := b.st.UpdateUser(b.d.System(), parent.ID, &whitecross.UserUpdate{Locale: &locale})
		require.NoError(t, err)
		sub := b.addPushSubscription(t, parent, "https://push.example/send/1")
		in := message("Early dismissal at noon", []string{parent.ID})
		in.Body, in.BodyFormat = "Buses leave at **12:00**.", whitecross.BodyMarkdown
		in.Category = whitecross.CategoryEmergency
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelPush}
		m := b.sendAs(t, b.d.LincolnAdmin, in)

		link := testPublicURL + "/messages/" + m.ID
		for _, c := range in.Channels {
			d := b.mustDelivery(t, m.ID, parent, c)
			e := b.waitDelivered(t, d.ID)
			require.Equal(t, delivery.QueueDeliverUrgent, e.Job.Queue, "%s of an emergency", c)
			got := b.mustDelivery(t, m.ID, parent, c)
			require.Equal(t, "DELIVERED", got.Status, "capture's acceptance is delivery")
			require.Equal(t, "capture", got.Provider)
			require.Equal(t, "capture-1", got.ProviderID)
			require.Equal(t, []string{"PENDING", "DELIVERED delivered by capture (capture-1)"}, b.timeline(t, d.ID))

			sent := b.outbox[c].List(capture.Filter{})
			require.Len(t, sent, 1)
			out := sent[0].Outbound
			require.Equal(t, d.ID, out.DeliveryID, "the idempotency key")
			require.Equal(t, b.d.Tenant.ID, out.TenantID)
			require.Equal(t, c, out.Channel)
			require.Equal(t, "es", out.Locale)
			require.Equal(t, b.d.Tenant.Name, out.FromName)
			require.Equal(t, link, out.Link)
			require.True(t, out.Urgent)
			switch c {
			case whitecross.ChannelSMS:
				require.Equal(t, phoneOf(1), out.To)
				require.Equal(t, "Early dismissal at noon\nBuses leave at 12:00.", out.Text)
			case whitecross.ChannelVoice:
				require.Equal(t, phoneOf(1), out.To)
				require.Equal(t, "Message from "+b.d.LincolnAdmin.Name+", "+b.d.Tenant.Name+". Early dismissal at noon. Buses leave at 12:00.", out.Text)
			case whitecross.ChannelPush:
				require.JSONEq(t, sub.BrowserJSON(), out.To)
				require.Equal(t, "Early dismissal at noon", out.Subject)
				require.Equal(t, "Buses leave at 12:00.", out.Text)
			}
		}
	})
}

func TestSensitiveContentNeverReachesAProvider(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(2))
		b.addPushSubscription(t, parent, "https://push.example/send/2")
		in := message("Head lice treatment", []string{parent.ID})
		in.Body = "Lily has head lice; apply the treatment tonight."
		in.Attachments = []whitecross.Attachment{{URL: "https://files.example/care.pdf", Name: "care.pdf"}}
		in.Sensitive = new(true)
		in.Channels = []whitecross.Channel{whitecross.ChannelEmail, whitecross.ChannelSMS, whitecross.ChannelVoice, whitecross.ChannelPush}
		m := b.send(t, in)
		for _, c := range in.Channels {
			b.waitDelivered(t, b.mustDelivery(t, m.ID, parent, c).ID)
		}

		notice := "You have a secure message from " + b.d.LincolnNurse.Name + ", " + b.d.Tenant.Name + ". Sign in to read it."
		link := testPublicURL + "/messages/" + m.ID
		for _, c := range in.Channels {
			sent := b.outbox[c].List(capture.Filter{})
			require.Len(t, sent, 1, "%s", c)
			out := sent[0].Outbound
			all := strings.ToLower(strings.Join([]string{out.Subject, out.Text, out.HTML, out.Link}, "\n"))
			for _, secret := range []string{"lice", "lily", "treatment", "tonight", "care.pdf", "files.example"} {
				require.NotContains(t, all, secret, "%s carries %q", c, secret)
			}
			require.Equal(t, link, out.Link)
			switch c {
			case whitecross.ChannelEmail:
				require.Equal(t, "Secure message from "+b.d.Tenant.Name, out.Subject)
				require.Equal(t, notice+"\n\n"+link, out.Text)
				require.Contains(t, out.HTML, notice)
			case whitecross.ChannelPush:
				require.Equal(t, "Secure message from "+b.d.Tenant.Name, out.Subject)
				require.Equal(t, notice, out.Text)
			default:
				require.Empty(t, out.Subject)
				require.Equal(t, notice, out.Text)
			}
		}
	})
}

func TestFallbackWalksTheChainUntilAChannelDelivers(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		// VOICE has no provider on this server.
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{
			Providers: map[whitecross.Channel]delivery.Provider{whitecross.ChannelVoice: {}},
		}})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(3))
		require.NoError(t, b.st.SetPhoneOptOut(context.Background(), phoneOf(3), true, "STOP"))
		b.addPushSubscription(t, parent, "https://push.example/send/3")
		b.outbox[whitecross.ChannelPush].FailNext(1, &whitecross.ProviderError{Provider: "capture", Permanent: true, Code: "410", Message: "subscription expired"})

		// URGENT: PUSH, then SMS, then VOICE, then EMAIL.
		in := message("Lockdown drill at 10", []string{parent.ID})
		in.Priority, in.Channels = whitecross.PriorityUrgent, []whitecross.Channel{whitecross.ChannelPush}
		m := b.send(t, in)
		steps := []struct {
			channel  whitecross.Channel
			status   string
			error    string
			from     whitecross.Channel
			fromWhy  string
			attempts int
		}{
			{whitecross.ChannelPush, "FAILED", "capture permanent failure 410: every push subscription of the recipient is gone", "", "", 1},
			{whitecross.ChannelSMS, "FAILED", "number opted out (STOP)", whitecross.ChannelPush, "capture permanent failure 410: every push subscription of the recipient is gone", 1},
			{whitecross.ChannelVoice, "FAILED", "VOICE is not configured on this server", whitecross.ChannelSMS, "number opted out (STOP)", 1},
			{whitecross.ChannelEmail, "DELIVERED", "", whitecross.ChannelVoice, "VOICE is not configured on this server", 1},
		}
		for _, s := range steps {
			d := b.mustDelivery(t, m.ID, parent, s.channel)
			e := b.waitDelivered(t, d.ID)
			require.Equal(t, delivery.QueueDeliverUrgent, e.Job.Queue, "a fallback keeps its message's lane")
			d = b.mustDelivery(t, m.ID, parent, s.channel)
			require.Equal(t, s.status, d.Status, "%s", s.channel)
			require.Equal(t, s.error, d.Error, "%s", s.channel)
			require.Equal(t, s.attempts, d.Attempts, "%s: a permanent failure is not retried", s.channel)
			events := b.timeline(t, d.ID)
			if s.from != "" {
				require.Equal(t, "PENDING fallback from "+string(s.from)+": "+s.fromWhy, events[0])
			}
		}
		require.Zero(t, count(t, db, "SELECT COUNT(*) FROM push_subscriptions"), "the gone subscription is forgotten")
		require.Empty(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), "an opted-out number is never texted")
		require.Len(t, b.outbox[whitecross.ChannelEmail].List(capture.Filter{}), 1)
	})
}

func TestEmergencyTextsAnOptedOutNumberOnlyWhenTheDistrictSaysSo(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(4))
		require.NoError(t, b.st.SetPhoneOptOut(context.Background(), phoneOf(4), true, "STOP"))
		b.setSettings(t, `{"emergency_overrides_opt_out":true}`)
		sms := []whitecross.Channel{whitecross.ChannelSMS}

		emergency := message("Gas leak: stay away from school", []string{parent.ID})
		emergency.Category, emergency.Channels = whitecross.CategoryEmergency, sms
		m := b.sendAs(t, b.d.LincolnAdmin, emergency)
		b.waitDelivered(t, b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).ID)
		require.Equal(t, "DELIVERED", b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Status)

		// Not an emergency: not texted; URGENT falls back to a call, which an
		// SMS STOP does not block.
		urgent := message("Pick up your child by 2", []string{parent.ID})
		urgent.Priority, urgent.Channels = whitecross.PriorityUrgent, sms
		m = b.send(t, urgent)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		b.waitDelivered(t, d.ID)
		d = b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		require.Equal(t, "FAILED", d.Status)
		require.Equal(t, "number opted out (STOP)", d.Error)
		voice := b.mustDelivery(t, m.ID, parent, whitecross.ChannelVoice)
		b.waitDelivered(t, voice.ID)
		require.Equal(t, "DELIVERED", b.mustDelivery(t, m.ID, parent, whitecross.ChannelVoice).Status)
		require.Len(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), 1, "only the emergency was texted")
	})
}

func TestTemporaryFailuresAreRetriedUntilTheProviderAccepts(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(5))
		b.outbox[whitecross.ChannelSMS].FailNext(2, &whitecross.ProviderError{Provider: "capture", Code: "503", Message: "provider busy"})
		in := message("Picture day", []string{parent.ID})
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)

		b.driveUntil(t, "SMS delivered", 2*time.Second, func() bool {
			return b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Status == "DELIVERED"
		})
		e := b.waitDelivered(t, d.ID)
		require.Equal(t, 3, e.Job.Attempt)
		require.Len(t, e.Job.Errors, 2, "River kept each failed attempt's error")
		got := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		require.Equal(t, 3, got.Attempts)
		require.Empty(t, got.Error)
		require.Equal(t, []string{
			"PENDING",
			"PENDING attempt 1 failed: capture temporary failure 503: provider busy; retrying",
			"PENDING attempt 2 failed: capture temporary failure 503: provider busy; retrying",
			"DELIVERED delivered by capture (capture-1)",
		}, b.timeline(t, d.ID))
		require.Len(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), 1, "sent once")
		require.Equal(t, 2.0, b.metric(t, "whitecross_delivery_retries_total", map[string]string{"channel": "SMS"}))
		require.Equal(t, 2.0, b.metric(t, "whitecross_provider_send_duration_seconds", map[string]string{"provider": "capture", "outcome": "temporary"}))
		require.Equal(t, 1.0, b.metric(t, "whitecross_provider_send_duration_seconds", map[string]string{"provider": "capture", "outcome": "success"}))
		require.Equal(t, 1.0, b.metric(t, "whitecross_delivery_transitions_total", map[string]string{"channel": "SMS", "status": "DELIVERED"}))
	})
}

func TestExhaustedAttemptsEndFailedAndFallBack(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{MaxAttempts: 3}})
		parent := b.d.LincolnParent
		b.addPushSubscription(t, parent, "https://push.example/send/6")
		b.outbox[whitecross.ChannelEmail].FailNext(3, &whitecross.ProviderError{Provider: "capture", Code: "451", Message: "mailbox busy"})
		in := message("Newsletter", []string{parent.ID})
		in.Channels = []whitecross.Channel{whitecross.ChannelEmail}
		m := b.send(t, in)
		email := b.mustDelivery(t, m.ID, parent, whitecross.ChannelEmail)

		b.driveUntil(t, "email failed", 2*time.Second, func() bool {
			return b.mustDelivery(t, m.ID, parent, whitecross.ChannelEmail).Status == "FAILED"
		})
		e := b.waitDelivered(t, email.ID)
		require.Equal(t, 3, e.Job.Attempt, "the last attempt completes the job instead of discarding it")
		email = b.mustDelivery(t, m.ID, parent, whitecross.ChannelEmail)
		require.Equal(t, 3, email.Attempts)
		require.Equal(t, "gave up after 3 attempts: capture temporary failure 451: mailbox busy", email.Error)
		require.Empty(t, b.outbox[whitecross.ChannelEmail].List(capture.Filter{}))

		// MEDIUM falls back from EMAIL to PUSH.
		push := b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush)
		b.waitDelivered(t, push.ID)
		require.Equal(t, "DELIVERED", b.mustDelivery(t, m.ID, parent, whitecross.ChannelPush).Status)
		require.Equal(t, []string{"PENDING fallback from EMAIL: gave up after 3 attempts: capture temporary failure 451: mailbox busy",
			"DELIVERED delivered by capture (capture-1)"}, b.timeline(t, push.ID))
	})
}

func TestADeliveryIsNotSentAgainWhenItsJobRunsTwice(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(7))
		in := message("Picture day", []string{parent.ID})
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		b.waitDelivered(t, d.ID)
		before := b.timeline(t, d.ID)

		require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			return b.queue.EnqueueDeliveries(ctx, tx, []store.DeliverJob{{TenantID: b.d.Tenant.ID, DeliveryID: d.ID}})
		}))
		b.waitCount(t, "runs of the deliver job", 2, func(e *river.Event) bool {
			return e.Kind == river.EventKindJobCompleted && deliverArgs(t, e).DeliveryID == d.ID
		})
		require.Len(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), 1, "sent once")
		require.Equal(t, 1, b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Attempts)
		require.Equal(t, before, b.timeline(t, d.ID))
	})
}

// TestMetricsCountTheStoresDeliveryEvents: every committed delivery change,
// a worker's outcome or a provider callback's status alike, reaches the
// metrics by one path, the store's post-commit notifier, which also feeds
// realtime: the metrics count exactly the delivery.updated events it hands
// on.
func TestMetricsCountTheStoresDeliveryEvents(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStoppedDeliverBundle(t, db, delivery.QueueConfig{})
		events := make(chan whitecross.Event, 10)
		b.st.SetEventNotifier(func(ctx context.Context, evs []whitecross.Event) {
			b.metrics.ObserveEvents(ctx, evs)
			for _, ev := range evs {
				if ev.Type == whitecross.EventDeliveryUpdated {
					events <- ev
				}
			}
		})
		users := []*whitecross.User{b.d.LincolnParent, b.d.LincolnStaff, b.d.LincolnAdmin}
		var ids []string
		for i, u := range users {
			b.setPhone(t, u, phoneOf(10+i))
			ids = append(ids, u.ID)
		}
		in := message("Picture day", ids)
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		jobs := func(queue, state string) float64 {
			return b.metric(t, "whitecross_queue_jobs", map[string]string{"queue": queue, "state": state})
		}
		require.Equal(t, 3.0, jobs(delivery.QueueDeliver, "available"), "queue depth per lane")
		require.Equal(t, 0.0, jobs(delivery.QueueDeliverUrgent, "available"))
		require.Equal(t, 0.0, b.metric(t, "whitecross_breaker_state", map[string]string{"provider": "capture"}), "closed")

		b.start(t)
		for _, u := range users {
			b.waitDelivered(t, b.mustDelivery(t, m.ID, u, whitecross.ChannelSMS).ID)
		}
		require.Equal(t, 0.0, jobs(delivery.QueueDeliver, "available"))
		transitions := func(status whitecross.DeliveryStatus) float64 {
			return b.metric(t, "whitecross_delivery_transitions_total", map[string]string{"channel": "SMS", "status": string(status)})
		}
		require.Equal(t, 3.0, transitions(whitecross.DeliveryDelivered))
		require.Equal(t, 3.0, b.metric(t, "whitecross_provider_send_duration_seconds", map[string]string{"provider": "capture", "outcome": "success"}))
		seen := map[string]bool{}
		for range users {
			ev := <-events
			require.Equal(t, b.d.Tenant.ID, ev.TenantID)
			require.Equal(t, m.ID, ev.MessageID)
			require.Equal(t, b.d.LincolnNurse.ID, ev.UserID, "to the sender")
			require.Equal(t, whitecross.DeliveryDelivered, ev.Delivery.Status)
			seen[ev.Delivery.RecipientID] = true
		}
		require.Len(t, seen, 3)

		// A provider callback's change takes the same path.
		sms := b.mustDelivery(t, m.ID, b.d.LincolnParent, whitecross.ChannelSMS)
		var providerID string
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(ctx), `SELECT provider_id FROM deliveries WHERE id = $1`, sms.ID).Scan(&providerID))
		change, err := b.st.ApplyProviderStatus(ctx, whitecross.ProviderStatus{Provider: "capture", ProviderID: providerID,
			Status: whitecross.DeliveryFailed, Error: "carrier: unreachable", At: b.clock.Now()})
		require.NoError(t, err)
		require.NotNil(t, change)
		require.Equal(t, 1.0, transitions(whitecross.DeliveryFailed))
		require.Equal(t, sms.ID, (<-events).DeliveryID)

		// A nil *Metrics records nothing.
		var none *delivery.Metrics
		none.ObserveEvents(ctx, []whitecross.Event{{Type: whitecross.EventDeliveryUpdated, Delivery: &whitecross.Delivery{Status: whitecross.DeliveryFailed}}})
	})
}

func TestAProvidersRetryAfterPostponesTheRetry(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{Deliver: delivery.DeliverConfig{RetryBase: time.Second, RetryMax: time.Hour}})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(8))
		b.outbox[whitecross.ChannelSMS].FailNext(1, &whitecross.ProviderError{Provider: "capture", Code: "429", Message: "slow down", RetryAfter: 3 * time.Minute})
		in := message("Picture day", []string{parent.ID})
		in.Channels = []whitecross.Channel{whitecross.ChannelSMS}
		m := b.send(t, in)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		failedAt := b.clock.Now()
		e := b.waitFor(t, "failed attempt", func(e *river.Event) bool {
			return e.Kind == river.EventKindJobFailed && deliverArgs(t, e).DeliveryID == d.ID
		})
		require.Equal(t, failedAt.Add(3*time.Minute), e.Job.ScheduledAt.UTC(), "retried when the provider asked, not after 1 s")

		b.driveUntil(t, "SMS delivered", time.Minute, func() bool {
			return b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Status == "DELIVERED"
		})
		require.False(t, b.clock.Now().Before(failedAt.Add(3*time.Minute)))
	})
}

// TestASendRefusedForSTOPRecordsTheOptOut: when the provider says the
// number texted STOP to our sender (Twilio's 21610), the delivery fails,
// falls back, and the number is recorded as opted out so the next SMS is
// refused before reaching the provider.
func TestASendRefusedForSTOPRecordsTheOptOut(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := newDeliverBundle(t, db, delivery.QueueConfig{})
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(7))
		b.outbox[whitecross.ChannelSMS].FailNext(1, &whitecross.ProviderError{Provider: "twilio", Permanent: true,
			Code: "21610", Message: "recipient has replied STOP to this sender", OptedOut: true})
		sms := []whitecross.Channel{whitecross.ChannelSMS}
		in := message("Picture day", []string{parent.ID})
		in.Channels = sms
		m := b.send(t, in)
		b.waitDelivered(t, b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).ID)
		require.Equal(t, "FAILED", b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Status)
		var source string
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT source FROM phone_opt_outs WHERE phone = $1`, phoneOf(7)).Scan(&source))
		require.Equal(t, "twilio:21610", source)

		in = message("Book fair", []string{parent.ID})
		in.Channels = sms
		m = b.send(t, in)
		d := b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS)
		b.waitDelivered(t, d.ID)
		require.Equal(t, "number opted out (STOP)", b.mustDelivery(t, m.ID, parent, whitecross.ChannelSMS).Error)
		require.Empty(t, b.outbox[whitecross.ChannelSMS].List(capture.Filter{}), "nothing reached the provider")
	})
}
