package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
)

// TestBroadcastOverHTTP: an admin previews and sends to the guardians of
// one school; the answer carries the audience as given and no recipients
// until dispatch, which the test store does inline; a guardian's preview or
// send is 403 naming body.audience, and a shapeless audience 422.
func TestBroadcastOverHTTP(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		admin, nurse, parent := b.token(t, d, d.Admin), b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		aud := map[string]any{"location_ids": []string{d.Lincoln.ID}, "roles": []string{"GUARDIAN"}}

		res := b.do(t, req{method: "POST", path: "/api/v1/audiences/preview", token: admin, body: aud})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var p api.AudiencePreview
		res.decode(t, &p)
		require.Equal(t, 2, p.Count, "LincolnParent and AnnexParent; never the non-custodial parent")
		require.Equal(t, map[string]int{"GUARDIAN": 2}, p.ByRole)
		require.Equal(t, 2, p.Reachable["EMAIL"])
		require.Contains(t, p.Reachable, "PUSH")

		res = b.do(t, req{method: "POST", path: "/api/v1/messages", token: admin, body: map[string]any{
			"subject": "Early dismissal", "body": "School closes at noon.", "audience": aud}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var m api.Message
		res.decode(t, &m)
		require.NotNil(t, m.Audience)
		require.Equal(t, []string{d.Lincoln.ID}, m.Audience.LocationIDs)
		require.Equal(t, []string{"GUARDIAN"}, m.Audience.Roles)

		got := b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID, token: parent})
		require.Equal(t, http.StatusOK, got.status, "the guardian received it: %s", got.body)
		got.decode(t, &m)
		require.Equal(t, 2, m.RecipientCount)

		// The sender's report, the unreached and the export, once the
		// guardian has read it.
		require.Equal(t, http.StatusNoContent, b.do(t, req{method: "PUT", path: "/api/v1/messages/" + m.ID + "/read", token: parent}).status)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/report", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var rep api.BroadcastReport
		res.decode(t, &rep)
		require.Equal(t, api.BroadcastReport{MessageID: m.ID, Status: "SENT", RecipientCount: 2, InApp: 2, Read: 1, NotReached: 1,
			Channels: map[string]api.ChannelProgress{}}, rep, "the guardian read it; the other has not")
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/unreached", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var un api.UnreachedPage
		res.decode(t, &un)
		require.Len(t, un.Items, 1)
		require.Equal(t, d.AnnexParent.ID, un.Items[0].UserID)
		require.Equal(t, "In the app, not opened yet.", un.Items[0].Reason)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/recipients?limit=1", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var page api.RecipientPage
		res.decode(t, &page)
		require.Len(t, page.Items, 1)
		require.NotNil(t, page.NextCursor, "two recipients, a page of one")
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/recipients?limit=1&cursor=" + *page.NextCursor, token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var last api.RecipientPage
		res.decode(t, &last)
		require.Len(t, last.Items, 1)
		require.Nil(t, last.NextCursor)
		read := map[string]bool{page.Items[0].UserID: page.Items[0].ReadAt != nil, last.Items[0].UserID: last.Items[0].ReadAt != nil}
		require.Equal(t, map[string]bool{d.LincolnParent.ID: true, d.AnnexParent.ID: false}, read)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/recipients", token: parent})
		require.Equal(t, http.StatusForbidden, res.status, "a recipient gets no list: %s", res.body)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/delivery.csv", token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
		lines := strings.Split(strings.TrimSpace(string(res.body)), "\n")
		require.Equal(t, "recipient_id,name,role,channel,status,error,sent_at,delivered_at,read_at,acked_at", lines[0])
		require.Len(t, lines, 3)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID + "/delivery.csv", token: parent})
		require.Equal(t, http.StatusForbidden, res.status, "a recipient gets no export: %s", res.body)
		require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))

		res = b.do(t, req{method: "POST", path: "/api/v1/messages", token: parent, body: map[string]any{
			"subject": "s", "body": "b", "audience": map[string]any{"everyone": true}}})
		requireProblemField(t, res, http.StatusForbidden, "body.audience")
		res = b.do(t, req{method: "POST", path: "/api/v1/audiences/preview", token: parent, body: map[string]any{"everyone": true}})
		requireProblemField(t, res, http.StatusForbidden, "body")
		// A preview's problems name the fields of its body, the audience.
		res = b.do(t, req{method: "POST", path: "/api/v1/audiences/preview", token: nurse, body: map[string]any{"location_ids": []string{d.Washington.ID}}})
		requireProblemField(t, res, http.StatusForbidden, "body.location_ids[0]")
		res = b.do(t, req{method: "POST", path: "/api/v1/messages", token: admin, body: map[string]any{"subject": "s", "body": "b", "audience": map[string]any{}}})
		requireProblemField(t, res, http.StatusUnprocessableEntity, "body.audience")
	})
}
