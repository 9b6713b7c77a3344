package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// centrifugoSecrets are what a generated Centrifugo configuration and the
// harness share: the HMAC key of the client JWTs and the HTTP API key.
type centrifugoSecrets struct {
	TokenKey string
	APIKey   string
}

// newCentrifugoSecrets makes fresh random secrets for one server.
func newCentrifugoSecrets() centrifugoSecrets {
	return centrifugoSecrets{TokenKey: randomHex(32), APIKey: randomHex(16)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// centrifugoConfig is Centrifugo v6's JSON configuration for the
// harness: its defaults plus what the scenario needs — listen on
// 127.0.0.1 only, client JWTs signed with the HMAC key, the HTTP API with
// its key, user-limited channels ("#u7" only user u7 may subscribe to: the
// personal channel), /metrics and /health, and no anonymous usage
// statistics sent out (the default would).
func centrifugoConfig(port int, s centrifugoSecrets) ([]byte, error) {
	cfg := map[string]any{
		"http_server": map[string]any{"address": serverHost, "port": port},
		"log":         map[string]any{"level": "warn"},
		"client":      map[string]any{"token": map[string]any{"hmac_secret_key": s.TokenKey}},
		"channel": map[string]any{"without_namespace": map[string]any{
			"allow_user_limited_channels": true}},
		"http_api":    map[string]any{"key": s.APIKey},
		"prometheus":  map[string]any{"enabled": true},
		"health":      map[string]any{"enabled": true},
		"usage_stats": map[string]any{"disabled": true},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// centrifugoUser is the Centrifugo user of connection i; its personal
// channel is "#" and the user.
func centrifugoUser(i int) string { return "u" + strconv.Itoa(i) }

func centrifugoChannel(i int) string { return "#" + centrifugoUser(i) }

// centrifugoToken is a connection JWT (HS256) for user sub, expiring at
// exp, as Centrifugo verifies it with client.token.hmac_secret_key.
func centrifugoToken(key, sub string, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": exp.Unix()})
	signed := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// centrifugoSystem is one Centrifugo server started by the harness: each
// connection is its own user subscribed to its personal channel; a 1:1
// message is a publish to the recipient's channel through the HTTP API
// and a fan-out is one broadcast call to every recipient's channel (one
// message addressed to each recipient, as whitecross's message to 10,000
// recipients is, rather than one channel they all share).
type centrifugoSystem struct {
	base    *url.URL
	secrets centrifugoSecrets
	pid     int
	hc      *http.Client
	expires time.Time // of the connection tokens
}

var _ system = (*centrifugoSystem)(nil)

func (c *centrifugoSystem) name() string { return "centrifugo" }
func (c *centrifugoSystem) servers() int { return 1 }

func (c *centrifugoSystem) dialOp(i int, src string) workerOp {
	return workerOp{Op: "dial", Conn: i, URL: "ws://" + c.base.Host + "/connection/websocket", Src: src,
		Token: centrifugoToken(c.secrets.TokenKey, centrifugoUser(i), c.expires),
		Proto: centrifugoProto, Channel: centrifugoChannel(i)}
}

// publish sends the message to one recipient's channel with the publish
// API, to several with one broadcast. from has no part: the server API
// publishes, not a user.
func (c *centrifugoSystem) publish(ctx context.Context, _, _ int, nonce string, to []int) error {
	data := map[string]string{"subject": subjectPrefix + nonce, "body": "wcbench load test message"}
	if len(to) == 1 {
		var res struct{}
		return c.api(ctx, "publish", map[string]any{"channel": centrifugoChannel(to[0]), "data": data}, &res)
	}
	channels := make([]string, len(to))
	for i, conn := range to {
		channels[i] = centrifugoChannel(conn)
	}
	var res struct {
		Responses []struct {
			Error *cfError `json:"error"`
		} `json:"responses"`
	}
	if err := c.api(ctx, "broadcast", map[string]any{"channels": channels, "data": data}, &res); err != nil {
		return err
	}
	for _, r := range res.Responses {
		if r.Error != nil {
			return fmt.Errorf("broadcast: %w", r.Error)
		}
	}
	return nil
}

// api calls POST /api/<method> with the API key and decodes the reply's
// result into out; an error in the reply is returned.
func (c *centrifugoSystem) api(ctx context.Context, method string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/api/"+method, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", c.secrets.APIKey)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("centrifugo %s: %w", method, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("centrifugo %s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("centrifugo %s: HTTP %d: %.300s", method, resp.StatusCode, rb)
	}
	return decodeAPIReply(method, rb, out)
}

// decodeAPIReply reads {"result":…} or {"error":{"code":…,"message":…}}.
func decodeAPIReply(method string, b []byte, out any) error {
	var r struct {
		Error  *cfError        `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("centrifugo %s: %w", method, err)
	}
	if r.Error != nil {
		return fmt.Errorf("centrifugo %s: %w", method, r.Error)
	}
	if len(r.Result) == 0 {
		return nil // a publish without history may answer {}
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("centrifugo %s: %w", method, err)
	}
	return nil
}

// sample reads /metrics (Go heap, stacks, goroutines) and the RSS and CPU
// of the process from /proc, as for whitecross.
func (c *centrifugoSystem) sample(ctx context.Context) (serverSample, error) {
	return sampleServer(ctx, c.hc, c.base.String(), "", c.pid)
}
