package realtime_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestMessageCreatedIsTheRESTMessage: a live message.created frame carries
// exactly the Message the REST API answers the same reader with, through
// the same encoder (body_html included). For a message that is not
// sensitive that is its detail, GET /messages/{id}; a sensitive one is
// withheld from frames as from lists, so its frame is its list item (the
// recipient's inbox, the sender's sent box), never its audited detail.
func TestMessageCreatedIsTheRESTMessage(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: noPresence})
		d := b.d
		readers := []*whitecross.User{d.LincolnNurse, d.LincolnParent, d.LincolnStaff}
		clients := map[string]*client{}
		tokens := map[string]string{}
		for _, u := range readers {
			clients[u.ID] = b.connect(t, b.first, u)
			tokens[u.ID] = b.login(t, b.first, u).AccessToken
		}
		send := func(in *whitecross.MessageCreate) *whitecross.Message {
			in.RecipientIDs = []string{d.LincolnParent.ID, d.LincolnStaff.ID}
			in.Attachments = []whitecross.Attachment{{URL: "https://files.example.org/plan.pdf", Name: "plan.pdf"}}
			m, err := b.first.st.SendMessage(d.As(d.LincolnNurse), in)
			require.NoError(t, err)
			return m
		}

		m := send(&whitecross.MessageCreate{Subject: "Vision screening", Body: "Results are **normal**.\nNo follow-up.",
			BodyFormat: whitecross.BodyMarkdown})
		for _, u := range readers {
			f, _ := clients[u.ID].messageCreated(t)
			rest := restGet(t, b.first, tokens[u.ID], "/api/v1/messages/"+m.ID)
			require.JSONEq(t, string(rest), string(f.Data), "%s: the frame is the REST Message", d.Labels[u.ID])
		}

		s := send(&whitecross.MessageCreate{Subject: "Medication change", Body: "New dose: 5 mg.",
			Category: whitecross.CategoryMedication, Sensitive: new(true)})
		for _, u := range readers {
			f, _ := clients[u.ID].messageCreated(t)
			box := "inbox"
			if u.ID == d.LincolnNurse.ID {
				box = "sent"
			}
			item := listItem(t, restGet(t, b.first, tokens[u.ID], "/api/v1/messages?box="+box), s.ID)
			require.JSONEq(t, string(item), string(f.Data), "%s: the frame is the list item", d.Labels[u.ID])
			var got struct {
				Body        string `json:"body"`
				BodyHTML    string `json:"body_html"`
				Attachments []any  `json:"attachments"`
			}
			f.decode(t, &got)
			require.Empty(t, got.Body, "a frame is not an audited read")
			require.Empty(t, got.BodyHTML)
			require.Empty(t, got.Attachments)
		}
	})
}

// restGet GETs path from inst with a bearer token, requires 200 and
// returns the body.
func restGet(t *testing.T, inst *instance, token, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, inst.url+path, nil)
	require.NoError(t, err)
	req.Header = bearer(token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, body)
	return body
}

// listItem returns the raw JSON of message id in a page of a box.
func listItem(t *testing.T, page []byte, id string) json.RawMessage {
	t.Helper()
	var p struct {
		Items []json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal(page, &p))
	for _, raw := range p.Items {
		var m struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(raw, &m))
		if m.ID == id {
			return raw
		}
	}
	t.Fatalf("message %s is not in the page", id)
	return nil
}
