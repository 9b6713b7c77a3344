package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// TestSenderNeverSeesArchive: archiving is the recipient's own business;
// only read state is shared. After the guardian archives a message, nothing
// its sender (or an ADMIN) reads of it says so: the receipts carry no
// archive field, and archived_at of the Message is the caller's own (null
// for someone who did not receive it) in the detail, the sent box and the
// thread.
func TestSenderNeverSeesArchive(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, parent := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		msg := b.send(t, nurse, map[string]any{"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Flu clinic", "body": "Friday."})
		path := "/api/v1/messages/" + msg.ID
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path+"/read"))
		require.Equal(t, http.StatusNoContent, b.status(t, parent, "PUT", path+"/archive"))

		for _, u := range []*whitecross.User{d.LincolnNurse, d.Admin} {
			token := b.token(t, d, u)
			var receipts struct {
				Items []map[string]any `json:"items"`
			}
			b.get(t, token, path+"/receipts", &receipts)
			require.Len(t, receipts.Items, 1)
			require.NotNil(t, receipts.Items[0]["read_at"], "read state is shared")
			require.NotContains(t, receipts.Items[0], "archived_at", "archive state is not")

			for _, p := range []string{path, path + "/thread", "/api/v1/messages?box=sent"} {
				res := b.do(t, req{method: "GET", path: p, token: token})
				require.Equal(t, http.StatusOK, res.status)
				for _, m := range messagesIn(t, res.body) {
					require.Nil(t, m["archived_at"], "GET %s as %s: archived_at is the caller's own", p, d.Labels[u.ID])
				}
			}
		}
	})
}

// messagesIn returns the Message objects of an answer: the body itself or
// its items.
func messagesIn(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	if page.Items != nil {
		return page.Items
	}
	var one map[string]any
	require.NoError(t, json.Unmarshal(body, &one))
	return []map[string]any{one}
}
