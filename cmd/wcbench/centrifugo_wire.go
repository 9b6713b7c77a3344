package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Centrifugo's client protocol, JSON over WebSocket, as its server (the
// centrifugal/protocol module) speaks it. A client sends commands and the
// server answers with replies of the same id:
//
//	→ {"id":1,"connect":{"token":"JWT"}}
//	← {"id":1,"connect":{"client":"…","version":"…","ping":25,"pong":true}}
//	→ {"id":2,"subscribe":{"channel":"#u7"}}
//	← {"id":2,"subscribe":{}}
//	← {"push":{"channel":"#u7","pub":{"data":{"subject":"wcbench 1:5"},"offset":0}}}
//	← {}   a ping; the client answers with the empty command {}
//
// A frame may carry several replies, one JSON object a line, and a reply
// may be {"id":N,"error":{"code":…,"message":"…"}}. Publication data is
// embedded as JSON, not as base64.

// centrifugoProto is the workerOp.Proto of a Centrifugo connection.
const centrifugoProto = "centrifugo"

// cfCommand is a client command.
type cfCommand struct {
	ID        uint32       `json:"id"`
	Connect   *cfConnect   `json:"connect,omitempty"`
	Subscribe *cfSubscribe `json:"subscribe,omitempty"`
}

type cfConnect struct {
	Token string `json:"token"`
}

type cfSubscribe struct {
	Channel string `json:"channel"`
}

// cfReply is the part of a server reply the worker reads.
type cfReply struct {
	ID        uint32          `json:"id"`
	Error     *cfError        `json:"error"`
	Connect   json.RawMessage `json:"connect"`
	Subscribe json.RawMessage `json:"subscribe"`
	Push      *cfPush         `json:"push"`
}

type cfError struct {
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

func (e *cfError) Error() string { return fmt.Sprintf("centrifugo error %d: %s", e.Code, e.Message) }

type cfPush struct {
	Channel string `json:"channel"`
	Pub     *struct {
		Data json.RawMessage `json:"data"`
	} `json:"pub"`
}

// cfPing is both the server's ping and the client's pong.
var cfPing = []byte("{}")

// isPing is true for an empty reply: the server asking for a pong.
func (r *cfReply) isPing() bool {
	return r.ID == 0 && r.Error == nil && r.Push == nil && r.Connect == nil && r.Subscribe == nil
}

// nonce returns the wcbench nonce of a publication push, or "".
func (r *cfReply) nonce() string {
	if r.Push == nil || r.Push.Pub == nil {
		return ""
	}
	var d struct {
		Subject string `json:"subject"`
	}
	if json.Unmarshal(r.Push.Pub.Data, &d) != nil {
		return ""
	}
	n, ok := strings.CutPrefix(d.Subject, subjectPrefix)
	if !ok {
		return ""
	}
	return n
}

// decodeReplies splits a frame into its replies, one JSON object a line.
func decodeReplies(frame []byte) ([]cfReply, error) {
	var out []cfReply
	for line := range bytes.SplitSeq(frame, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r cfReply
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("centrifugo reply: %w: %.80s", err, line)
		}
		out = append(out, r)
	}
	return out, nil
}

// cfHandshake connects with the token and subscribes to the user's
// channel, one command and its reply at a time, as the whitecross client
// reads hello and then sends resume.
func cfHandshake(ctx context.Context, c *websocket.Conn, token, channel string) error {
	if err := cfCall(ctx, c, cfCommand{ID: 1, Connect: &cfConnect{Token: token}}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if err := cfCall(ctx, c, cfCommand{ID: 2, Subscribe: &cfSubscribe{Channel: channel}}); err != nil {
		return fmt.Errorf("subscribe %s: %w", channel, err)
	}
	return nil
}

// cfCall sends a command and reads until its reply, answering the pings
// of every frame read (a reply and a ping may share one).
func cfCall(ctx context.Context, c *websocket.Conn, cmd cfCommand) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	for {
		_, frame, err := c.Read(ctx)
		if err != nil {
			return err
		}
		replies, err := decodeReplies(frame)
		if err != nil {
			return err
		}
		var reply *cfReply
		for _, r := range replies {
			if r.isPing() {
				if err := c.Write(ctx, websocket.MessageText, cfPing); err != nil {
					return err
				}
			} else if r.ID == cmd.ID {
				reply = &r
			}
		}
		if reply != nil && reply.Error != nil {
			return reply.Error
		}
		if reply != nil {
			return nil
		}
	}
}

// cfNonces returns the wcbench nonces of a frame's publications and
// answers its pings (the server closes a connection that does not).
func cfNonces(c *websocket.Conn, frame []byte) []string {
	replies, err := decodeReplies(frame)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range replies {
		if r.isPing() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = c.Write(ctx, websocket.MessageText, cfPing)
			cancel()
			continue
		}
		if n := r.nonce(); n != "" {
			out = append(out, n)
		}
	}
	return out
}
