package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store"
)

// TestStudentRecord: a message about a student, refusals naming
// body.student_ids[i], the student's log as its readers see it, and the
// disclosures of its email and its read.
func TestStudentRecord(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		lily := d.LincolnStudent.ID
		send := func(students ...string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: map[string]any{
				"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Lily's inhaler", "body": "Refill due.",
				"channels": []string{"EMAIL"}, "student_ids": students}})
		}
		// Another district's student and another school's are refused alike.
		for _, hidden := range []string{b.other.LincolnStudent.ID, d.WashingtonStudent.ID} {
			res := send(lily, hidden)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
			p := res.problem(t)
			require.Equal(t, "body.student_ids[1]", p.Errors[0].Location)
			require.Equal(t, "Student not found.", p.Errors[0].Message)
		}
		res := send(lily)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var m api.Message
		res.decode(t, &m)
		require.Equal(t, []string{lily}, m.StudentIDs)
		other := b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: map[string]any{
			"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Field trip", "body": "Friday."}})
		require.Equal(t, http.StatusCreated, other.status)
		require.Contains(t, string(other.body), `"student_ids":[]`)

		// The email left the school; the parent read the message.
		var deliveryID string
		require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()),
			`SELECT id FROM deliveries WHERE message_id = $1 AND channel = 'EMAIL'`, m.ID).Scan(&deliveryID))
		_, err := b.st.RecordDeliveryOutcome(context.Background(), d.Tenant.ID, strings.ToLower(deliveryID),
			whitecross.DeliveryOutcome{Status: whitecross.DeliverySent, Provider: "sendgrid", ProviderID: "p1"})
		require.NoError(t, err)
		res = b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID, token: parent})
		require.Equal(t, http.StatusOK, res.status)
		require.Contains(t, string(res.body), `"student_ids":["`+lily+`"]`)
		require.NoError(t, b.st.SetRead(d.As(d.LincolnParent), m.ID, true))

		// The log: the parent sees the message about Lily, not the other.
		log := "/api/v1/students/" + lily + "/messages"
		var page api.MessagePage
		res = b.do(t, req{method: "GET", path: log, token: parent})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &page)
		require.Len(t, page.Items, 1)
		require.Equal(t, m.ID, page.Items[0].ID)
		require.Equal(t, "Refill due.", page.Items[0].Body)
		require.Nil(t, page.NextCursor)
		for _, u := range []*whitecross.User{d.WashingtonNurse, d.AnnexParent, d.NonCustodialParent} {
			res = b.do(t, req{method: "GET", path: log, token: b.token(t, d, u)})
			require.Equal(t, http.StatusNotFound, res.status, "%s", d.Labels[u.ID])
		}
		res = b.do(t, req{method: "GET", path: "/api/v1/students/" + b.other.LincolnStudent.ID + "/messages", token: nurse})
		require.Equal(t, http.StatusNotFound, res.status)
		res = b.do(t, req{method: "GET", path: log + "?cursor=nope", token: nurse})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.cursor", res.problem(t).Errors[0].Location)

		// Disclosures: the email and the read, oldest first; ADMIN only.
		admin := b.token(t, d, d.Admin)
		var list api.DisclosureList
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/disclosures?student_id=" + lily, token: admin})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &list)
		require.Len(t, list.Items, 2)
		require.Equal(t, api.Disclosure{At: list.Items[0].At, MessageID: m.ID, ToUserID: d.LincolnParent.ID, Channel: "EMAIL", Kind: "DELIVERED"}, list.Items[0])
		require.Equal(t, api.Disclosure{At: list.Items[1].At, MessageID: m.ID, ToUserID: d.LincolnParent.ID, Channel: "IN_APP", Kind: "READ"}, list.Items[1])
		future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/disclosures?student_id=" + lily + "&since=" + future, token: admin})
		require.Equal(t, http.StatusOK, res.status)
		require.JSONEq(t, `{"items":[]}`, string(res.body))
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/disclosures?student_id=" + lily, token: nurse})
		require.Equal(t, http.StatusForbidden, res.status)
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/disclosures?student_id=" + b.other.LincolnStudent.ID, token: admin})
		require.Equal(t, http.StatusNotFound, res.status)
		res = b.do(t, req{method: "GET", path: "/api/v1/admin/disclosures", token: admin})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Equal(t, "query.student_id", res.problem(t).Errors[0].Location)
	})
}
