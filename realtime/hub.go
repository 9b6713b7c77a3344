package realtime

import (
	"hash/maphash"
	"sync"

	"whitecross"
)

// hubShards spreads users over independently locked maps, so that a fan-out
// to thousands of users does not serialize connects and disconnects.
const hubShards = 64

// hub holds this instance's connections by user, and the users connected
// per tenant (the candidates for presence).
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard

	tmu     sync.Mutex
	tenants map[string]map[string]struct{} // tenant -> connected users
}

type hubShard struct {
	mu    sync.RWMutex
	users map[string]*userConns
}

// userConns is one user's connections on this instance (one per tab).
type userConns struct {
	tenantID string
	conns    []*conn
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed(), tenants: map[string]map[string]struct{}{}}
	for i := range h.shards {
		h.shards[i].users = map[string]*userConns{}
	}
	return h
}

func (h *hub) shard(userID string) *hubShard {
	return &h.shards[h.shardIndex(userID)]
}

func (h *hub) shardIndex(userID string) int {
	return int(maphash.String(h.seed, userID) % hubShards)
}

// byShard groups the indexes of evs by the shard of their user, in order:
// a user lives in one shard, so its events keep their seq order.
func (h *hub) byShard(evs []whitecross.Event) *[hubShards][]int32 {
	var out [hubShards][]int32
	for i, ev := range evs {
		s := h.shardIndex(ev.UserID)
		out[s] = append(out[s], int32(i))
	}
	return &out
}

// shardConns appends to conns, under one read lock of shard s, the
// connections of the user of each event evs[idx[k]], and to ends where
// each one's connections end (conns[ends[k-1]:ends[k]]). One lock for a
// fan-out's users in the shard, not one per recipient.
func (h *hub) shardConns(s int, evs []whitecross.Event, idx []int32, conns []*conn, ends []int32) ([]*conn, []int32) {
	sh := &h.shards[s]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	for _, i := range idx {
		if uc := sh.users[evs[i].UserID]; uc != nil {
			// Copied: remove() edits uc.conns in place.
			conns = append(conns, uc.conns...)
		}
		ends = append(ends, int32(len(conns)))
	}
	return conns, ends
}

// add registers c and reports whether it is its user's first connection here.
func (h *hub) add(c *conn) (first bool) {
	sh := h.shard(c.actor.UserID)
	sh.mu.Lock()
	uc := sh.users[c.actor.UserID]
	if uc == nil {
		uc = &userConns{tenantID: c.actor.TenantID}
		sh.users[c.actor.UserID] = uc
		first = true
	}
	uc.conns = append(uc.conns, c)
	if first {
		// Under the shard lock, so a concurrent last disconnect of the same
		// user cannot remove the user after this adds it.
		h.tmu.Lock()
		set := h.tenants[c.actor.TenantID]
		if set == nil {
			set = map[string]struct{}{}
			h.tenants[c.actor.TenantID] = set
		}
		set[c.actor.UserID] = struct{}{}
		h.tmu.Unlock()
	}
	sh.mu.Unlock()
	return first
}

// remove unregisters c and reports whether it was its user's last
// connection here.
func (h *hub) remove(c *conn) (last bool) {
	sh := h.shard(c.actor.UserID)
	sh.mu.Lock()
	uc := sh.users[c.actor.UserID]
	if uc != nil {
		for i, x := range uc.conns {
			if x == c {
				uc.conns = append(uc.conns[:i], uc.conns[i+1:]...)
				break
			}
		}
		if len(uc.conns) == 0 {
			delete(sh.users, c.actor.UserID)
			last = true
			h.tmu.Lock()
			if set := h.tenants[c.actor.TenantID]; set != nil {
				delete(set, c.actor.UserID)
				if len(set) == 0 {
					delete(h.tenants, c.actor.TenantID)
				}
			}
			h.tmu.Unlock()
		}
	}
	sh.mu.Unlock()
	return last
}

// conns returns the user's connections here (nil when none).
func (h *hub) conns(userID string) []*conn {
	sh := h.shard(userID)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	uc := sh.users[userID]
	if uc == nil {
		return nil
	}
	return append([]*conn(nil), uc.conns...)
}

// sendEphemeral offers an ephemeral frame to every connection here of each
// of users (a frame they may miss: typing, presence).
func (h *hub) sendEphemeral(users []string, frame []byte) {
	for _, u := range users {
		for _, c := range h.conns(u) {
			c.send(frame, true)
		}
	}
}

// has reports whether the user has a connection here.
func (h *hub) has(userID string) bool {
	sh := h.shard(userID)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.users[userID] != nil
}

// tenantUsers returns the users of tenantID connected here.
func (h *hub) tenantUsers(tenantID string) []string {
	h.tmu.Lock()
	defer h.tmu.Unlock()
	set := h.tenants[tenantID]
	out := make([]string, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	return out
}

// users returns every connected user with their tenant.
func (h *hub) users() map[string]string {
	out := map[string]string{}
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for u, uc := range sh.users {
			out[u] = uc.tenantID
		}
		sh.mu.RUnlock()
	}
	return out
}

// each calls fn for every connection, one shard at a time, outside the
// shard's lock.
func (h *hub) each(fn func(*conn)) {
	var batch []*conn
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		batch = batch[:0]
		for _, uc := range sh.users {
			batch = append(batch, uc.conns...)
		}
		sh.mu.RUnlock()
		for _, c := range batch {
			fn(c)
		}
	}
}

// count returns the number of connections.
func (h *hub) count() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, uc := range sh.users {
			n += len(uc.conns)
		}
		sh.mu.RUnlock()
	}
	return n
}
