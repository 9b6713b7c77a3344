package realtime_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/wire"
)

// TestAckReceived: a recipient's PUT /ack tells the sender, live, with the
// durable ack.received frame {message_id, user_id, acked_at} (after the
// receipt.read the acknowledgement's read causes); acknowledging again
// tells nobody; the frame is replayed to a client that resumes from
// before it. The recipient's message.created frame says it asks for
// acknowledgement.
func TestAckReceived(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		parent := b.connect(t, b.first, d.LincolnParent)
		m, err := b.first.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "Early pickup",
			Body: "Please acknowledge.", RecipientIDs: []string{d.LincolnParent.ID}, AckRequested: true})
		require.NoError(t, err)
		nurse.messageCreated(t)
		_, arrived := parent.messageCreated(t)
		require.True(t, arrived.AckRequested, "the recipient's frame asks for it")
		require.Nil(t, arrived.AckedAt)

		token := b.login(t, b.first, d.LincolnParent).AccessToken
		put := func() {
			req, err := http.NewRequest(http.MethodPut, b.first.url+"/api/v1/messages/"+m.ID+"/ack", nil)
			require.NoError(t, err)
			req.Header = bearer(token)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusNoContent, res.StatusCode)
		}
		b.clock.Advance(time.Minute)
		at := b.clock.Now().UTC()
		put()
		require.EqualValues(t, 2, nurse.nextOf(t, string(whitecross.EventReceiptRead)).Seq, "acknowledging reads it")
		f := nurse.nextOf(t, string(whitecross.EventAckReceived))
		require.EqualValues(t, 3, f.Seq, "after message.created and receipt.read")
		var got wire.AckReceived
		f.decode(t, &got)
		require.Equal(t, wire.AckReceived{MessageID: m.ID, UserID: d.LincolnParent.ID, AckedAt: at}, got)

		b.clock.Advance(time.Minute)
		put()
		require.Empty(t, nurse.sync(t), "acknowledging again tells nobody")

		again := b.dial(t, b.first, dialer{header: bearer(b.login(t, b.first, d.LincolnNurse).AccessToken), resume: ptr(int64(2))})
		r := again.nextOf(t, string(whitecross.EventAckReceived))
		require.EqualValues(t, 3, r.Seq)
		var replayed wire.AckReceived
		r.decode(t, &replayed)
		require.Equal(t, got, replayed, "the same frame replayed")
	})
}
