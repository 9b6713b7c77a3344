package realtime_test

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/internal/testutil"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// manualBatches makes presence batches end only when the test calls
// FlushPresence, so what a batch holds is decided by the test.
func manualBatches(cfg *realtime.Config) { cfg.PresenceBatch = time.Hour }

// countingStore counts the store calls presence makes.
type countingStore struct {
	realtime.Store
	profiles, reach, tenants atomic.Int64
}

func (s *countingStore) ReachProfiles(ctx context.Context, tenantID string, ids []string) (map[string]whitecross.ReachProfile, error) {
	s.profiles.Add(1)
	return s.Store.ReachProfiles(ctx, tenantID, ids)
}

func (s *countingStore) Messagers(ctx context.Context, tenantID, userID string, candidates []string) ([]string, error) {
	s.reach.Add(1)
	return s.Store.Messagers(ctx, tenantID, userID, candidates)
}

func (s *countingStore) FilterMessageable(ctx context.Context, ids []string) (map[string]bool, error) {
	s.reach.Add(1)
	return s.Store.FilterMessageable(ctx, ids)
}

func (s *countingStore) FindTenantByID(ctx context.Context, id string) (*whitecross.Tenant, error) {
	s.tenants.Add(1)
	return s.Store.FindTenantByID(ctx, id)
}

func (s *countingStore) total() int64 { return s.profiles.Load() + s.reach.Load() + s.tenants.Load() }

// counting wraps the gateway's store in cs.
func counting(cs *countingStore) func(*realtime.Config) {
	return func(cfg *realtime.Config) {
		manualBatches(cfg)
		cs.Store = cfg.Store
		cfg.Store = cs
	}
}

// presenceUntilPong returns the presence frames queued for c before a ping
// (the barrier: FlushPresence queues synchronously).
func presenceUntilPong(t *testing.T, c *client) []presenceData {
	t.Helper()
	c.send(t, "ping", map[string]any{})
	var out []presenceData
	for f := c.next(t); f.Type != "pong"; f = c.next(t) {
		if f.Type == "presence" {
			var p presenceData
			f.decode(t, &p)
			out = append(out, p)
		}
	}
	return out
}

// leave closes c and waits until the gateway holds want connections and
// the grace period is over.
func (b *bundle) leave(t *testing.T, c *client, want int) {
	t.Helper()
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	c.closed(t)
	testutil.WaitUntil(t, waitFor, "the gateway to drop the connection", func() bool { return b.first.gw.Stats().Connections == want })
	b.clock.Advance(realtime.DefaultPresenceGrace)
	b.first.gw.TickPresence()
}

// TestPresenceCoalesced: within one batch, a user who goes offline and
// comes back is told to nobody, and one who flaps ends as one frame per
// watcher.
func TestPresenceCoalesced(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), options{config: manualBatches})
	d, gw := b.d, b.first.gw
	nurse := b.connect(t, b.first, d.LincolnNurse)
	gw.FlushPresence()
	require.Empty(t, presenceUntilPong(t, nurse), "nobody else is online")

	parent := b.connect(t, b.first, d.LincolnParent)
	gw.FlushPresence()
	require.Equal(t, []presenceData{{d.LincolnParent.ID, "online"}}, presenceUntilPong(t, nurse))
	require.Equal(t, []presenceData{{d.LincolnNurse.ID, "online"}}, presenceUntilPong(t, parent), "the snapshot")

	// Offline (grace over) and back within one batch: nothing to tell.
	b.leave(t, parent, 1)
	parent = b.connect(t, b.first, d.LincolnParent)
	gw.FlushPresence()
	require.Empty(t, presenceUntilPong(t, nurse))

	// Three times offline and online, then offline, in one batch: one frame.
	for range 3 {
		b.leave(t, parent, 1)
		parent = b.connect(t, b.first, d.LincolnParent)
	}
	b.leave(t, parent, 1)
	gw.FlushPresence()
	require.Equal(t, []presenceData{{d.LincolnParent.ID, "offline"}}, presenceUntilPong(t, nurse))
}

// TestPresenceStoreCallsPerConnect: once a district's setting and the reach
// of a profile are known, a connection costs presence one profile query,
// whether 2 or 20 users of that profile are connected.
func TestPresenceStoreCallsPerConnect(t *testing.T) {
	t.Parallel()
	cs := &countingStore{}
	b := setup(t, storetest.Open(t, store.SQLite), options{config: counting(cs)})
	d, gw := b.d, b.first.gw
	staff := make([]*whitecross.User, 20)
	for i := range staff {
		u, err := b.first.st.CreateUser(d.System(), &whitecross.UserCreate{Email: fmt.Sprintf("staff%d@springfield.example", i),
			Name: fmt.Sprintf("Staff %d", i), Role: whitecross.RoleStaff, LocationIDs: []string{d.Lincoln.ID}, Password: storetest.SeedPassword})
		require.NoError(t, err)
		staff[i] = u
	}
	perConnect := make([]int64, len(staff))
	var clients []*client
	for i, u := range staff {
		before := cs.total()
		clients = append(clients, b.connect(t, b.first, u))
		gw.FlushPresence()
		perConnect[i] = cs.total() - before
	}
	require.Equal(t, int64(1), cs.tenants.Load(), "the setting is read once")
	for i := 2; i < len(staff); i++ {
		require.Equal(t, int64(1), perConnect[i], "connect %d: one profile query, whatever the number connected", i+1)
	}
	// Everyone sees everyone: the last one's snapshot has the 19 others.
	require.Len(t, presenceUntilPong(t, clients[len(clients)-1]), len(staff)-1)
}

// TestPresenceTenantOff: a district with presence off gets no presence
// frames and costs no presence queries but the setting's; turned back on,
// its connections get their snapshot at the next refresh.
func TestPresenceTenantOff(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		cs := &countingStore{}
		b := setup(t, db, options{config: counting(cs)})
		d, gw := b.d, b.first.gw
		off := whitecross.TenantSettings{Presence: new(false)}
		_, err := b.first.st.UpdateTenantSettings(d.As(d.Admin), off)
		require.NoError(t, err)

		nurse := b.connect(t, b.first, d.LincolnNurse)
		parent := b.connect(t, b.first, d.LincolnParent)
		gw.FlushPresence()
		b.leave(t, parent, 1)
		parent = b.connect(t, b.first, d.LincolnParent)
		gw.FlushPresence()
		require.Empty(t, presenceUntilPong(t, nurse))
		require.Empty(t, presenceUntilPong(t, parent))
		require.Zero(t, cs.profiles.Load()+cs.reach.Load(), "no presence work")

		_, err = b.first.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{})
		require.NoError(t, err)
		b.clock.Advance(realtime.DefaultPresenceRefresh)
		gw.TickPresence()
		gw.FlushPresence()
		require.Equal(t, []presenceData{{d.LincolnParent.ID, "online"}}, presenceUntilPong(t, nurse))
		require.Equal(t, []presenceData{{d.LincolnNurse.ID, "online"}}, presenceUntilPong(t, parent))
	})
}

// TestPresenceIndexMatchesRule: with every seeded user online, each one's
// snapshot is exactly the users they may message (FilterMessageable), on
// both dialects: the reach index by profile agrees with the rule.
func TestPresenceIndexMatchesRule(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: manualBatches})
		d := b.d
		var users []*whitecross.User
		var ids []string
		clients := map[string]*client{}
		for _, u := range d.Users() {
			if u.Active() {
				users = append(users, u)
				ids = append(ids, u.ID)
				clients[u.ID] = b.connect(t, b.first, u)
			}
		}
		b.first.gw.FlushPresence()
		for _, w := range users {
			may, err := b.first.st.FilterMessageable(d.As(w), ids)
			require.NoError(t, err)
			var want, got []string
			for id, ok := range may {
				if ok {
					want = append(want, id)
				}
			}
			for _, p := range presenceUntilPong(t, clients[w.ID]) {
				require.Equal(t, "online", p.Status)
				got = append(got, p.UserID)
			}
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "whom %s sees online", d.Labels[w.ID])
		}
	})
}
