package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/api"
	"whitecross/store/storetest"
)

// TestAcknowledgement: a message sent with ack_requested and escalation
// says so; its recipients acknowledge it with PUT /ack (204, again 204, the
// first time kept), anyone else gets 404; the sender sees ack_summary and
// lists who has acknowledged by status and page, a recipient gets 403.
func TestAcknowledgement(t *testing.T) {
	t.Parallel()
	forEachDialectAt(t, func(t *testing.T, b *bundle, clock *storetest.Clock) {
		d := b.d
		nurse, parent, staff := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent), b.token(t, d, d.LincolnStaff)
		admin := b.token(t, d, d.Admin)
		m := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID, d.LincolnStaff.ID, d.AnnexStaff.ID},
			"subject": "Lockdown lifted", "body": "Please confirm you saw this.", "channels": []string{"EMAIL"}, "ack_requested": true,
			"escalation": map[string]any{"after_minutes": 10, "channels": []string{"SMS", "VOICE"}, "repeat": 2, "other_guardians": true}})
		require.True(t, m.AckRequested)
		require.Nil(t, m.AckedAt)
		require.Equal(t, &api.AckSummary{Requested: 3, Acked: 0}, m.AckSummary)
		require.Equal(t, &api.Escalation{AfterMinutes: 10, Channels: []string{"SMS", "VOICE"}, Repeat: 2, OtherGuardians: true}, m.Escalation)

		path := "/api/v1/messages/" + m.ID + "/ack"
		clock.Advance(time.Minute)
		first := clock.Now()
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path))
		clock.Advance(time.Minute)
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path), "idempotent")
		var got api.Message
		b.get(t, parent, "/api/v1/messages/"+m.ID, &got)
		require.NotNil(t, got.AckedAt)
		require.True(t, got.AckedAt.Equal(first), "the first time is kept")
		require.NotNil(t, got.ReadAt)
		require.Nil(t, got.AckSummary, "recipients see no counts")
		require.Equal(t, m.Escalation, got.Escalation, "recipients see what not acknowledging leads to")

		// Not a recipient: 404, the sender and an admin included.
		for _, tok := range []string{nurse, admin, b.token(t, d, d.LincolnAdmin), b.token(t, b.other, b.other.LincolnParent)} {
			res := b.do(t, req{method: "PUT", path: path, token: tok})
			require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
			res.problem(t)
		}
		require.Equal(t, http.StatusNotFound, b.status(t, parent, "PUT", "/api/v1/messages/nope/ack"))
		require.Equal(t, http.StatusUnauthorized, b.status(t, "", "PUT", path))
		plain := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "FYI", "body": "b"})
		require.False(t, plain.AckRequested)
		require.Nil(t, plain.AckSummary)
		require.Nil(t, plain.Escalation)
		res := b.do(t, req{method: "PUT", path: "/api/v1/messages/" + plain.ID + "/ack", token: parent})
		require.Equal(t, http.StatusConflict, res.status)
		res.problem(t)

		require.Equal(t, http.StatusNoContent, b.status(t, staff, "PUT", path))
		b.get(t, nurse, "/api/v1/messages/"+m.ID, &got)
		require.Equal(t, &api.AckSummary{Requested: 3, Acked: 2}, got.AckSummary)
		b.get(t, admin, "/api/v1/messages/"+m.ID, &got)
		require.Equal(t, &api.AckSummary{Requested: 3, Acked: 2}, got.AckSummary, "admins see the counts")

		// The listing: by status, by name, in pages.
		acks := "/api/v1/messages/" + m.ID + "/acks"
		var page api.AckPage
		b.get(t, nurse, acks+"?status=acked", &page)
		require.Len(t, page.Items, 2)
		require.Equal(t, api.AckSummary{Requested: 3, Acked: 2}, page.AckSummary)
		require.Equal(t, d.LincolnParent.ID, page.Items[0].UserID, "Pat before Sam")
		require.Equal(t, d.LincolnParent.Name, page.Items[0].Name)
		require.True(t, page.Items[0].AckedAt.Equal(first))
		require.Nil(t, page.NextCursor)
		b.get(t, nurse, acks+"?status=pending", &page)
		require.Len(t, page.Items, 1)
		require.Equal(t, d.AnnexStaff.ID, page.Items[0].UserID)
		require.Nil(t, page.Items[0].AckedAt)
		b.get(t, nurse, acks+"?limit=2", &page)
		require.Len(t, page.Items, 2)
		require.NotNil(t, page.NextCursor)
		seen := []string{page.Items[0].UserID, page.Items[1].UserID}
		b.get(t, admin, acks+"?limit=2&cursor="+*page.NextCursor, &page)
		require.Len(t, page.Items, 1)
		require.Nil(t, page.NextCursor)
		require.ElementsMatch(t, []string{d.LincolnParent.ID, d.LincolnStaff.ID, d.AnnexStaff.ID}, append(seen, page.Items[0].UserID))

		for _, c := range []struct {
			token, query string
			status       int
			location     string
		}{
			{parent, "", http.StatusForbidden, ""},
			{b.token(t, d, d.WashingtonNurse), "", http.StatusNotFound, ""},
			{nurse, "?status=maybe", http.StatusUnprocessableEntity, "query.status"},
			{nurse, "?cursor=garbage", http.StatusUnprocessableEntity, "query.cursor"},
			{nurse, "?limit=101", http.StatusUnprocessableEntity, "query.limit"},
		} {
			res := b.do(t, req{method: "GET", path: acks + c.query, token: c.token})
			require.Equal(t, c.status, res.status, "%s: %s", c.query, res.body)
			p := res.problem(t)
			if c.location != "" {
				require.Equal(t, c.location, p.Errors[0].Location)
			}
		}
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + plain.ID + "/acks", token: nurse})
		require.Equal(t, http.StatusConflict, res.status)

		// The sender's progress counts them, and the delivery export says when.
		var progress api.BroadcastReport
		b.get(t, nurse, "/api/v1/messages/"+m.ID+"/report", &progress)
		require.Equal(t, 2, progress.Acked)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/delivery.csv", token: nurse})
		require.Equal(t, http.StatusOK, res.status)
		rows, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, "acked_at", rows[0][9])
		acked := map[string]string{}
		for _, r := range rows[1:] {
			acked[r[0]] = r[9]
		}
		require.Equal(t, first.UTC().Format(time.RFC3339), acked[d.LincolnParent.ID])
		require.Equal(t, "", acked[d.AnnexStaff.ID])

		// Deliveries say what kind of attempt they are.
		var rep api.DeliveryReport
		b.get(t, nurse, "/api/v1/messages/"+m.ID+"/delivery", &rep)
		require.NotEmpty(t, rep.Items)
		for _, it := range rep.Items {
			require.Equal(t, "INITIAL", it.AttemptKind)
		}
	})
}

// TestAcknowledgementRequestProblems: every invalid escalation is 422
// naming its field, and stores nothing.
func TestAcknowledgementRequestProblems(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse := b.token(t, d, d.LincolnNurse)
		before := b.rows(t, "messages")
		valid := func() map[string]any {
			return map[string]any{"after_minutes": 10, "channels": []string{"SMS"}}
		}
		with := func(k string, v any) map[string]any {
			e := valid()
			e[k] = v
			return e
		}
		for _, c := range []struct {
			ack        bool
			escalation any
			location   string
		}{
			{false, valid(), "body.escalation"},
			{true, with("after_minutes", 0), "body.escalation.after_minutes"},
			{true, with("after_minutes", 1441), "body.escalation.after_minutes"},
			{true, with("repeat", 6), "body.escalation.repeat"},
			{true, with("repeat", -1), "body.escalation.repeat"},
			{true, with("channels", []string{}), "body.escalation.channels"},
			{true, with("channels", []string{"IN_APP"}), "body.escalation.channels[0]"},
			{true, map[string]any{"channels": []string{"SMS"}}, "body.escalation.after_minutes"},
		} {
			res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: map[string]any{
				"recipient_ids": []string{d.LincolnParent.ID}, "subject": "s", "body": "b",
				"ack_requested": c.ack, "escalation": c.escalation}})
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%v: %s", c.escalation, res.body)
			p := res.problem(t)
			var locations []string
			for _, e := range p.Errors {
				locations = append(locations, e.Location)
			}
			require.Contains(t, locations, c.location, "%s", res.body)
		}
		require.Equal(t, before, b.rows(t, "messages"), "nothing stored")
	})
}
