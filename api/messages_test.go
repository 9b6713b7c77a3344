package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/api"
	"whitecross/store"
	"whitecross/store/storetest"
)

// forEachDialectAt is forEachDialect with the database's clock stopped at a
// time the test moves, so message times are exact.
func forEachDialectAt(t *testing.T, fn func(t *testing.T, b *bundle, clock *storetest.Clock)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		// Real time, so the access tokens auth issues are valid, but
		// truncated: the store keeps microseconds.
		clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
		db.Now = clock.Now
		fn(t, setup(t, db, api.Config{}), clock)
	})
}

// send posts a message as token and requires 201.
func (b *bundle) send(t *testing.T, token string, body any) api.Message {
	t.Helper()
	res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: token, body: body})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var m api.Message
	res.decode(t, &m)
	return m
}

// reply answers message id as token and requires 201.
func (b *bundle) reply(t *testing.T, token, id, text string) api.Message {
	t.Helper()
	res := b.do(t, req{method: "POST", path: "/api/v1/messages/" + id + "/replies", token: token, body: map[string]any{"body": text}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var m api.Message
	res.decode(t, &m)
	return m
}

// get GETs path as token, requires 200 and decodes into v.
func (b *bundle) get(t *testing.T, token, path string, v any) {
	t.Helper()
	res := b.do(t, req{method: "GET", path: path, token: token})
	require.Equal(t, http.StatusOK, res.status, "GET %s: %s", path, res.body)
	res.decode(t, v)
}

// box lists a box page ("?box=sent&limit=2").
func (b *bundle) box(t *testing.T, token, query string) api.MessagePage {
	t.Helper()
	var page api.MessagePage
	b.get(t, token, "/api/v1/messages"+query, &page)
	return page
}

func (b *bundle) counts(t *testing.T, token string) api.MessageCounts {
	t.Helper()
	var c api.MessageCounts
	b.get(t, token, "/api/v1/messages/counts", &c)
	return c
}

// status sends a request without a body and returns its status.
func (b *bundle) status(t *testing.T, token, method, path string) int {
	t.Helper()
	return b.do(t, req{method: method, path: path, token: token}).status
}

// rows counts the rows of table, straight from the database.
func (b *bundle) rows(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(context.Background()), "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func ids(ms []api.Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// TestMessageConversation: a nurse writes to a guardian, who reads,
// archives and answers it; the nurse sees receipts and deliveries.
func TestMessageConversation(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)

		msg := b.send(t, nurse, map[string]any{
			"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Lice screening results",
			"body": "Hello,\nLily's screening was <clear>.", "category": "HEALTH_UPDATE", "channels": []string{"EMAIL"},
			"attachments": []map[string]any{{"url": "https://files.example.org/x.pdf", "name": "x.pdf"}},
		})
		require.Equal(t, msg.ID, msg.ThreadID, "a root message is its own thread")
		require.Nil(t, msg.ReplyToID)
		require.Equal(t, api.MessageSender{ID: d.LincolnNurse.ID, Name: d.LincolnNurse.Name, Role: "NURSE"}, msg.Sender)
		require.Equal(t, []string{d.LincolnParent.ID}, msg.RecipientIDs)
		require.Equal(t, 1, msg.RecipientCount)
		require.Equal(t, "SENT", msg.Status)
		require.Equal(t, "PLAIN", msg.BodyFormat)
		require.Equal(t, "HEALTH_UPDATE", msg.Category)
		require.Equal(t, "MEDIUM", msg.Priority)
		require.ElementsMatch(t, []string{"IN_APP", "EMAIL"}, msg.Channels, "IN_APP is always added")
		require.Equal(t, []api.Attachment{{URL: "https://files.example.org/x.pdf", Name: "x.pdf"}}, msg.Attachments)
		require.Equal(t, "Hello,<br>\nLily&#39;s screening was &lt;clear&gt;.", msg.BodyHTML)
		require.NotNil(t, msg.SentAt)
		require.Nil(t, msg.ScheduledAt)
		require.Nil(t, msg.ReadAt)

		// The guardian's inbox and badges.
		inbox := b.box(t, parent, "")
		require.Equal(t, []string{msg.ID}, ids(inbox.Items))
		require.Nil(t, inbox.NextCursor)
		require.Equal(t, api.BoxCount{Total: 1, Unread: 1}, b.counts(t, parent).Inbox)
		var got api.Message
		b.get(t, parent, "/api/v1/messages/"+msg.ID, &got)
		require.Equal(t, msg.Subject, got.Subject)
		require.Equal(t, msg.Body, got.Body)
		require.Equal(t, msg.Attachments, got.Attachments)
		require.Equal(t, []string{d.LincolnParent.ID}, got.RecipientIDs)
		require.Nil(t, got.ReadCount, "only the sender sees the read count")
		require.Nil(t, got.ReadAt, "viewing does not mark read")

		// Read and unread.
		path := "/api/v1/messages/" + msg.ID
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path+"/read"))
		b.get(t, parent, path, &got)
		require.NotNil(t, got.ReadAt)
		require.Equal(t, api.BoxCount{Total: 1, Unread: 0}, b.counts(t, parent).Inbox)
		require.Empty(t, b.box(t, parent, "?unread=true").Items)
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "DELETE", path+"/read"))
		require.Equal(t, api.BoxCount{Total: 1, Unread: 1}, b.counts(t, parent).Inbox)
		require.Len(t, b.box(t, parent, "?unread=true").Items, 1)
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path+"/read"))

		// Archive and unarchive.
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path+"/archive"))
		require.Empty(t, b.box(t, parent, "").Items)
		archived := b.box(t, parent, "?box=archived")
		require.Equal(t, []string{msg.ID}, ids(archived.Items))
		require.NotNil(t, archived.Items[0].ArchivedAt)
		c := b.counts(t, parent)
		require.Equal(t, api.BoxCount{}, c.Inbox)
		require.Equal(t, api.BoxCount{Total: 1}, c.Archived)
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "DELETE", path+"/archive"))
		require.Equal(t, []string{msg.ID}, ids(b.box(t, parent, "?box=INBOX").Items))
		require.Empty(t, b.box(t, parent, "?box=archived").Items)

		// The guardian answers: to the nurse only, in the same thread.
		reply := b.reply(t, parent, msg.ID, "Thank you!")
		require.Equal(t, msg.ID, reply.ThreadID)
		require.Equal(t, msg.ID, *reply.ReplyToID)
		require.Equal(t, d.LincolnParent.ID, reply.Sender.ID)
		require.Equal(t, []string{d.LincolnNurse.ID}, reply.RecipientIDs)
		require.Equal(t, []string{reply.ID}, ids(b.box(t, nurse, "").Items))
		for _, tok := range []string{nurse, parent} {
			var thread api.MessageList
			b.get(t, tok, path+"/thread", &thread)
			require.Equal(t, []string{msg.ID, reply.ID}, ids(thread.Items), "oldest first")
		}

		// The sender's reports.
		var receipts api.ReceiptList
		b.get(t, nurse, path+"/receipts", &receipts)
		require.Equal(t, 1, receipts.RecipientCount)
		require.Equal(t, 1, receipts.ReadCount)
		require.Len(t, receipts.Items, 1)
		require.Equal(t, d.LincolnParent.ID, receipts.Items[0].UserID)
		require.Equal(t, "GUARDIAN", receipts.Items[0].Role)
		require.NotNil(t, receipts.Items[0].DeliveredAt)
		require.NotNil(t, receipts.Items[0].ReadAt)
		b.get(t, nurse, path, &got)
		require.NotNil(t, got.ReadCount)
		require.Equal(t, 1, *got.ReadCount)

		var report api.DeliveryReport
		b.get(t, nurse, path+"/delivery", &report)
		require.NotEmpty(t, report.Items)
		channels := map[string]bool{}
		for _, dl := range report.Items {
			require.Equal(t, d.LincolnParent.ID, dl.RecipientID)
			channels[dl.Channel] = true
		}
		require.True(t, channels["IN_APP"], "%+v", report.Items)
		sum := report.Summary
		require.Equal(t, len(report.Items), sum.Pending+sum.Sent+sum.Delivered+sum.Failed+sum.Bounced)
		res := b.do(t, req{method: "GET", path: path + "/delivery", token: nurse})
		for _, status := range []string{"PENDING", "SENT", "DELIVERED", "FAILED", "BOUNCED"} {
			require.Contains(t, string(res.body), `"`+status+`":`, "every status is in the summary")
		}

		// Reports are the sender's; read state is the recipients'.
		require.Equal(t, http.StatusForbidden, b.status(t, parent, "GET", path+"/delivery"))
		require.Equal(t, http.StatusForbidden, b.status(t, parent, "GET", path+"/receipts"))
		require.Equal(t, http.StatusConflict, b.status(t, nurse, "PUT", path+"/read"))
		var sent api.MessagePage
		b.get(t, nurse, "/api/v1/messages?box=sent", &sent)
		require.Equal(t, []string{msg.ID}, ids(sent.Items))
		require.Equal(t, api.BoxCount{Total: 1}, b.counts(t, nurse).Sent)

		// An ADMIN may see it; a school admin and another family may not.
		require.Equal(t, http.StatusOK, b.status(t, b.token(t, d, d.Admin), "GET", path))
		require.Equal(t, http.StatusNotFound, b.status(t, b.token(t, d, d.LincolnAdmin), "GET", path))
		other := b.token(t, d, d.WashingtonParent)
		for _, q := range []struct{ method, path string }{
			{"GET", path}, {"GET", path + "/thread"}, {"GET", path + "/delivery"}, {"GET", path + "/receipts"},
			{"PUT", path + "/read"}, {"PUT", path + "/archive"}, {"DELETE", path}, {"GET", "/api/v1/messages/" + reply.ID},
		} {
			require.Equal(t, http.StatusNotFound, b.status(t, other, q.method, q.path), "%s %s", q.method, q.path)
		}
		res = b.do(t, req{method: "POST", path: path + "/replies", token: other, body: map[string]any{"body": "Hi"}})
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		res.problem(t)
		require.Empty(t, b.box(t, other, "").Items)
	})
}

// TestReplyToBroadcastGoesToSenderOnly: a recipient's reply to a group
// message reaches its sender, never the other recipients.
func TestReplyToBroadcastGoesToSenderOnly(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse := b.token(t, d, d.LincolnNurse)
		lincoln, annex := b.token(t, d, d.LincolnParent), b.token(t, d, d.AnnexParent)
		res := b.do(t, req{method: "POST", path: "/api/v1/groups", token: b.token(t, d, d.Admin),
			body: map[string]any{"name": "Lincoln families", "member_ids": []string{d.LincolnParent.ID, d.AnnexParent.ID}}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var group api.Group
		res.decode(t, &group)

		msg := b.send(t, nurse, map[string]any{"group_ids": []string{group.ID}, "subject": "Flu clinic", "body": "Friday at 9.",
			"scheduled_at": nil, "sensitive": false})
		require.Equal(t, "SENT", msg.Status, "a null scheduled_at sends now")
		require.Equal(t, 2, msg.RecipientCount)
		require.ElementsMatch(t, []string{d.LincolnParent.ID, d.AnnexParent.ID}, msg.RecipientIDs)
		require.Equal(t, []string{msg.ID}, ids(b.box(t, annex, "").Items))

		reply := b.reply(t, lincoln, msg.ID, "Can we come at 10?")
		require.Equal(t, []string{d.LincolnNurse.ID}, reply.RecipientIDs)
		require.Equal(t, 1, reply.RecipientCount)
		require.Equal(t, []string{reply.ID}, ids(b.box(t, nurse, "").Items))
		require.Equal(t, []string{msg.ID}, ids(b.box(t, annex, "").Items), "the other family gets nothing")
		require.Equal(t, http.StatusNotFound, b.status(t, annex, "GET", "/api/v1/messages/"+reply.ID))
		var thread api.MessageList
		b.get(t, annex, "/api/v1/messages/"+msg.ID+"/thread", &thread)
		require.Equal(t, []string{msg.ID}, ids(thread.Items), "another family's reply stays private")
		b.get(t, nurse, "/api/v1/messages/"+msg.ID+"/thread", &thread)
		require.Equal(t, []string{msg.ID, reply.ID}, ids(thread.Items))

		// The sender answers the one family, not the whole group.
		res = b.do(t, req{method: "POST", path: "/api/v1/messages/" + msg.ID + "/replies", token: nurse, body: map[string]any{"body": "All of you?"}})
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		res.problem(t)
		answer := b.reply(t, nurse, reply.ID, "10 is fine.")
		require.Equal(t, []string{d.LincolnParent.ID}, answer.RecipientIDs)
		require.Equal(t, msg.ID, answer.ThreadID)
		require.Len(t, b.box(t, lincoln, "").Items, 2)
		require.Len(t, b.box(t, annex, "").Items, 1)
	})
}

// TestMessageBoxesFilterAndPage: box listings filter on every parameter
// and page newest first without repeats.
func TestMessageBoxesFilterAndPage(t *testing.T) {
	t.Parallel()
	forEachDialectAt(t, func(t *testing.T, b *bundle, clock *storetest.Clock) {
		d := b.d
		start := clock.Now()
		nurse, districtNurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.DistrictNurse), b.token(t, d, d.LincolnParent)
		kinds := []struct{ category, priority string }{
			{"HEALTH_UPDATE", "LOW"}, {"MEDICATION", "MEDIUM"}, {"HEALTH_UPDATE", "URGENT"}, {"REMINDER", "HIGH"}, {"GENERAL", "MEDIUM"},
		}
		var sent []string // oldest first
		for i, k := range kinds {
			clock.Advance(time.Minute) // message i at start + (i+1) min
			m := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Note " + k.category,
				"body": "Details.", "category": k.category, "priority": k.priority})
			require.Equal(t, start.Add(time.Duration(i+1)*time.Minute), *m.SentAt)
			sent = append(sent, m.ID)
		}
		clock.Advance(time.Minute)
		fromDistrict := b.send(t, districtNurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Hello", "body": "Hi."})
		all := []string{fromDistrict.ID, sent[4], sent[3], sent[2], sent[1], sent[0]} // newest first

		// Walk the inbox two at a time.
		var walked []string
		query := "?limit=2"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10, "paging must end")
			page := b.box(t, parent, query)
			require.LessOrEqual(t, len(page.Items), 2)
			walked = append(walked, ids(page.Items)...)
			if page.NextCursor == nil {
				break
			}
			query = "?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		require.Equal(t, all, walked)
		require.Equal(t, all, ids(b.box(t, parent, "").Items))

		require.Equal(t, []string{sent[2], sent[0]}, ids(b.box(t, parent, "?category=health_update").Items))
		require.Equal(t, []string{sent[2], sent[0]}, ids(b.box(t, parent, "?category=HEALTH_UPDATE").Items))
		require.Equal(t, []string{sent[2]}, ids(b.box(t, parent, "?priority=urgent").Items))
		require.Equal(t, []string{fromDistrict.ID, sent[4], sent[1]}, ids(b.box(t, parent, "?priority=MEDIUM").Items))
		require.Equal(t, []string{fromDistrict.ID}, ids(b.box(t, parent, "?sender_id="+d.DistrictNurse.ID).Items))
		since, until := start.Add(2*time.Minute).Format(time.RFC3339), start.Add(4*time.Minute).Format(time.RFC3339)
		require.Equal(t, []string{sent[2], sent[1]}, ids(b.box(t, parent, "?since="+url.QueryEscape(since)+"&until="+url.QueryEscape(until)).Items),
			"since is inclusive, until exclusive")
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", "/api/v1/messages/"+sent[3]+"/read"))
		require.Equal(t, []string{fromDistrict.ID, sent[4], sent[2], sent[1], sent[0]}, ids(b.box(t, parent, "?unread=true").Items))
		require.Equal(t, api.BoxCount{Total: 6, Unread: 5}, b.counts(t, parent).Inbox)

		// The sender's boxes.
		require.Equal(t, []string{sent[4], sent[3], sent[2], sent[1], sent[0]}, ids(b.box(t, nurse, "?box=sent").Items))
		require.Equal(t, []string{sent[4], sent[3]}, ids(b.box(t, nurse, "?box=sent&limit=2").Items))
		require.Empty(t, b.box(t, nurse, "?box=scheduled").Items)
		require.Empty(t, b.box(t, nurse, "").Items)
		require.Equal(t, api.MessageCounts{Sent: api.BoxCount{Total: 5}}, b.counts(t, nurse))

		// Bad parameters name themselves.
		for query, location := range map[string]string{
			"?box=trash":        "query.box",
			"?category=gossip":  "query.category",
			"?priority=meh":     "query.priority",
			"?since=yesterday":  "query.since",
			"?until=2026-13-01": "query.until",
			"?limit=0":          "query.limit",
			"?limit=101":        "query.limit",
			"?cursor=garbage":   "query.cursor",
			"?unread=maybe":     "query.unread",
		} {
			res := b.do(t, req{method: "GET", path: "/api/v1/messages" + query, token: parent})
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s: %s", query, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Errors, query)
			require.Equal(t, location, p.Errors[0].Location, query)
		}
	})
}

// TestSensitiveBodyOnlyInTheAuditedDetail: lists (every box) and threads
// carry a sensitive message's subject and the sensitive marker, with an
// empty body, body_html and attachments; only GET /messages/{id} shows the
// content, and that read is audited.
func TestSensitiveBodyOnlyInTheAuditedDetail(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		const secret, file = "Two puffs of albuterol at recess", "asthma-plan.pdf"
		msg := b.send(t, nurse, map[string]any{
			"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Sofia used her inhaler", "body": secret, "sensitive": true,
			"attachments": []map[string]any{{"url": "https://files.example.org/" + file, "name": file}},
		})
		reply := b.reply(t, parent, msg.ID, "Her spacer is in her bag")
		plain := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Picture day", "body": "Smile on Friday"})

		withheld := func(m api.Message, subject string) {
			t.Helper()
			require.True(t, m.Sensitive)
			require.Equal(t, subject, m.Subject)
			require.Empty(t, m.Body)
			require.Empty(t, m.BodyHTML)
			require.NotNil(t, m.Attachments)
			require.Empty(t, m.Attachments)
		}
		for _, c := range []struct {
			token, path string
		}{
			{parent, "/api/v1/messages?box=inbox"}, {nurse, "/api/v1/messages?box=sent"},
			{nurse, "/api/v1/messages?box=inbox"}, {parent, "/api/v1/messages?box=sent"},
			{parent, "/api/v1/messages/" + msg.ID + "/thread"}, {nurse, "/api/v1/messages/" + reply.ID + "/thread"},
		} {
			res := b.do(t, req{method: "GET", path: c.path, token: c.token})
			require.Equal(t, http.StatusOK, res.status, "%s: %s", c.path, res.body)
			require.NotContains(t, string(res.body), "albuterol", c.path)
			require.NotContains(t, string(res.body), file, c.path)
			require.NotContains(t, string(res.body), "spacer", c.path)
			var page api.MessagePage
			res.decode(t, &page)
			require.NotEmpty(t, page.Items, c.path)
			for _, m := range page.Items {
				switch m.ID {
				case msg.ID:
					withheld(m, "Sofia used her inhaler")
				case reply.ID:
					withheld(m, "Re: Sofia used her inhaler")
				case plain.ID:
					require.Equal(t, "Smile on Friday", m.Body, "a message that is not sensitive keeps its body")
				}
			}
		}

		// The detail view shows it, and records who read it.
		var m api.Message
		b.get(t, parent, "/api/v1/messages/"+msg.ID, &m)
		require.Equal(t, secret, m.Body)
		require.Equal(t, secret, m.BodyHTML)
		require.Equal(t, []api.Attachment{{URL: "https://files.example.org/" + file, Name: file}}, m.Attachments)
		events, err := d.Store.AuditEvents(context.Background(), d.Tenant.ID, 0, 100000)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.Equal(t, "message.read", last.Action)
		require.Equal(t, msg.ID, last.TargetID)
		require.Equal(t, d.LincolnParent.ID, last.ActorID)
	})
}
