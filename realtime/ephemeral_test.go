package realtime_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// typingFrames returns the typing data of frames, failing on any other.
func typingFrames(t *testing.T, frames []frame) []typingData {
	t.Helper()
	var out []typingData
	for _, f := range frames {
		require.Equal(t, "typing", f.Type, "%s", f.Data)
		require.Zero(t, f.Seq, "typing is ephemeral")
		var d typingData
		f.decode(t, &d)
		out = append(out, d)
	}
	return out
}

// TestTyping: typing goes to the other participant of the thread,
// rate-limited, and a "started" ends by itself when no "stopped" follows.
func TestTyping(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: noPresence})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		parent := b.connect(t, b.first, d.LincolnParent)
		outsider := b.connect(t, b.first, d.WashingtonNurse)
		m := b.send(t, b.first, d.LincolnNurse, "Inhaler", d.LincolnParent)
		nurse.messageCreated(t)
		parent.messageCreated(t)
		typing := func(c *client, state string) {
			c.send(t, "typing", map[string]string{"thread_id": m.ThreadID, "state": state})
		}
		started := typingData{ThreadID: m.ThreadID, UserID: d.LincolnParent.ID, State: "started"}
		stopped := typingData{ThreadID: m.ThreadID, UserID: d.LincolnParent.ID, State: "stopped"}

		// started, a repeat (keeps it alive), stopped, and a started within
		// the rate limit (dropped).
		typing(parent, "started")
		typing(parent, "started")
		typing(parent, "stopped")
		typing(parent, "started")
		require.Empty(t, parent.sync(t), "the typist hears nothing back")
		require.Equal(t, []typingData{started, stopped}, typingFrames(t, nurse.sync(t)))

		// After the interval it is relayed again, and ends by itself.
		b.clock.Advance(realtime.DefaultTypingInterval)
		typing(parent, "started")
		parent.sync(t)
		require.Equal(t, []typingData{started}, typingFrames(t, nurse.sync(t)))
		b.clock.Advance(realtime.DefaultTypingTimeout)
		f := nurse.nextOf(t, "typing")
		var got typingData
		f.decode(t, &got)
		require.Equal(t, stopped, got)

		// The nurse's typing reaches the parent; an outsider's reaches nobody.
		b.clock.Advance(realtime.DefaultTypingInterval)
		typing(nurse, "started")
		nurse.sync(t)
		require.Equal(t, []typingData{{ThreadID: m.ThreadID, UserID: d.LincolnNurse.ID, State: "started"}}, typingFrames(t, parent.sync(t)))
		typing(outsider, "started")
		outsider.sync(t)
		require.Empty(t, nurse.sync(t))
		require.Empty(t, parent.sync(t))

		// Closing the typist's last connection stops their typing.
		_ = nurse.ws.Close(websocket.StatusNormalClosure, "")
		f = parent.nextOf(t, "typing")
		f.decode(t, &got)
		require.Equal(t, typingData{ThreadID: m.ThreadID, UserID: d.LincolnNurse.ID, State: "stopped"}, got)
	})
}

// TestPresence: the people who may message a user see them come online
// with their first tab and go offline after the grace period that follows
// their last one; a reconnection within it changes nothing; new
// connections get who is online now.
func TestPresence(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{})
		d := b.d
		nurse := b.connect(t, b.first, d.LincolnNurse)
		washington := b.connect(t, b.first, d.WashingtonNurse)
		presence := func(c *client) presenceData {
			t.Helper()
			var p presenceData
			c.nextOf(t, "presence").decode(t, &p)
			return p
		}
		parentTab1 := b.connect(t, b.first, d.LincolnParent)
		require.Equal(t, presenceData{d.LincolnParent.ID, "online"}, presence(nurse))
		require.Equal(t, presenceData{d.LincolnNurse.ID, "online"}, presence(parentTab1), "the snapshot of who is online")

		// A second tab, closed again: no change.
		parentTab2 := b.connect(t, b.first, d.LincolnParent)
		require.Equal(t, presenceData{d.LincolnNurse.ID, "online"}, presence(parentTab2))
		_ = parentTab2.ws.Close(websocket.StatusNormalClosure, "")
		parentTab2.closed(t)

		// The Washington nurse may not message the Lincoln parent: the
		// first presence it hears of is the Washington parent's.
		wparent := b.connect(t, b.first, d.WashingtonParent)
		require.Equal(t, presenceData{d.WashingtonParent.ID, "online"}, presence(washington))
		_ = wparent

		// The last tab closes: offline once the grace period is over.
		_ = parentTab1.ws.Close(websocket.StatusNormalClosure, "")
		parentTab1.closed(t)
		testutil.WaitUntil(t, waitFor, "the gateway to drop the parent's connection", func() bool { return b.first.gw.Stats().Connections == 3 })
		b.clock.Advance(realtime.DefaultPresenceGrace)
		require.Equal(t, presenceData{d.LincolnParent.ID, "offline"}, presence(nurse))

		// Back, then away and back within the grace period: online once.
		back := b.connect(t, b.first, d.LincolnParent)
		require.Equal(t, presenceData{d.LincolnParent.ID, "online"}, presence(nurse))
		_ = back.ws.Close(websocket.StatusNormalClosure, "")
		back.closed(t)
		testutil.WaitUntil(t, waitFor, "the gateway to drop the parent's connection", func() bool { return b.first.gw.Stats().Connections == 3 })
		b.connect(t, b.first, d.LincolnParent)
		b.clock.Advance(realtime.DefaultPresenceGrace)
		annex := b.connect(t, b.first, d.AnnexStaff)
		require.Equal(t, presenceData{d.AnnexStaff.ID, "online"}, presence(nurse), "no offline/online flap in between")
		_ = annex
	})
}

// TestPingPong: a ping frame is answered by a pong frame.
func TestPingPong(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: noPresence})
	c := b.connect(t, b.first, b.d.LincolnStaff)
	c.send(t, "ping", map[string]any{})
	f := c.next(t)
	require.Equal(t, "pong", f.Type)
	require.JSONEq(t, `{}`, string(f.Data))
}

// TestDeadPeerDropped: a peer that answers no WebSocket ping is dropped
// (the server pings every connection, here every few ticks).
func TestDeadPeerDropped(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: func(cfg *realtime.Config) {
		cfg.DisablePresence = true
		cfg.PingEvery = 50 * time.Millisecond
		cfg.WriteTimeout = 200 * time.Millisecond
	}})
	alive := b.connect(t, b.first, b.d.LincolnStaff)
	dead := rawConnect(t, b.first, b.login(t, b.first, b.d.LincolnStaff).AccessToken)
	defer dead.Close()
	testutil.WaitUntil(t, waitFor, "both connections to be registered", func() bool { return b.first.gw.Stats().Connections == 2 })
	testutil.WaitUntil(t, waitFor, "the dead peer to be dropped", func() bool { return b.first.gw.Stats().Connections == 1 })
	require.Empty(t, alive.sync(t), "a client that reads answers pings and stays")
}
