package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestLiveFramesAreAuditedReads: a message.created frame is a read of the
// message by the connected recipient, recorded as message.read via live
// within a tick; a recipient without a connection read nothing.
func TestLiveFramesAreAuditedReads(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		parent := b.connect(t, b.first, d.LincolnParent)
		m := b.send(t, b.first, d.LincolnNurse, "Flu clinic", d.LincolnParent, d.LincolnStaff)
		_, got := parent.messageCreated(t)
		require.Equal(t, m.ID, got.ID)
		require.Eventually(t, func() bool {
			events, err := b.first.st.AuditEvents(context.Background(), d.Tenant.ID, 0, 10_000)
			require.NoError(t, err)
			var live []*whitecross.AuditEvent
			for _, e := range events {
				if e.Action == whitecross.AuditMessageRead && e.Detail["via"] == "live" {
					live = append(live, e)
				}
			}
			if len(live) == 0 {
				return false
			}
			require.Len(t, live, 1, "only the connected recipient read it")
			require.Equal(t, d.LincolnParent.ID, live[0].ActorID)
			require.Equal(t, m.ID, live[0].TargetID)
			return true
		}, waitFor, 10*time.Millisecond)
	})
}

// TestMessageCreated: a message reaches every recipient's connections and
// every tab of its sender, each with its user's next seq and the message
// as that user sees it.
func TestMessageCreated(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurseTab1 := b.connect(t, b.first, d.LincolnNurse)
		nurseTab2 := b.connect(t, b.first, d.LincolnNurse)
		staff := b.connect(t, b.first, d.LincolnStaff)
		parent := b.connect(t, b.first, d.LincolnParent)
		var h helloData
		staff.hello.decode(t, &h)
		require.Zero(t, h.LastSeq, "a new user's stream starts at 0")

		m := b.send(t, b.first, d.LincolnNurse, "Vision screening", d.LincolnStaff, d.LincolnParent)
		for _, c := range []struct {
			client *client
			user   *whitecross.User
		}{{staff, d.LincolnStaff}, {parent, d.LincolnParent}} {
			f, got := c.client.messageCreated(t)
			require.EqualValues(t, 1, f.Seq)
			require.Equal(t, m.ID, got.ID)
			require.Equal(t, "Vision screening", got.Subject)
			require.Equal(t, "Body of Vision screening", got.Body)
			require.Equal(t, []string{c.user.ID}, got.RecipientIDs, "a recipient sees only their own id")
			require.Nil(t, got.ReadCount)
			require.Equal(t, d.LincolnNurse.ID, got.Sender.ID)
			require.Equal(t, string(whitecross.MessageSent), got.Status)
		}
		for _, tab := range []*client{nurseTab1, nurseTab2} {
			f, got := tab.messageCreated(t)
			require.EqualValues(t, 1, f.Seq)
			require.Equal(t, m.ID, got.ID)
			require.ElementsMatch(t, []string{d.LincolnStaff.ID, d.LincolnParent.ID}, got.RecipientIDs, "the sender sees every recipient")
			require.NotNil(t, got.ReadCount)
		}

		// The next message continues each user's sequence; nobody else
		// (the parent was not addressed) hears of it.
		m2 := b.send(t, b.first, d.LincolnNurse, "Hearing screening", d.LincolnStaff)
		f, got := staff.messageCreated(t)
		require.EqualValues(t, 2, f.Seq)
		require.Equal(t, m2.ID, got.ID)
		require.Empty(t, parent.sync(t))

		// A new connection's hello names the latest seq.
		again := b.connect(t, b.first, d.LincolnStaff)
		again.hello.decode(t, &h)
		require.EqualValues(t, 2, h.LastSeq)
	})
}

// TestReceiptRead: a recipient's read frame marks the message read as
// PUT /read does and tells the sender once, on the unread -> read change.
func TestReceiptRead(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		staff := b.connect(t, b.first, d.LincolnStaff)
		m := b.send(t, b.first, d.LincolnNurse, "Allergy plan", d.LincolnStaff)
		nurse.messageCreated(t)
		staff.messageCreated(t)

		staff.send(t, "read", map[string]string{"message_id": m.ID})
		f := nurse.nextOf(t, "receipt.read")
		require.EqualValues(t, 2, f.Seq)
		var r receiptData
		f.decode(t, &r)
		require.Equal(t, receiptData{MessageID: m.ID, UserID: d.LincolnStaff.ID, ReadAt: b.clock.Now().UTC()}, r)
		got, err := b.first.st.FindMessageByID(d.As(d.LincolnStaff), m.ID)
		require.NoError(t, err)
		require.NotNil(t, got.ReadAt, "the read frame marked it read")

		// Reading again, and reads the user may not make, tell nobody and
		// do not close the connection.
		staff.send(t, "read", map[string]string{"message_id": m.ID})
		staff.send(t, "read", map[string]string{"message_id": "0197a0b8-2c1d-7e5f-8a9b-0c1d2e3f4a5b"})
		nurse.send(t, "read", map[string]string{"message_id": m.ID})
		require.Empty(t, staff.sync(t))
		require.Empty(t, nurse.sync(t))
	})
}

// TestDeliveryUpdated: a delivery change in the sender's log is pushed as
// delivery.updated with the delivery's state.
func TestDeliveryUpdated(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		m, err := b.first.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "Flu shots", Body: "Friday",
			RecipientIDs: []string{d.LincolnStaff.ID}, Channels: []whitecross.Channel{whitecross.ChannelEmail}})
		require.NoError(t, err)
		nurse.messageCreated(t)
		rep, err := b.first.st.Deliveries(d.As(d.LincolnNurse), m.ID)
		require.NoError(t, err)
		var email *whitecross.Delivery
		for _, it := range rep.Items {
			if it.Channel == whitecross.ChannelEmail {
				email = it
			}
		}
		require.NotNil(t, email)

		// A failed attempt that will be retried (the delivery stays
		// PENDING) appends delivery.updated as the pipeline records it.
		_, err = b.first.st.RecordDeliveryOutcome(context.Background(), d.Tenant.ID, email.ID, whitecross.DeliveryOutcome{Error: "timeout"})
		require.NoError(t, err)
		f := nurse.nextOf(t, "delivery.updated")
		require.EqualValues(t, 2, f.Seq)
		var got deliveryData
		f.decode(t, &got)
		require.Equal(t, m.ID, got.MessageID)
		require.Equal(t, email.ID, got.Delivery.ID)
		require.Equal(t, d.LincolnStaff.ID, got.Delivery.RecipientID)
		require.Equal(t, string(whitecross.ChannelEmail), got.Delivery.Channel)
		require.Equal(t, string(whitecross.DeliveryPending), got.Delivery.Status)
		require.Equal(t, 1, got.Delivery.Attempts)

		// It is durable: a resume from before it replays it, the delivery
		// read from the store this time.
		again := b.dial(t, b.first, dialer{header: bearer(b.login(t, b.first, d.LincolnNurse).AccessToken), resume: ptr(int64(1))})
		f = again.nextOf(t, "delivery.updated")
		require.EqualValues(t, 2, f.Seq)
		var replayed deliveryData
		f.decode(t, &replayed)
		require.Equal(t, got, replayed)
	})
}

func ptr[T any](v T) *T { return &v }

// TestReplies: a reply reaches the original's sender and the replier's
// other tabs, in the thread.
func TestReplies(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		parentTab := b.connect(t, b.first, d.LincolnParent)
		orig := b.send(t, b.first, d.LincolnNurse, "Inhaler", d.LincolnParent)
		nurse.messageCreated(t)
		parentTab.messageCreated(t)
		reply, err := b.first.st.Reply(d.As(d.LincolnParent), orig.ID, &whitecross.ReplyCreate{Body: "Thanks, signed."})
		require.NoError(t, err)
		// Replying reads the original: the nurse hears that first.
		f := nurse.nextOf(t, "receipt.read")
		require.EqualValues(t, 2, f.Seq)
		for c, seq := range map[*client]int64{nurse: 3, parentTab: 2} {
			f, got := c.messageCreated(t)
			require.EqualValues(t, seq, f.Seq)
			require.Equal(t, reply.ID, got.ID)
			require.Equal(t, orig.ThreadID, got.ThreadID)
			require.Equal(t, "Thanks, signed.", got.Body)
		}
	})
}

// TestSensitiveMessageCreatedCarriesNoBody: the live frame of a sensitive
// message, to its recipients and to the sender's tabs, carries the subject
// and the sensitive marker only; the app fetches the (audited) detail.
func TestSensitiveMessageCreatedCarriesNoBody(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		parent := b.connect(t, b.first, d.LincolnParent)
		m, err := b.first.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "Sofia used her inhaler",
			Body: "Two puffs of albuterol at recess", Sensitive: new(true), RecipientIDs: []string{d.LincolnParent.ID},
			Attachments: []whitecross.Attachment{{URL: "https://files.example.org/asthma-plan.pdf", Name: "asthma-plan.pdf"}}})
		require.NoError(t, err)
		for _, c := range []*client{parent, nurse} {
			f, got := c.messageCreated(t)
			require.NotContains(t, string(f.Data), "albuterol")
			require.NotContains(t, string(f.Data), "asthma-plan")
			require.Equal(t, m.ID, got.ID)
			require.Equal(t, "Sofia used her inhaler", got.Subject)
			require.True(t, got.Sensitive)
			require.Empty(t, got.Body)
			require.Empty(t, got.Attachments)
		}
	})
}
