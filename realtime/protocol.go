package realtime

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/coder/websocket"

	"whitecross"
	"whitecross/wire"
)

// Frame types of API.md (Realtime). Durable ones carry the user's seq.
const (
	frameHello           = "hello"
	frameMessageCreated  = string(whitecross.EventMessageCreated)
	frameDeliveryUpdated = string(whitecross.EventDeliveryUpdated)
	frameReceiptRead     = string(whitecross.EventReceiptRead)
	frameTyping          = "typing"
	framePresence        = "presence"
	framePong            = "pong"
	frameResync          = "resync"

	// Client frames.
	frameResume        = "resume"
	frameRead          = "read"
	framePing          = "ping"
	framePresenceWatch = "presence.watch" // presence_watch.go
)

// Close codes the server uses (RFC 6455 and the 4000-4999 private range).
// A client reconnects and resumes after every one of them except
// CloseSessionRevoked, which needs a new sign-in.
const (
	// CloseTokenExpired: the access token the connection was opened with
	// expired, or the user's role changed since. Refresh it, reconnect and
	// resume.
	CloseTokenExpired websocket.StatusCode = 4001
	// CloseSessionRevoked: the session was signed out or ended by a
	// password change, or the user deactivated. Sign in again.
	CloseSessionRevoked websocket.StatusCode = 4002
	// CloseTooSlow: the client did not read fast enough and its send
	// buffer filled up. Reconnect and resume: nothing durable is lost.
	CloseTooSlow websocket.StatusCode = 4008
	// CloseBadFrame (1008, policy violation): a frame that is not JSON, has
	// an unknown type or bad data.
	CloseBadFrame = websocket.StatusPolicyViolation
	// CloseTooManyFrames (1008, policy violation): the client sent more
	// frames than its budget (Config.FramesPerSecond, bursts of
	// Config.FrameBurst). Reconnect after a moment and resume.
	CloseTooManyFrames = websocket.StatusPolicyViolation
	// CloseGoingAway (1001): the server is shutting down. Reconnect (to
	// another instance) and resume.
	CloseGoingAway = websocket.StatusGoingAway
	// CloseTryAgain (1013): the server could not read the event log.
	// Reconnect after a moment and resume.
	CloseTryAgain = websocket.StatusTryAgainLater
)

// Close reasons, sent with the codes above.
const (
	reasonTokenExpired   = "token expired"
	reasonSessionRevoked = "session revoked"
	reasonAccessChanged  = "access changed: refresh, reconnect and resume"
	reasonTooSlow        = "too slow: send buffer full, reconnect and resume"
	reasonGoingAway      = "server shutting down"
	reasonTryAgain       = "event log unavailable, reconnect and resume"
)

// maxClientFrame is the largest frame a client may send; larger ones close
// the connection with 1009 (message too big).
const maxClientFrame = 4096

// frameEnvelope is how a frame looks on the wire.
type frameEnvelope struct {
	Type string          `json:"type"`
	Seq  int64           `json:"seq,omitempty"`
	Data json.RawMessage `json:"data"`
}

// clientFrame is a frame a client sends.
type clientFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// encodeFrame returns the wire form of a frame; seq 0 is left out.
func encodeFrame(typ string, seq int64, data any) []byte {
	raw, err := json.Marshal(data)
	if err != nil {
		// Every payload is a plain struct of strings, numbers and times.
		panic("realtime: encode frame: " + err.Error())
	}
	b, _ := json.Marshal(frameEnvelope{Type: typ, Seq: seq, Data: raw})
	return b
}

// helloData is the data of hello.
type helloData struct {
	UserID  string `json:"user_id"`
	LastSeq int64  `json:"last_seq"`
}

// typingData is the data of typing, both ways (the client leaves user_id out).
type typingData struct {
	ThreadID string `json:"thread_id"`
	UserID   string `json:"user_id,omitempty"`
	State    string `json:"state"`
}

// Typing states.
const (
	typingStarted = "started"
	typingStopped = "stopped"
)

// presenceData is the data of presence.
type presenceData struct {
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// Presence statuses.
const (
	statusOnline  = "online"
	statusOffline = "offline"
)

// resumeData is the data of resume.
type resumeData struct {
	AfterSeq *int64 `json:"after_seq"`
}

// readData is the data of read.
type readData struct {
	MessageID string `json:"message_id"`
}

// Frames without per-user content, encoded once.
var (
	pongFrame   = encodeFrame(framePong, 0, struct{}{})
	resyncFrame = encodeFrame(frameResync, 0, struct{}{})
)

// messageTemplate is a message.created frame for the recipients of one
// message, split where each recipient's own id goes, so a fan-out to 10,000
// recipients encodes the message once.
type messageTemplate struct {
	senderID       string
	prefix, suffix []byte // data up to and after the recipient id
}

// recipientIDsMarker is where the template splits: a JSON object key, which
// no string value can contain unescaped.
var recipientIDsMarker = []byte(`"recipient_ids":[`)

// newMessageTemplate encodes m (RecipientIDs empty) as a template, in the
// REST API's shape (package wire).
func newMessageTemplate(m *whitecross.Message) (*messageTemplate, bool) {
	b, err := json.Marshal(wire.MessageFrom(m))
	if err != nil {
		return nil, false
	}
	i := bytes.Index(b, recipientIDsMarker)
	if i < 0 {
		return nil, false
	}
	cut := i + len(recipientIDsMarker)
	return &messageTemplate{senderID: m.Sender.ID, prefix: b[:cut], suffix: b[cut:]}, true
}

// frameHead is how every recipient's message.created frame starts.
const frameHead = `{"type":"message.created","seq":`

// frameLen is the length of the frame of seq for userID: the encoded data
// with the envelope and the recipient's seq and id around and within it.
func (t *messageTemplate) frameLen(seq int64, userID string) int {
	digits := 1
	for v := seq; v >= 10 || v <= -10; v /= 10 {
		digits++
	}
	if seq < 0 {
		digits++
	}
	return len(frameHead) + digits + len(`,"data":`) + len(t.prefix) + len(userID) + 2 + len(t.suffix) + 1
}

// appendFrame appends the message.created frame of seq for recipient
// userID to dst: {"type","seq","data"} with the recipient's own id in
// recipient_ids, in the REST API's shape. Only copies: the message was
// encoded once, for all its recipients.
func (t *messageTemplate) appendFrame(dst []byte, seq int64, userID string) []byte {
	dst = append(dst, frameHead...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"data":`...)
	dst = append(dst, t.prefix...)
	dst = append(dst, '"')
	dst = append(dst, userID...)
	dst = append(dst, '"')
	dst = append(dst, t.suffix...)
	return append(dst, '}')
}

// frame returns the message.created frame of seq for recipient userID.
func (t *messageTemplate) frame(seq int64, userID string) []byte {
	return t.appendFrame(make([]byte, 0, t.frameLen(seq, userID)), seq, userID)
}
