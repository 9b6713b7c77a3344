package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
)

// TestServeDispatchesScheduledMessages runs the real server: /readyz pings
// the job queue, and a message scheduled through the API is dispatched by
// the queue's workers at its time. Only serve runs workers.
func TestServeDispatchesScheduledMessages(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		// The test polls the message every 10 ms, beyond a user's default
		// rate limit.
		e := newEnv(t, d).with("WHITECROSS_RATE_PER_SECOND", "1000")
		srv := startServe(t, e, "--demo")
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/readyz", "", nil, nil))
		token := srv.login("demo", "admin@demo.example", demoPassword)

		var users struct {
			Items []struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/users?limit=100", token, nil, &users))
		var to []string
		for _, u := range users.Items {
			if u.Email != "admin@demo.example" {
				to = append(to, u.ID)
			}
		}
		require.NotEmpty(t, to)

		type message struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		var m message
		at := time.Now().UTC().Add(time.Second).Format(time.RFC3339Nano)
		code := srv.do(http.MethodPost, "/api/v1/messages", token, map[string]any{
			"recipient_ids": to, "subject": "Picture day", "body": "Bring a smile.", "scheduled_at": at}, &m)
		require.Equal(t, http.StatusCreated, code)
		require.Equal(t, "SCHEDULED", m.Status)

		// River's scheduler looks for due jobs every five seconds.
		testutil.WaitUntil(t, jobLimit, "the scheduled message to be SENT", func() bool {
			require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/messages/"+m.ID, token, nil, &m))
			return m.Status == "SENT"
		}, func() string { return "still " + m.Status + "; stderr: " + srv.stderr.String() })
		require.Equal(t, 0, srv.stop())
		requireNoErrorLogged(t, srv.stderr.String())
		require.False(t, strings.Contains(srv.stderr.String(), "jobs cut off"), "the queue stopped gracefully")
	})
}
