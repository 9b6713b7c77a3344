package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// connectWatching opens a connection of u that asks for watched presence.
func (b *bundle) connectWatching(t *testing.T, u *whitecross.User) *client {
	t.Helper()
	return b.dial(t, b.first, dialer{header: bearer(b.login(t, b.first, u).AccessToken), query: "presence=watch"})
}

// TestPresenceWatch: a connection opened with ?presence=watch is told
// nothing until it names users, then the presence of just those — and of
// none it may not see, whatever it names; its watch list is replaced by
// the next one. A connection of the first protocol next to it still hears
// about everyone it may see.
func TestPresenceWatch(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: manualBatches})
		d, gw := b.d, b.first.gw
		nurse := b.connectWatching(t, d.LincolnNurse)
		parent := b.connect(t, b.first, d.LincolnParent)
		staff := b.connect(t, b.first, d.LincolnStaff)
		gw.FlushPresence()
		require.Empty(t, presenceUntilPong(t, nurse), "nobody watched yet")
		require.ElementsMatch(t, []presenceData{{d.LincolnNurse.ID, "online"}, {d.LincolnStaff.ID, "online"}},
			presenceUntilPong(t, parent), "the first protocol: everyone the parent may see")

		// Washington's nurse is watched but not someone a Lincoln nurse may
		// message: never told, online or offline.
		washington := b.connect(t, b.first, d.WashingtonNurse)
		nurse.send(t, "presence.watch", map[string]any{"user_ids": []string{d.LincolnParent.ID, d.WashingtonNurse.ID}})
		presenceUntilPong(t, nurse) // the frame is handled before the pong
		gw.FlushPresence()
		require.Equal(t, []presenceData{{d.LincolnParent.ID, "online"}}, presenceUntilPong(t, nurse), "the snapshot of the watched")

		b.leave(t, staff, 3) // not watched
		b.leave(t, washington, 2)
		gw.FlushPresence()
		require.Empty(t, presenceUntilPong(t, nurse))
		b.leave(t, parent, 1)
		gw.FlushPresence()
		require.Equal(t, []presenceData{{d.LincolnParent.ID, "offline"}}, presenceUntilPong(t, nurse))

		// A new list replaces the old one.
		nurse.send(t, "presence.watch", map[string]any{"user_ids": []string{d.LincolnStaff.ID}})
		presenceUntilPong(t, nurse)
		b.connect(t, b.first, d.LincolnParent)
		staff = b.connect(t, b.first, d.LincolnStaff)
		gw.FlushPresence()
		require.Equal(t, []presenceData{{d.LincolnStaff.ID, "online"}}, presenceUntilPong(t, nurse))
		require.NotNil(t, staff)
	})
}

// TestPresenceWatchCostsFramesOnlyForTheWatched: at one school where
// everyone may message everyone, watching connections that each watch one
// colleague cost one frame each when all come online, not one per pair.
func TestPresenceWatchCostsFramesOnlyForTheWatched(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: manualBatches})
	d, gw := b.d, b.first.gw
	staff := []*whitecross.User{d.LincolnAdmin, d.LincolnNurse, d.LincolnStaff}
	var conns []*client
	for i, u := range staff {
		c := b.connectWatching(t, u)
		c.send(t, "presence.watch", map[string]any{"user_ids": []string{staff[(i+1)%len(staff)].ID}})
		presenceUntilPong(t, c)
		conns = append(conns, c)
	}
	gw.FlushPresence()
	for i, c := range conns {
		require.Equal(t, []presenceData{{staff[(i+1)%len(staff)].ID, "online"}}, presenceUntilPong(t, c))
	}
}

// TestPresenceWatchLimit: a watch list longer than MaxPresenceWatch is a
// bad frame (1008).
func TestPresenceWatchLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: manualBatches})
	c := b.connectWatching(t, b.d.LincolnNurse)
	ids := make([]string, realtime.MaxPresenceWatch+1)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	raw, err := json.Marshal(map[string]any{"type": "presence.watch", "data": map[string]any{"user_ids": ids}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.ws.Write(ctx, websocket.MessageText, raw))
	require.Equal(t, websocket.StatusPolicyViolation, closeStatus(c.closed(t)))
}
