package delivery_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

// sentBy sends a message to u on channel c and records its delivery as
// accepted by provider with providerID (what a deliver job records).
func (b *deliverBundle) sentBy(t *testing.T, u *whitecross.User, c whitecross.Channel, provider, providerID string) string {
	t.Helper()
	in := message("Picture day", []string{u.ID})
	in.Channels = []whitecross.Channel{c}
	id := b.mustDelivery(t, b.send(t, in).ID, u, c).ID
	_, err := b.st.RecordDeliveryOutcome(context.Background(), b.d.Tenant.ID, id,
		whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: provider, ProviderID: providerID})
	require.NoError(t, err)
	return id
}

// optOutSource is the source of a number's recorded opt-out, "" for none.
func (b *deliverBundle) optOutSource(t *testing.T, phone string) string {
	t.Helper()
	var source string
	err := b.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT source FROM phone_opt_outs WHERE phone = $1`, phone).Scan(&source)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return ""
	}
	require.NoError(t, err)
	return source
}

// TestCallbacksDecideWhatReportsMean: a provider's report moves the
// delivery it names forward only; an SMS refused for STOP records the
// opt-out by the rule a refused send follows (source "twilio:21610", SMS
// only); an email event suppresses the address; an address that is none
// is skipped, not an error.
func TestCallbacksDecideWhatReportsMean(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newStoppedDeliverBundle(t, db, delivery.QueueConfig{})
		cb := &delivery.Callbacks{Store: b.st}
		parent := b.d.LincolnParent
		b.setPhone(t, parent, phoneOf(21))
		sms := b.sentBy(t, parent, whitecross.ChannelSMS, "twilio", "SM1")

		out, err := cb.SendReported(ctx, whitecross.SendReport{Provider: "twilio", ProviderID: "SM1", Channel: whitecross.ChannelSMS,
			Status: whitecross.DeliveryDelivered, To: phoneOf(21)})
		require.NoError(t, err)
		require.Equal(t, whitecross.ReportOutcome{Changed: true}, out)
		out, err = cb.SendReported(ctx, whitecross.SendReport{Provider: "twilio", ProviderID: "SM1", Channel: whitecross.ChannelSMS,
			Status: whitecross.DeliverySent})
		require.NoError(t, err)
		require.False(t, out.Changed, "never backwards")
		require.Equal(t, "DELIVERED", b.mustDelivery(t, b.messageOf(t, sms), parent, whitecross.ChannelSMS).Status)

		// Refused for STOP: the opt-out, as for a refused send.
		b.sentBy(t, parent, whitecross.ChannelSMS, "twilio", "SM2")
		out, err = cb.SendReported(ctx, whitecross.SendReport{Provider: "twilio", ProviderID: "SM2", Channel: whitecross.ChannelSMS,
			Status: whitecross.DeliveryFailed, Error: "Twilio: failed (error 21610)", Code: "21610", OptedOut: true, To: phoneOf(21)})
		require.NoError(t, err)
		require.Equal(t, whitecross.ReportOutcome{Changed: true, OptedOut: true}, out)
		require.Equal(t, "twilio:21610", b.optOutSource(t, phoneOf(21)))
		// A call is another consent; an SMS without a number records nothing.
		for _, r := range []whitecross.SendReport{
			{Provider: "twilio", ProviderID: "CA9", Channel: whitecross.ChannelVoice, OptedOut: true, Code: "21610", To: phoneOf(22)},
			{Provider: "twilio", ProviderID: "SM9", Channel: whitecross.ChannelSMS, OptedOut: true, Code: "21610"},
		} {
			out, err = cb.SendReported(ctx, r)
			require.NoError(t, err)
			require.Equal(t, whitecross.ReportOutcome{}, out)
		}
		require.Empty(t, b.optOutSource(t, phoneOf(22)))
		_, err = cb.SendReported(ctx, whitecross.SendReport{Provider: "twilio", ProviderID: "SM9", Channel: whitecross.ChannelSMS,
			OptedOut: true, Code: "21610", To: "12345"})
		require.NoError(t, err, "a number that is none is skipped")

		// Email: suppression and status; an address that is none is skipped.
		email := b.sentBy(t, parent, whitecross.ChannelEmail, "smtp", "<m1@springfield.example>")
		out, err = cb.SendReported(ctx, whitecross.SendReport{Provider: "smtp", ProviderID: "<m1@springfield.example>",
			Channel: whitecross.ChannelEmail, Status: whitecross.DeliveryBounced, Error: "email bounced (hard bounce)",
			To: parent.Email, Suppress: "bounce"})
		require.NoError(t, err)
		require.Equal(t, whitecross.ReportOutcome{Changed: true, Suppressed: true}, out)
		task, err := b.st.LoadDeliveryTask(ctx, b.d.Tenant.ID, email)
		require.NoError(t, err)
		require.True(t, task.Recipient.EmailSuppressed)
		out, err = cb.SendReported(ctx, whitecross.SendReport{Provider: "smtp", Channel: whitecross.ChannelEmail, To: "not an address", Suppress: "bounce"})
		require.NoError(t, err)
		require.Equal(t, whitecross.ReportOutcome{}, out)

		// Inbound SMS: START clears, STOP records, others change nothing.
		require.NoError(t, cb.SMSReceived(ctx, whitecross.InboundSMS{From: phoneOf(21), Keyword: whitecross.SMSStart}))
		require.Empty(t, b.optOutSource(t, phoneOf(21)))
		require.NoError(t, cb.SMSReceived(ctx, whitecross.InboundSMS{From: phoneOf(21), Keyword: whitecross.SMSHelp}))
		require.Empty(t, b.optOutSource(t, phoneOf(21)))
		require.NoError(t, cb.SMSReceived(ctx, whitecross.InboundSMS{From: phoneOf(21), Keyword: whitecross.SMSStop}))
		require.Equal(t, "STOP", b.optOutSource(t, phoneOf(21)))
		require.NoError(t, cb.SMSReceived(ctx, whitecross.InboundSMS{From: "12345", Keyword: whitecross.SMSStop}), "a short code is skipped")
	})
}

// messageOf is the message of a delivery.
func (b *deliverBundle) messageOf(t *testing.T, deliveryID string) string {
	t.Helper()
	var id string
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()), `SELECT message_id FROM deliveries WHERE id = $1`, deliveryID).Scan(&id))
	return id
}
