package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// fakeCentrifugo speaks Centrifugo's wire formats as v6 does — the client
// protocol over /connection/websocket, the HTTP API's publish and
// broadcast with the API key, /metrics and /health — so the harness's
// Centrifugo side is tested without building Centrifugo. It checks what
// the real server checks: the JWT's HMAC, and that a user subscribes only
// to its own "#user" channel.
type fakeCentrifugo struct {
	t       *testing.T
	secrets centrifugoSecrets

	mu    sync.Mutex
	subs  map[string]*websocket.Conn // channel -> subscriber
	pongs int
}

func newFakeCentrifugo(t *testing.T) (*fakeCentrifugo, *httptest.Server) {
	f := &fakeCentrifugo{t: t, secrets: newCentrifugoSecrets(), subs: map[string]*websocket.Conn{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /connection/websocket", f.serveClient)
	mux.HandleFunc("POST /api/{method}", f.serveAPI)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "go_goroutines 7\ngo_memstats_heap_inuse_bytes 1e+06")
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "{}") })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return f, ts
}

// serveClient answers connect and subscribe, pings once, and then counts
// pongs until the client closes.
func (f *fakeCentrifugo) serveClient(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	var cmd cfCommand
	if f.readCommand(ctx, c, &cmd) != nil || cmd.Connect == nil {
		return
	}
	user, err := f.verify(cmd.Connect.Token)
	if err != nil {
		_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"error":{"code":109,"message":"token expired"}}`, cmd.ID))
		return
	}
	_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"connect":{"client":"c-%s","version":"6.9.1","ping":25,"pong":true}}`, cmd.ID, user))
	if f.readCommand(ctx, c, &cmd) != nil || cmd.Subscribe == nil {
		return
	}
	if cmd.Subscribe.Channel != "#"+user {
		_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"error":{"code":103,"message":"permission denied"}}`, cmd.ID))
		return
	}
	f.mu.Lock()
	f.subs[cmd.Subscribe.Channel] = c
	f.mu.Unlock()
	// The reply and a ping in one frame, one a line, as the server batches.
	_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "{\"id\":%d,\"subscribe\":{}}\n{}", cmd.ID))
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		if string(b) == "{}" {
			f.mu.Lock()
			f.pongs++
			f.mu.Unlock()
		}
	}
}

func (f *fakeCentrifugo) readCommand(ctx context.Context, c *websocket.Conn, cmd *cfCommand) error {
	_, b, err := c.Read(ctx)
	if err != nil {
		return err
	}
	*cmd = cfCommand{}
	return json.Unmarshal(b, cmd)
}

// verify checks an HS256 connection token and returns its subject.
func (f *fakeCentrifugo) verify(token string) (string, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(f.secrets.TokenKey), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		return "", err
	}
	return claims.GetSubject()
}

// serveAPI answers publish and broadcast by pushing the data to each
// channel's subscriber.
func (f *fakeCentrifugo) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != f.secrets.APIKey {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	var req struct {
		Channel  string          `json:"channel"`
		Channels []string        `json:"channels"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.PathValue("method") {
	case "publish":
		fmt.Fprint(w, f.push(r.Context(), req.Channel, req.Data))
	case "broadcast":
		var replies []string
		for _, ch := range req.Channels {
			replies = append(replies, f.push(r.Context(), ch, req.Data))
		}
		fmt.Fprintf(w, `{"result":{"responses":[%s]}}`, strings.Join(replies, ","))
	default:
		http.NotFound(w, r)
	}
}

// push sends a publication to channel's subscriber and returns the API's
// reply for that channel.
func (f *fakeCentrifugo) push(ctx context.Context, channel string, data json.RawMessage) string {
	f.mu.Lock()
	c := f.subs[channel]
	f.mu.Unlock()
	if c == nil {
		return `{"result":{}}` // nobody subscribed: Centrifugo drops it too
	}
	b := fmt.Appendf(nil, `{"push":{"channel":%q,"pub":{"data":%s}}}`, channel, data)
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return `{"error":{"code":100,"message":"internal server error"}}`
	}
	return `{"result":{}}`
}
