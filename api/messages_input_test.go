package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store/storetest"
)

// TestSendRefusalsStoreNothing: every refused send is a problem naming the
// offending input, and leaves no trace in the database.
func TestSendRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse := b.token(t, d, d.LincolnNurse)
		to := func(extra map[string]any) map[string]any {
			m := map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Flu clinic", "body": "Friday at 9."}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		stranger, _ := uuid.NewV7()
		attachments := make([]map[string]string, 11)
		for i := range attachments {
			attachments[i] = map[string]string{"url": fmt.Sprintf("https://files.example.org/%d.pdf", i), "name": "x.pdf"}
		}
		cases := []struct {
			name     string
			body     any
			header   map[string]string
			status   int
			location string // errors[0].location, "" when the problem names no field
		}{
			{"bad category", to(map[string]any{"category": "GOSSIP"}), nil, 422, "body.category"},
			{"bad priority", to(map[string]any{"priority": "urgent"}), nil, 422, "body.priority"},
			{"bad body format", to(map[string]any{"body_format": "HTML"}), nil, 422, "body.body_format"},
			{"bad channel", to(map[string]any{"channels": []string{"EMAIL", "FAX"}}), nil, 422, "body.channels[1]"},
			{"http attachment", to(map[string]any{"attachments": []map[string]string{{"url": "http://files.example.org/x.pdf", "name": "x.pdf"}}}),
				nil, 422, "body.attachments[0].url"},
			{"javascript attachment", to(map[string]any{"attachments": []map[string]string{{"url": "javascript:alert(1)", "name": "x"}}}),
				nil, 422, "body.attachments[0].url"},
			{"too many attachments", to(map[string]any{"attachments": attachments}), nil, 422, "body.attachments"},
			{"empty recipients", to(map[string]any{"recipient_ids": []string{}}), nil, 422, ""},
			{"no recipients", map[string]any{"subject": "Flu clinic", "body": "Friday."}, nil, 422, ""},
			{"unknown recipient", to(map[string]any{"recipient_ids": []string{stranger.String()}}), nil, 422, "body.recipient_ids[0]"},
			{"not an id", to(map[string]any{"recipient_ids": []string{d.LincolnParent.ID, "bob"}}), nil, 422, "body.recipient_ids[1]"},
			{"another district's recipient", to(map[string]any{"recipient_ids": []string{d.LincolnParent.ID, b.other.LincolnParent.ID}}),
				nil, 422, "body.recipient_ids[1]"},
			{"a recipient the caller may not message", to(map[string]any{
				"recipient_ids": []string{d.LincolnParent.ID, d.AnnexParent.ID, d.WashingtonParent.ID}}), nil, 403, "body.recipient_ids[2]"},
			{"a non-custodial parent", to(map[string]any{"recipient_ids": []string{d.NonCustodialParent.ID}}), nil, 403, "body.recipient_ids[0]"},
			{"empty body", to(map[string]any{"body": ""}), nil, 422, "body.body"},
			{"body over 20,000 characters", to(map[string]any{"body": strings.Repeat("é", 20001)}), nil, 422, "body.body"},
			{"subject over 200 characters", to(map[string]any{"subject": strings.Repeat("s", 201)}), nil, 422, "body.subject"},
			{"missing subject", map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "body": "x"}, nil, 422, "body.subject"},
			{"unknown field", to(map[string]any{"from": d.Admin.ID}), nil, 422, "body.from"},
			{"bad scheduled_at", to(map[string]any{"scheduled_at": "tomorrow"}), nil, 422, "body.scheduled_at"},
			{"idempotency key too long", to(nil), map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 422, "header.Idempotency-Key"},
			{"request over 1 MiB", to(map[string]any{"body": strings.Repeat("a", api.DefaultMaxBodyBytes)}), nil, 413, ""},
			{"not JSON", `{"subject": "x"}`, map[string]string{"Content-Type": "text/plain"}, 415, ""},
			{"malformed JSON", `{"subject": "x",`, nil, 400, ""},
		}
		for _, c := range cases {
			header := map[string]string{"Idempotency-Key": "refused-" + c.name}
			for k, v := range c.header {
				header[k] = v
			}
			res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: c.body, header: header})
			require.Equal(t, c.status, res.status, "%s: %s", c.name, res.body)
			p := res.problem(t)
			require.NotEmpty(t, p.Detail, c.name)
			if c.location != "" {
				require.NotEmpty(t, p.Errors, "%s: %s", c.name, res.body)
				require.Equal(t, c.location, p.Errors[0].Location, "%s: %s", c.name, res.body)
			}
		}

		// At the limits, counted in characters (é is two bytes).
		msg := b.send(t, nurse, to(map[string]any{"subject": strings.Repeat("s", 200), "body": strings.Repeat("é", 20000)}))

		// Refused replies too.
		parent := b.token(t, d, d.LincolnParent)
		for body, location := range map[string]string{
			`{"body": ""}`:                                   "body.body",
			`{"body": "x", "body_format": "HTML"}`:           "body.body_format",
			`{"body": "x", "subject": "Re: hijack"}`:         "body.subject",
			`{"body": "` + strings.Repeat("a", 20001) + `"}`: "body.body",
		} {
			res := b.do(t, req{method: "POST", path: "/api/v1/messages/" + msg.ID + "/replies", token: parent, body: body})
			require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
			require.Equal(t, location, res.problem(t).Errors[0].Location)
		}

		// Only the one good message exists, and no key was kept for a refusal.
		require.Equal(t, 1, b.rows(t, "messages"))
		require.Equal(t, 1, b.rows(t, "message_recipients"))
		require.Equal(t, 0, b.rows(t, "idempotency_keys"))
		require.Equal(t, []string{msg.ID}, ids(b.box(t, nurse, "?box=sent").Items))
		require.Equal(t, []string{msg.ID}, ids(b.box(t, parent, "").Items))
		for _, u := range []*whitecross.User{d.AnnexParent, d.WashingtonParent, d.NonCustodialParent} {
			require.Empty(t, b.box(t, b.token(t, d, u), "").Items, d.Labels[u.ID])
		}
	})
}

// TestSendIdempotency: a retried send or reply with the same key and body
// returns the original message; another body under the key is 409.
func TestSendIdempotency(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		key := map[string]string{"Idempotency-Key": "7d0e-send-1"}
		compact := `{"recipient_ids":["` + d.LincolnParent.ID + `"],"subject":"Flu clinic","body":"Friday at 9."}`
		spaced := "{\n  \"body\": \"Friday at 9.\",\n  \"subject\": \"Flu clinic\",\n  \"recipient_ids\": [ \"" + d.LincolnParent.ID + "\" ]\n}"

		post := func(body string, header map[string]string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: body, header: header})
		}
		res := post(compact, key)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var first, again api.Message
		res.decode(t, &first)
		res = post(spaced, key)
		require.Equal(t, http.StatusCreated, res.status, "the same request, formatted differently: %s", res.body)
		res.decode(t, &again)
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, first.Subject, again.Subject)

		res = post(strings.Replace(compact, "Friday at 9.", "Friday at 10.", 1), key)
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		res.problem(t)
		require.Equal(t, []string{first.ID}, ids(b.box(t, parent, "").Items))

		// Keys are per user: the same key from someone else is a new message.
		res = b.do(t, req{method: "POST", path: "/api/v1/messages", token: b.token(t, d, d.DistrictNurse), body: compact, header: key})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		res.decode(t, &again)
		require.NotEqual(t, first.ID, again.ID)
		// Without a key every request is a new message.
		res = post(compact, nil)
		require.Equal(t, http.StatusCreated, res.status)
		res.decode(t, &again)
		require.NotEqual(t, first.ID, again.ID)
		require.Len(t, b.box(t, parent, "").Items, 3)

		// Replies.
		replyKey := map[string]string{"Idempotency-Key": "reply-1"}
		reply := func(body string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/messages/" + first.ID + "/replies", token: parent, body: body, header: replyKey})
		}
		res = reply(`{"body":"Thanks"}`)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var r1, r2 api.Message
		res.decode(t, &r1)
		res = reply(`{ "body": "Thanks" }`)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		res.decode(t, &r2)
		require.Equal(t, r1.ID, r2.ID)
		require.Equal(t, http.StatusConflict, reply(`{"body":"Thanks a lot"}`).status)
		require.Equal(t, []string{r1.ID}, ids(b.box(t, nurse, "").Items))
	})
}

// TestScheduledMessageLifecycle: a scheduled message waits in the sender's
// scheduled box, can be moved or canceled, and not once canceled or sent.
func TestScheduledMessageLifecycle(t *testing.T) {
	t.Parallel()
	forEachDialectAt(t, func(t *testing.T, b *bundle, clock *storetest.Clock) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		at := clock.Now().Add(time.Hour)
		msg := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Reminder",
			"body": "Picture day tomorrow.", "scheduled_at": at.Format(time.RFC3339), "category": "REMINDER"})
		require.Equal(t, "SCHEDULED", msg.Status)
		require.True(t, at.Equal(*msg.ScheduledAt))
		require.Nil(t, msg.SentAt)
		require.Equal(t, []string{msg.ID}, ids(b.box(t, nurse, "?box=scheduled").Items))
		require.Empty(t, b.box(t, nurse, "?box=sent").Items)
		require.Equal(t, api.BoxCount{Total: 1}, b.counts(t, nurse).Scheduled)
		require.Empty(t, b.box(t, parent, "").Items, "recipients see it only once sent")
		path := "/api/v1/messages/" + msg.ID
		require.Equal(t, http.StatusNotFound, b.status(t, parent, "GET", path))

		patch := func(token string, when time.Time) *response {
			return b.do(t, req{method: "PATCH", path: path, token: token, body: map[string]any{"scheduled_at": when.Format(time.RFC3339)}})
		}
		later := at.Add(24 * time.Hour)
		res := patch(nurse, later)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		var moved api.Message
		res.decode(t, &moved)
		require.True(t, later.Equal(*moved.ScheduledAt))
		require.Equal(t, "SCHEDULED", moved.Status)
		res = patch(nurse, clock.Now().Add(-time.Minute))
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		require.Equal(t, "body.scheduled_at", res.problem(t).Errors[0].Location)
		require.Equal(t, http.StatusNotFound, patch(parent, later).status)
		require.Equal(t, http.StatusNotFound, b.status(t, parent, "DELETE", path))

		require.Equal(t, http.StatusNoContent, b.status(t, nurse, "DELETE", path))
		var canceled api.Message
		b.get(t, nurse, path, &canceled)
		require.Equal(t, "CANCELED", canceled.Status)
		listed := b.box(t, nurse, "?box=scheduled").Items
		require.Equal(t, []string{msg.ID}, ids(listed), "a canceled message stays in the scheduled box")
		require.Equal(t, "CANCELED", listed[0].Status)
		require.Equal(t, api.BoxCount{}, b.counts(t, nurse).Scheduled, "nothing waits")
		res = patch(nurse, later)
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		res.problem(t)
		require.Equal(t, http.StatusConflict, b.status(t, nurse, "DELETE", path))

		// A sent message can be neither moved nor canceled.
		sent := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Now", "body": "Now."})
		require.Equal(t, http.StatusConflict, b.status(t, nurse, "DELETE", "/api/v1/messages/"+sent.ID))
		res = b.do(t, req{method: "PATCH", path: "/api/v1/messages/" + sent.ID, token: nurse, body: map[string]any{"scheduled_at": later}})
		require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
		require.Equal(t, []string{sent.ID}, ids(b.box(t, parent, "").Items))
	})
}

// TestMessageMarkdownIsSanitized: body_html renders Markdown and drops
// anything that could run in the reader's page.
func TestMessageMarkdownIsSanitized(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		body := "**hi** <script>alert(1)</script>\n\n[form](https://example.org/form) [bad](javascript:alert(1)) <img src=x onerror=alert(1)>"
		msg := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Forms",
			"body": body, "body_format": "MARKDOWN"})
		var got api.Message
		b.get(t, parent, "/api/v1/messages/"+msg.ID, &got)
		for _, m := range []api.Message{msg, got} {
			require.Equal(t, body, m.Body, "the body is kept as written")
			require.Equal(t, "MARKDOWN", m.BodyFormat)
			require.Contains(t, m.BodyHTML, "<strong>hi</strong>")
			require.Contains(t, m.BodyHTML, `<a href="https://example.org/form" rel="nofollow noreferrer">form</a>`)
			for _, bad := range []string{"<script", "javascript:", "onerror", "<img"} {
				require.NotContains(t, m.BodyHTML, bad)
			}
		}
	})
}

// TestMessagesCrossTenant: another district's message is not found on
// every message route, even for an ADMIN, and is left untouched.
func TestMessagesCrossTenant(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		o := b.other
		theirs, err := o.Store.SendMessage(o.As(o.LincolnNurse), &whitecross.MessageCreate{
			RecipientIDs: []string{o.LincolnParent.ID}, Subject: "Private", Body: "Shelbyville only."})
		require.NoError(t, err)
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		scheduled, err := o.Store.SendMessage(o.As(o.LincolnNurse), &whitecross.MessageCreate{
			RecipientIDs: []string{o.LincolnParent.ID}, Subject: "Later", Body: "Later.", ScheduledAt: ptr(time.Now().Add(time.Hour))})
		require.NoError(t, err)

		for _, token := range []string{b.token(t, b.d, b.d.Admin), b.token(t, b.d, b.d.LincolnNurse)} {
			for _, id := range []string{theirs.ID, scheduled.ID, "not-a-uuid"} {
				path := "/api/v1/messages/" + id
				for _, q := range []req{
					{method: "GET", path: path},
					{method: "GET", path: path + "/thread"},
					{method: "GET", path: path + "/delivery"},
					{method: "GET", path: path + "/receipts"},
					{method: "POST", path: path + "/replies", body: map[string]any{"body": "Hijack"}},
					{method: "PUT", path: path + "/read"},
					{method: "DELETE", path: path + "/read"},
					{method: "PUT", path: path + "/archive"},
					{method: "DELETE", path: path + "/archive"},
					{method: "PATCH", path: path, body: map[string]any{"scheduled_at": later}},
					{method: "DELETE", path: path},
				} {
					q.token = token
					res := b.do(t, q)
					require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", q.method, q.path, res.body)
					res.problem(t)
				}
			}
		}

		// Untouched: still scheduled, no reply, unread.
		nurse := o.As(o.LincolnNurse)
		m, err := o.Store.FindMessageByID(nurse, scheduled.ID)
		require.NoError(t, err)
		require.Equal(t, whitecross.MessageScheduled, m.Status)
		require.True(t, scheduled.ScheduledAt.Equal(*m.ScheduledAt))
		thread, err := o.Store.Thread(nurse, theirs.ID)
		require.NoError(t, err)
		require.Len(t, thread, 1)
		m, err = o.Store.FindMessageByID(o.As(o.LincolnParent), theirs.ID)
		require.NoError(t, err)
		require.Nil(t, m.ReadAt)
		require.Nil(t, m.ArchivedAt)
	})
}

func ptr[T any](v T) *T { return &v }
