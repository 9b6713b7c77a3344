package sendgrid_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/sendgrid"
)

// sampleBatch is a batch in the shape of SendGrid's Event Webhook
// reference: one email's life, plus events for other emails and an
// element that is not an event.
const sampleBatch = `[
 {"email":"parent@example.org","timestamp":1772460000,"smtp-id":"<0197a1b2-0000-7000-8000-000000000001@district.example>","event":"processed","category":["cat facts"],"sg_event_id":"e1","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},
 {"email":"parent@example.org","timestamp":1772460001,"smtp-id":"<0197a1b2-0000-7000-8000-000000000001@district.example>","event":"deferred","response":"400 try again later","attempt":"5","sg_event_id":"e2"},
 {"email":"parent@example.org","timestamp":1772460002,"smtp-id":"<0197a1b2-0000-7000-8000-000000000001@district.example>","event":"delivered","response":"250 OK","sg_event_id":"e3"},
 {"email":"Nobody@Example.org","timestamp":1772460003,"smtp-id":"0197a1b2-0000-7000-8000-000000000002@district.example","event":"bounce","bounce_classification":"Invalid Address","reason":"550 5.1.1 <Nobody@Example.org>: Recipient address rejected","status":"5.1.1","type":"bounce","sg_event_id":"e4"},
 {"email":"x@example.org","timestamp":1772460004,"smtp-id":"<id3@district.example>","event":"bounce","reason":"554 rejected due to IP reputation","status":"5.7.1","type":"blocked","sg_event_id":"e5"},
 {"email":"y@example.org","timestamp":1772460005,"event":"dropped","reason":"Bounced Address","status":"5.0.0","sg_event_id":"e6"},
 {"email":"z@example.org","timestamp":1772460006,"smtp-id":"<id5@district.example>","event":"spamreport","sg_event_id":"e7"},
 {"email":"w@example.org","timestamp":1772460007,"event":"group_unsubscribe","asm_group_id":10,"sg_event_id":"e8"},
 {"email":"v@example.org","timestamp":"not a number","event":"open","smtp-id":"<id6@district.example>"},
 "not an event",
 {"no":"event type"}
]`

func TestParseEventsReadsSendGridBatch(t *testing.T) {
	t.Parallel()
	events, err := sendgrid.ParseEvents([]byte(sampleBatch))
	require.NoError(t, err)
	require.Len(t, events, 9, "the elements that are no events are skipped, the rest kept")

	require.Equal(t, sendgrid.Event{
		Type: "processed", Email: "parent@example.org", At: time.Unix(1772460000, 0).UTC(),
		MessageID: "<0197a1b2-0000-7000-8000-000000000001@district.example>",
	}, events[0])

	bounce := events[3]
	require.Equal(t, "bounce", bounce.Type)
	require.Equal(t, sendgrid.BounceHard, bounce.BounceType)
	require.Equal(t, "Nobody@Example.org", bounce.Email)
	require.Equal(t, "<0197a1b2-0000-7000-8000-000000000002@district.example>", bounce.MessageID,
		"an smtp-id without brackets gets them, to match the provider id")
	require.Equal(t, "5.1.1", bounce.Status)

	require.Empty(t, events[6].Status)
	require.Empty(t, events[7].MessageID)
	require.Equal(t, "open", events[8].Type, "an event with an odd timestamp is kept")
	require.True(t, events[8].At.IsZero())
}

func TestParseEventsRefusesNonArrays(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `{}`, `{"event":"delivered"}`, `[{"event":"delivered"}`, `null x`} {
		_, err := sendgrid.ParseEvents([]byte(body))
		require.Error(t, err, body)
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), body)
	}
	events, err := sendgrid.ParseEvents([]byte(`[]`))
	require.NoError(t, err)
	require.Empty(t, events)
}

func TestEventEffects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		ev   sendgrid.Event
		want sendgrid.Effect
	}{
		{"processed", sendgrid.Event{Type: "processed"}, sendgrid.Effect{}},
		{"deferred", sendgrid.Event{Type: "deferred"}, sendgrid.Effect{}},
		{"delivered", sendgrid.Event{Type: "delivered"}, sendgrid.Effect{Status: whitecross.DeliveryDelivered}},
		{"open", sendgrid.Event{Type: "open"}, sendgrid.Effect{Status: whitecross.DeliveryDelivered}},
		{"click", sendgrid.Event{Type: "click"}, sendgrid.Effect{Status: whitecross.DeliveryDelivered}},
		{"hard bounce", sendgrid.Event{Type: "bounce", BounceType: "bounce", Status: "5.1.1", Reason: "550 <a@b.example> unknown"},
			sendgrid.Effect{Status: whitecross.DeliveryBounced, Suppress: "bounce", Error: "email bounced (hard bounce) (5.1.1)"}},
		{"bounce without type", sendgrid.Event{Type: "bounce"},
			sendgrid.Effect{Status: whitecross.DeliveryBounced, Suppress: "bounce", Error: "email bounced (hard bounce)"}},
		{"blocked", sendgrid.Event{Type: "bounce", BounceType: "blocked", Status: "5.7.1"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Error: "email blocked by the receiving server (5.7.1)"}},
		{"dropped bounced address", sendgrid.Event{Type: "dropped", Reason: "Bounced Address"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Suppress: "bounce", Error: "email dropped by SendGrid: bounced address"}},
		{"dropped spam reporter", sendgrid.Event{Type: "dropped", Reason: "Spam Reporting Address"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Suppress: "complaint", Error: "email dropped by SendGrid: spam reporting address"}},
		{"dropped unsubscribed", sendgrid.Event{Type: "dropped", Reason: "Unsubscribed Address"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Suppress: "unsubscribe", Error: "email dropped by SendGrid: unsubscribed address"}},
		{"dropped invalid", sendgrid.Event{Type: "dropped", Reason: "Invalid"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Suppress: "invalid", Error: "email dropped by SendGrid: invalid"}},
		{"dropped for content", sendgrid.Event{Type: "dropped", Reason: "Spam Content"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Error: "email dropped by SendGrid: spam content"}},
		{"dropped for an unknown reason", sendgrid.Event{Type: "dropped", Reason: "Mailbox a@b.example is weird"},
			sendgrid.Effect{Status: whitecross.DeliveryFailed, Error: "email dropped by SendGrid"}},
		{"spam report", sendgrid.Event{Type: "spamreport"},
			sendgrid.Effect{Status: whitecross.DeliveryBounced, Suppress: "complaint", Error: "recipient reported the email as spam"}},
		{"unsubscribe", sendgrid.Event{Type: "unsubscribe"}, sendgrid.Effect{Suppress: "unsubscribe"}},
		{"group unsubscribe", sendgrid.Event{Type: "group_unsubscribe"}, sendgrid.Effect{Suppress: "unsubscribe"}},
		{"group resubscribe", sendgrid.Event{Type: "group_resubscribe"}, sendgrid.Effect{}},
	} {
		got := c.ev.Effect()
		require.Equal(t, c.want, got, c.name)
		require.NotContains(t, got.Error, "@", "%s: the error text never carries an address", c.name)
	}
}

func TestParseEventsKeepsErrorTextsFreeOfAddresses(t *testing.T) {
	t.Parallel()
	events, err := sendgrid.ParseEvents([]byte(sampleBatch))
	require.NoError(t, err)
	for _, ev := range events {
		eff := ev.Effect()
		require.False(t, strings.Contains(eff.Error, "@") || strings.Contains(strings.ToLower(eff.Error), "example.org"), eff.Error)
	}
}
