package realtime

import (
	"context"
	"sync"
	"time"

	"whitecross"
)

// typing relays typing indicators. A user's "started" in a thread goes to
// the people their reply would reach (Store.ThreadAudience, looked up once
// while the user types), at most once per TypingInterval; repeated
// "started" frames only keep it alive. "stopped", a "started" not renewed
// within TypingTimeout, and the user's last connection closing all relay
// "stopped".
type typing struct {
	g *Gateway

	mu    sync.Mutex
	state map[typingKey]*typingState
}

type typingKey struct{ user, thread string }

type typingState struct {
	tenant    string
	audience  []string
	looked    bool // audience was looked up
	active    bool // "started" was relayed and not yet "stopped"
	lastStart time.Time
	expires   time.Time
}

func newTyping(g *Gateway) *typing {
	return &typing{g: g, state: map[typingKey]*typingState{}}
}

// handle acts on a client's typing frame.
func (t *typing) handle(c *conn, thread, state string) {
	now := t.g.cfg.Now()
	k := typingKey{user: c.actor.UserID, thread: thread}
	t.mu.Lock()
	st := t.state[k]
	if state == typingStopped {
		if st == nil || !st.active {
			t.mu.Unlock()
			return
		}
		stop := st.stopLocked(k)
		t.mu.Unlock()
		t.relayStops([]typingStop{stop})
		return
	}
	if st != nil && st.active {
		st.expires = now.Add(t.g.cfg.TypingTimeout)
		t.mu.Unlock()
		return
	}
	if st != nil && now.Sub(st.lastStart) < t.g.cfg.TypingInterval {
		t.mu.Unlock()
		return // rate limit: dropped
	}
	if st == nil {
		st = &typingState{tenant: c.actor.TenantID}
		t.state[k] = st
	}
	st.active, st.lastStart, st.expires = true, now, now.Add(t.g.cfg.TypingTimeout)
	looked, audience := st.looked, st.audience
	t.mu.Unlock()

	if !looked {
		ctx, cancel := t.g.storeContext(whitecross.NewContextWithActor(context.Background(), c.actor))
		ids, err := t.g.cfg.Store.ThreadAudience(ctx, thread)
		cancel()
		if err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
			t.g.log.Error("realtime: typing audience", "user_id", c.actor.UserID, "error", err.Error())
		}
		// Not in the thread (ENOTFOUND): nobody, and the state keeps the
		// user from asking again until it expires.
		t.mu.Lock()
		st.audience, st.looked = ids, err == nil || whitecross.ErrorCode(err) == whitecross.ENOTFOUND
		audience = ids
		t.mu.Unlock()
	}
	t.relay(c.actor.TenantID, k, audience, typingStarted)
}

// relay sends the typing frame to the audience on every instance.
func (t *typing) relay(tenant string, k typingKey, audience []string, state string) {
	if len(audience) == 0 {
		return
	}
	frame := encodeFrame(frameTyping, 0, typingData{ThreadID: k.thread, UserID: k.user, State: state})
	t.g.sendEphemeral(context.Background(), tenant, audience, frame)
}

// typingStop is a "stopped" to relay once t.mu is released.
type typingStop struct {
	tenant   string
	k        typingKey
	audience []string
}

// stopLocked ends st, k's typing, and returns the "stopped" to relay.
func (st *typingState) stopLocked(k typingKey) typingStop {
	st.active = false
	return typingStop{tenant: st.tenant, k: k, audience: st.audience}
}

// relayStops relays each of stops.
func (t *typing) relayStops(stops []typingStop) {
	for _, s := range stops {
		t.relay(s.tenant, s.k, s.audience, typingStopped)
	}
}

// tick ends typing that expired, and forgets idle state.
func (t *typing) tick(now time.Time) {
	var stops []typingStop
	t.mu.Lock()
	for k, st := range t.state {
		switch {
		case st.active && !now.Before(st.expires):
			stops = append(stops, st.stopLocked(k))
		case !st.active && now.Sub(st.lastStart) >= t.g.cfg.TypingInterval:
			delete(t.state, k)
		}
	}
	t.mu.Unlock()
	t.relayStops(stops)
}

// userGone stops the typing of a user whose last connection here closed.
func (t *typing) userGone(user string) {
	var stops []typingStop
	t.mu.Lock()
	for k, st := range t.state {
		if k.user == user && st.active {
			stops = append(stops, st.stopLocked(k))
		}
	}
	t.mu.Unlock()
	t.relayStops(stops)
}
