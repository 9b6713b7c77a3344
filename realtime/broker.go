package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"whitecross"
)

// Broker carries messages between the gateways of every instance. Delivery
// is at most once (pub/sub): a message published while an instance is
// reconnecting is lost to it, so durable events are only pointers into the
// event log, which the gateway reads to fill any gap.
type Broker interface {
	// Publish sends payload to every subscription, this instance's
	// included (the gateway ignores its own messages).
	Publish(ctx context.Context, payload []byte) error
	// Subscribe calls deliver with every payload published until ctx
	// ends, reconnecting after failures; subscribed runs after each
	// (re)subscription, when messages may have been missed.
	Subscribe(ctx context.Context, deliver func(payload []byte), subscribed func()) error
	// Close releases the broker's connections.
	Close() error
}

// batchPublisher is a Broker that sends several payloads in one round
// trip, in order: a fan-out's chunks of users go out together instead of a
// round trip each.
type batchPublisher interface {
	PublishBatch(ctx context.Context, payloads [][]byte) error
}

// OpenBroker returns the broker WHITECROSS_BROKER names: "" or "inmem"
// (one instance), "postgres" (LISTEN/NOTIFY on the PostgreSQL database at
// databaseURL, over connections of the broker's own) or a redis:// or
// rediss:// URL (pub/sub; an optional "channel" query parameter names the
// channel, default whitecross:realtime).
func OpenBroker(ctx context.Context, spec, databaseURL string) (Broker, error) {
	switch {
	case spec == "" || spec == "inmem":
		return NewInmemBroker(), nil
	case spec == "postgres":
		if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
			return nil, fmt.Errorf("WHITECROSS_BROKER=postgres needs a PostgreSQL DATABASE_URL")
		}
		return NewPostgresBroker(ctx, databaseURL)
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		return NewRedisBroker(ctx, spec)
	}
	return nil, fmt.Errorf("WHITECROSS_BROKER must be inmem, postgres or a redis:// URL")
}

// InmemBroker connects gateways in one process: the default for a single
// instance (where it carries nothing), and for tests of several gateways.
type InmemBroker struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// inmemQueue is how many messages wait for a slow subscriber before new
// ones are dropped (as pub/sub would).
const inmemQueue = 4096

// NewInmemBroker returns an in-process broker.
func NewInmemBroker() *InmemBroker { return &InmemBroker{subs: map[chan []byte]struct{}{}} }

// Publish implements Broker.
func (b *InmemBroker) Publish(_ context.Context, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- payload:
		default:
		}
	}
	return nil
}

// Subscribe implements Broker.
func (b *InmemBroker) Subscribe(ctx context.Context, deliver func([]byte), subscribed func()) error {
	ch := make(chan []byte, inmemQueue)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}()
	subscribed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-ch:
			deliver(p)
		}
	}
}

// Close implements Broker.
func (b *InmemBroker) Close() error { return nil }

// alone reports whether at most one gateway listens, so publishing would
// reach nobody else.
func (b *InmemBroker) alone() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) <= 1
}

// Kinds of broker messages.
const (
	kindEvents   = "ev" // durable events: pointers into the log
	kindFrame    = "fr" // an ephemeral frame (typing) for some users
	kindPresence = "pr" // users online or offline on an instance
	kindHello    = "hi" // an instance (re)subscribed: tell it who is online
	kindAlive    = "al" // heartbeat
	kindBye      = "by" // an instance shut down
)

// wireMsg is one broker message, JSON with short keys. PostgreSQL limits a
// notification to 8,000 bytes, so user lists go in chunks of wireChunk.
type wireMsg struct {
	From     string          `json:"f"`
	Kind     string          `json:"k"`
	Tenant   string          `json:"t,omitempty"`
	Type     string          `json:"y,omitempty"`
	Message  string          `json:"m,omitempty"`
	Delivery string          `json:"d,omitempty"`
	Actor    string          `json:"a,omitempty"`
	At       time.Time       `json:"at,omitzero"`
	Users    []string        `json:"u,omitempty"`
	Seqs     []int64         `json:"s,omitempty"`
	Frame    json.RawMessage `json:"fr,omitempty"`
	Online   bool            `json:"on,omitempty"`
}

// wireChunk keeps a message of user ids and seqs under 8,000 bytes
// (about 45 bytes a user).
const wireChunk = 150

// encodeEvents groups events by what they share (a dispatch batch is one
// group) and chunks each group's users.
func encodeEvents(evs []whitecross.Event) []*wireMsg {
	// What one message's events share: every field but user and seq.
	type group struct {
		tenant, message, delivery, actor string
		typ                              whitecross.EventType
		at                               time.Time
	}
	var out []*wireMsg
	open := map[group]*wireMsg{}
	for _, ev := range evs {
		key := group{tenant: ev.TenantID, message: ev.MessageID, delivery: ev.DeliveryID, actor: ev.ActorID, typ: ev.Type, at: ev.At}
		m := open[key]
		if m == nil || len(m.Users) == wireChunk {
			m = &wireMsg{Kind: kindEvents, Tenant: ev.TenantID, Type: string(ev.Type), Message: ev.MessageID,
				Delivery: ev.DeliveryID, Actor: ev.ActorID, At: ev.At}
			open[key] = m
			out = append(out, m)
		}
		m.Users = append(m.Users, ev.UserID)
		m.Seqs = append(m.Seqs, ev.Seq)
	}
	return out
}

// events decodes a kindEvents message.
func (m *wireMsg) events() []whitecross.Event {
	if len(m.Users) != len(m.Seqs) {
		return nil
	}
	out := make([]whitecross.Event, len(m.Users))
	for i, u := range m.Users {
		out[i] = whitecross.Event{TenantID: m.Tenant, UserID: u, Seq: m.Seqs[i], Type: whitecross.EventType(m.Type),
			MessageID: m.Message, DeliveryID: m.Delivery, ActorID: m.Actor, At: m.At}
	}
	return out
}

// alone reports whether no other instance listens (the default in-process
// broker of a single instance), so nothing needs publishing.
func (g *Gateway) alone() bool {
	b, ok := g.cfg.Broker.(*InmemBroker)
	return ok && b.alone()
}

// publish sends m to the other instances (nothing when there are none).
func (g *Gateway) publish(ctx context.Context, m *wireMsg) {
	if g.alone() {
		return
	}
	m.From = g.instance
	payload, err := json.Marshal(m)
	if err == nil {
		pctx, cancel := g.storeContext(ctx)
		err = g.cfg.Broker.Publish(pctx, payload)
		cancel()
	}
	if err != nil {
		g.log.Error("realtime: publish", "kind", m.Kind, "error", err.Error())
	}
}

// publishAll sends msgs to the other instances, in one round trip when the
// broker can (nothing when there are no others).
func (g *Gateway) publishAll(ctx context.Context, msgs []*wireMsg) {
	bp, ok := g.cfg.Broker.(batchPublisher)
	if !ok || len(msgs) == 1 {
		for _, m := range msgs {
			g.publish(ctx, m)
		}
		return
	}
	if g.alone() {
		return
	}
	payloads := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		m.From = g.instance
		p, err := json.Marshal(m)
		if err != nil {
			g.log.Error("realtime: publish", "kind", m.Kind, "error", err.Error())
			continue
		}
		payloads = append(payloads, p)
	}
	pctx, cancel := g.storeContext(ctx)
	defer cancel()
	if err := bp.PublishBatch(pctx, payloads); err != nil {
		g.log.Error("realtime: publish", "kind", kindEvents, "messages", len(payloads), "error", err.Error())
	}
}

// sendEphemeral sends an ephemeral frame to users' connections on every
// instance.
func (g *Gateway) sendEphemeral(ctx context.Context, tenantID string, users []string, frame []byte) {
	g.hub.sendEphemeral(users, frame)
	g.publishUsers(ctx, wireMsg{Kind: kindFrame, Tenant: tenantID, Frame: frame}, users)
}

// publishUsers publishes m for users, wireChunk of them per message.
func (g *Gateway) publishUsers(ctx context.Context, m wireMsg, users []string) {
	for chunk := range slices.Chunk(users, wireChunk) {
		if g.alone() {
			return
		}
		m.Users = chunk
		g.publish(ctx, &m)
	}
}

// subscribe runs the broker subscription until ctx ends.
func (g *Gateway) subscribe(ctx context.Context) {
	subscribed := func() {
		g.publish(ctx, &wireMsg{Kind: kindHello})
		g.catchUp(ctx)
	}
	if err := g.cfg.Broker.Subscribe(ctx, func(p []byte) { g.receive(ctx, p) }, subscribed); err != nil && ctx.Err() == nil {
		g.log.Error("realtime: broker subscription ended", "error", err.Error())
	}
}

// receive acts on a message from another instance.
func (g *Gateway) receive(ctx context.Context, payload []byte) {
	var m wireMsg
	if err := json.Unmarshal(payload, &m); err != nil {
		g.log.Error("realtime: bad broker message", "error", err.Error())
		return
	}
	if m.From == g.instance || m.From == "" {
		return
	}
	switch m.Kind {
	case kindEvents:
		g.fanout.push(m.events(), true)
	case kindFrame:
		g.hub.sendEphemeral(m.Users, m.Frame)
	case kindPresence:
		g.presence.remote(m.From, m.Tenant, m.Users, m.Online)
	case kindHello:
		// Answer so the newcomer knows this instance, and tell it who is
		// online here.
		g.presence.heard(m.From)
		g.publish(ctx, &wireMsg{Kind: kindAlive})
		g.presence.announceLocal(ctx)
	case kindAlive:
		g.presence.heard(m.From)
	case kindBye:
		g.presence.instanceGone(m.From)
	}
}
