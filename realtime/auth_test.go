package realtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/auth"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// refuse tries an upgrade that must be refused and returns the response.
func refuse(t *testing.T, inst *instance, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, strings.Replace(inst.url, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: header})
	if ws != nil {
		_ = ws.CloseNow()
	}
	require.Error(t, err, "the upgrade must be refused")
	require.NotNil(t, res)
	raw, _ := io.ReadAll(res.Body)
	var problem map[string]any
	require.NoError(t, json.Unmarshal(raw, &problem), "body: %s", raw)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.EqualValues(t, res.StatusCode, problem["status"])
	return res.StatusCode, res.Header, problem
}

// TestUpgradeAuthentication: the upgrade takes a bearer token, or the
// session cookie from this server's origin only; anything else is refused
// with a problem before upgrading.
func TestUpgradeAuthentication(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: noPresence})
		token := b.login(t, b.first, b.d.LincolnNurse).AccessToken

		status, header, _ := refuse(t, b.first, nil)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "Bearer", header.Get("WWW-Authenticate"))
		status, _, _ = refuse(t, b.first, bearer("not-a-token"))
		require.Equal(t, http.StatusUnauthorized, status)

		cookie := func(origin string) http.Header {
			h := http.Header{"Cookie": {"wc_access=" + token}}
			if origin != "" {
				h.Set("Origin", origin)
			}
			return h
		}
		for _, origin := range []string{"http://evil.example", "", "http://localhost:8081", "https://localhost:8080", "http://127.0.0.1:8081", "http://[::1]:8080"} {
			status, _, problem := refuse(t, b.first, cookie(origin))
			require.Equal(t, http.StatusForbidden, status, "origin %q", origin)
			require.Contains(t, problem["detail"], publicURL)
		}
		// A foreign origin is refused even before a bad cookie is looked at.
		status, _, _ = refuse(t, b.first, http.Header{"Cookie": {"wc_access=junk"}, "Origin": {"http://evil.example"}})
		require.Equal(t, http.StatusForbidden, status)

		// The cookie from the server's own origin, and a bearer token from
		// anywhere (it is not ambient authority), are accepted.
		c := b.dial(t, b.first, dialer{header: cookie(publicURL)})
		var h helloData
		c.hello.decode(t, &h)
		require.Equal(t, b.d.LincolnNurse.ID, h.UserID)
		// So is the cookie from a page opened at the listen address.
		b.dial(t, b.first, dialer{header: cookie("http://" + listenAddr)})
		withOrigin := bearer(token)
		withOrigin.Set("Origin", "http://evil.example")
		b.dial(t, b.first, dialer{header: withOrigin})
	})
}

// TestTokenExpiry: a connection ends with 4001 "token expired" when its
// access token does.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: noPresence})
		c := b.connect(t, b.first, b.d.LincolnStaff)
		later := b.connect(t, b.first, b.d.LincolnStaff)
		b.clock.Advance(auth.DefaultConfig(publicURL).AccessTTL - time.Minute)
		require.Empty(t, c.sync(t), "still open a minute before")
		fresh := b.connect(t, b.first, b.d.LincolnStaff)
		b.clock.Advance(time.Minute)
		for _, old := range []*client{c, later} {
			err := old.closed(t)
			require.Equal(t, realtime.CloseTokenExpired, closeStatus(err), "%v", err)
			var ce websocket.CloseError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "token expired", ce.Reason)
		}
		require.Empty(t, fresh.sync(t), "a newer token keeps its connection")
	})
}

// TestSessionRevoked: signing out or deactivating the user closes the
// session's connections with 4002 at the next session check.
func TestSessionRevoked(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: quickSessionChecks})
		d := b.d
		pair := b.login(t, b.first, d.LincolnStaff)
		signedOut := b.dial(t, b.first, dialer{header: bearer(pair.AccessToken)})
		other := b.connect(t, b.first, d.LincolnStaff) // another session of the same user
		require.NoError(t, b.first.auth.Logout(context.Background(), pair.RefreshToken, nil))
		err := signedOut.closed(t)
		require.Equal(t, realtime.CloseSessionRevoked, closeStatus(err), "%v", err)
		require.Empty(t, other.sync(t), "the user's other session stays")

		require.NoError(t, b.first.st.DeactivateUser(d.System(), d.LincolnStaff.ID))
		err = other.closed(t)
		require.Equal(t, realtime.CloseSessionRevoked, closeStatus(err), "%v", err)
	})
}

// TestBadFrames: a frame that is not JSON, of an unknown type or with bad
// data closes the connection with 1008; an oversized one with 1009.
func TestBadFrames(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: noPresence})
	for _, tc := range []struct {
		frame string
		code  websocket.StatusCode
	}{
		{`not json`, websocket.StatusPolicyViolation},
		{`{"type":"shout","data":{}}`, websocket.StatusPolicyViolation},
		{`{"type":"resume","data":{"after_seq":-1}}`, websocket.StatusPolicyViolation},
		{`{"type":"typing","data":{"thread_id":"x","state":"dancing"}}`, websocket.StatusPolicyViolation},
		{`{"type":"read","data":{}}`, websocket.StatusPolicyViolation},
		// Watching is asked for at connect (?presence=watch).
		{`{"type":"presence.watch","data":{"user_ids":[]}}`, websocket.StatusPolicyViolation},
		{`{"type":"ping","data":{"pad":"` + strings.Repeat("x", 5000) + `"}}`, websocket.StatusMessageTooBig},
	} {
		c := b.connect(t, b.first, b.d.LincolnStaff)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		require.NoError(t, c.ws.Write(ctx, websocket.MessageText, []byte(tc.frame)))
		cancel()
		err := c.closed(t)
		require.Equal(t, tc.code, closeStatus(err), "%s: %v", tc.frame, err)
	}
}

// TestPasswordChangeAndDemotionReachSockets (issue 11, defect 5): a live
// connection of a session that a password change ended closes with 4002
// at the next session check; one whose user's role changed closes with
// 4001, so the client reconnects with a token of the current role.
func TestPasswordChangeAndDemotionReachSockets(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: quickSessionChecks})
		d := b.d
		reset := b.connect(t, b.first, d.LincolnNurse)
		require.NoError(t, b.first.st.SetPassword(d.System(), d.LincolnNurse.ID, "an operator's reset"))
		err := reset.closed(t)
		require.Equal(t, realtime.CloseSessionRevoked, closeStatus(err), "%v", err)

		demoted := b.connect(t, b.first, d.LincolnAdmin)
		bystander := b.connect(t, b.first, d.LincolnStaff)
		_, err = b.first.st.UpdateUser(d.As(d.Admin), d.LincolnAdmin.ID, &whitecross.UserUpdate{Role: ptr(whitecross.RoleStaff)})
		require.NoError(t, err)
		err = demoted.closed(t)
		require.Equal(t, realtime.CloseTokenExpired, closeStatus(err), "%v", err)
		var ce websocket.CloseError
		require.ErrorAs(t, err, &ce)
		require.Contains(t, ce.Reason, "access changed")
		require.Empty(t, bystander.sync(t), "other users' connections stay")

		// Reconnecting with a fresh token (of the current role) holds.
		again := b.connect(t, b.first, d.LincolnAdmin)
		require.Empty(t, again.sync(t))
	})
}

// TestEarlyFrame: a client that sends its first frame in the same packet
// as the upgrade request (without waiting for 101) is answered: the bytes
// the HTTP server read past the request reach the WebSocket.
func TestEarlyFrame(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: noPresence})
	token := b.login(t, b.first, b.d.LincolnStaff).AccessToken
	addr := strings.TrimPrefix(b.first.url, "http://")
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(waitFor)))
	ping := []byte(`{"type":"ping","data":{}}`)
	early := append([]byte{0x81, 0x80 | byte(len(ping)), 0, 0, 0, 0}, ping...) // zero mask
	_, err = c.Write(append([]byte("GET /api/v1/ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer "+token+"\r\n\r\n"), early...))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	for line := "x"; line != "\r\n"; {
		line, err = r.ReadString('\n')
		require.NoError(t, err)
	}
	var types []string
	for len(types) < 2 {
		head := make([]byte, 2)
		_, err = io.ReadFull(r, head)
		require.NoError(t, err)
		n := int(head[1] & 0x7f)
		if n == 126 {
			ext := make([]byte, 2)
			_, err = io.ReadFull(r, ext)
			require.NoError(t, err)
			n = int(ext[0])<<8 | int(ext[1])
		}
		payload := make([]byte, n)
		_, err = io.ReadFull(r, payload)
		require.NoError(t, err)
		var f frame
		require.NoError(t, json.Unmarshal(payload, &f))
		types = append(types, f.Type)
	}
	require.Equal(t, []string{"hello", "pong"}, types)
}
