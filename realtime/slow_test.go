package realtime_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// smallSocketBuffer keeps the kernel from absorbing megabytes for a client
// that does not read, so its server-side queue fills after a few frames.
const smallSocketBuffer = 4096

// smallWriteListener gives every accepted connection a small send buffer.
type smallWriteListener struct{ net.Listener }

func (l smallWriteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(smallSocketBuffer)
	}
	return c, err
}

// smallReadClient is an HTTP client whose connections have a small
// receive buffer (set before connecting, so the TCP window stays small).
func smallReadClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, smallSocketBuffer)
		})
		return err
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestSlowClientCutOff: a client that stops reading fills its bounded
// buffer and is disconnected; a client receiving the same messages gets
// every one in order, and the slow one resumes without losing any.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		const buffer = 16
		b := setup(t, db, options{
			config: func(cfg *realtime.Config) {
				cfg.SendBuffer, cfg.DisablePresence = buffer, true
				// A client that reads nothing answers no ping either: on a
				// busy machine the pong deadline could drop it before its
				// queue fills, which is not what this test is about.
				cfg.PingEvery = time.Hour
			},
			listener: func(ts *httptest.Server) { ts.Listener = smallWriteListener{ts.Listener} },
		})
		d := b.d
		fast := b.connect(t, b.first, d.LincolnParent)

		// The slow client reads hello, resumes, then reads nothing.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		slow, _, err := websocket.Dial(ctx, strings.Replace(b.first.url, "http", "ws", 1)+"/api/v1/ws", &websocket.DialOptions{
			HTTPHeader: bearer(b.login(t, b.first, d.LincolnStaff).AccessToken), HTTPClient: smallReadClient()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = slow.CloseNow() })
		slow.SetReadLimit(1 << 20)
		_, hello, err := slow.Read(ctx)
		require.NoError(t, err)
		require.Contains(t, string(hello), `"hello"`)
		require.NoError(t, slow.Write(ctx, websocket.MessageText, []byte(`{"type":"resume","data":{"after_seq":0}}`)))

		big := strings.Repeat("Long circular. ", whitecross.MaxBodyChars/15)
		sent := 0
		for b.first.gw.Stats().SlowClosed == 0 {
			require.Less(t, sent, 40*buffer, "the slow client was never cut off")
			_, err := b.first.st.SendMessage(d.As(d.LincolnNurse), &whitecross.MessageCreate{Subject: "Circular", Body: big,
				RecipientIDs: []string{d.LincolnStaff.ID, d.LincolnParent.ID}})
			require.NoError(t, err)
			sent++
			// The fast client gets every message, in order. Frames go out
			// after the send returned (Notify only queues them): the fast
			// client's copy shows this one's fan-out ran.
			f, m := fast.messageCreated(t)
			require.EqualValues(t, sent, f.Seq)
			require.Equal(t, big, m.Body)
		}
		require.Greater(t, sent, buffer, "the queue holds a buffer's worth before cutting")

		// The slow client reads what reached it, then finds the
		// connection closed by the server: with 4008 when the close frame
		// got through, or cut (it was not reading, so it may not have).
		var seqs []int64
		for {
			_, data, err := slow.Read(ctx)
			if err != nil {
				code := closeStatus(err)
				require.True(t, code == realtime.CloseTooSlow || code == -1, "closed with %v", err)
				break
			}
			var f frame
			require.NoError(t, json.Unmarshal(data, &f))
			require.Equal(t, "message.created", f.Type)
			seqs = append(seqs, f.Seq)
		}
		t.Logf("cut off after %d messages of ~20 KB; %d reached it", sent, len(seqs))
		require.Less(t, len(seqs), sent)
		for i, s := range seqs {
			require.EqualValues(t, i+1, s, "what it got is in order")
		}

		// Resuming where it stopped delivers the rest exactly once.
		back := b.dial(t, b.first, dialer{header: bearer(b.login(t, b.first, d.LincolnStaff).AccessToken), resume: ptr(int64(len(seqs)))})
		for i := len(seqs) + 1; i <= sent; i++ {
			f, _ := back.messageCreated(t)
			require.EqualValues(t, i, f.Seq)
		}
		require.Empty(t, back.sync(t))
		require.Empty(t, fast.sync(t))
	})
}
