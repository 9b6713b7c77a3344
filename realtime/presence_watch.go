package realtime

// Watched presence: a connection opened with ?presence=watch is told the
// presence of only the users it names in presence.watch frames (those on
// its screen), not of everyone its user may see.
//
// Everyone-may-see-everyone is the shape of a school's staff, and of a
// district office: with N such users online, telling each of them about
// all the others is N² frames (15,000 connections at one school: 112
// million frames during the morning's connections, queued faster than any
// client reads them). A client shows presence beside the few names on its
// screen; asking for those makes a change cost one frame per connection
// that shows the user, and a connection's snapshot at most
// MaxPresenceWatch frames. Watching never widens what a user may see:
// every frame still needs the reach index's yes (sees).
//
// A connection without the parameter keeps the behaviour of the first
// protocol (everyone it may see), for clients written before it.

// MaxPresenceWatch is the most users one presence.watch frame may name
// (a client frame is at most maxClientFrame bytes: 100 ids of 36
// characters fit). More is a bad frame.
const MaxPresenceWatch = 100

// presenceWatchParam is the query parameter of GET /api/v1/ws that asks
// for watched presence: ?presence=watch.
const (
	presenceWatchParam = "presence"
	presenceWatchValue = "watch"
)

// presenceWatchData is the data of the client frame presence.watch: the
// users whose presence the connection wants from now on (replacing the
// previous list).
type presenceWatchData struct {
	UserIDs []string `json:"user_ids"`
}

// watch replaces c's watched users and queues its snapshot of them (sent
// at the next flush). The district's state keeps, per watched user, the
// connections here that watch them.
func (p *presence) watch(c *conn, ids []string) {
	if p.off() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.stateLocked(c.actor.TenantID)
	t.unwatchLocked(c)
	c.watched = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if id == "" || id == c.actor.UserID {
			continue
		}
		c.watched[id] = struct{}{}
		set := t.watchers[id]
		if set == nil {
			set = map[*conn]struct{}{}
			t.watchers[id] = set
		}
		set[c] = struct{}{}
	}
	if t.setting != settingOff {
		t.snaps[c] = struct{}{}
		p.signal()
	}
}

// opened records a new connection: one of the first protocol counts
// toward its user's "sees everyone" connections here.
func (p *presence) opened(c *conn) {
	if p.off() || c.watching {
		return
	}
	p.mu.Lock()
	p.stateLocked(c.actor.TenantID).everyone[c.actor.UserID]++
	p.mu.Unlock()
}

// closed forgets a closed connection's watching.
func (p *presence) closed(c *conn) {
	if p.off() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.stateLocked(c.actor.TenantID)
	delete(t.snaps, c)
	if c.watching {
		t.unwatchLocked(c)
		return
	}
	if t.everyone[c.actor.UserID]--; t.everyone[c.actor.UserID] <= 0 {
		delete(t.everyone, c.actor.UserID)
	}
}

// stateLocked returns tenantID's state whatever its setting: which
// connections watch whom is kept while presence is off, so turning it on
// again needs no word from the clients.
func (p *presence) stateLocked(tenantID string) *presenceTenant {
	t := p.tenants[tenantID]
	if t == nil {
		t = newPresenceTenant(tenantID)
		p.tenants[tenantID] = t
	}
	return t
}

// unwatchLocked removes c from the watchers of the users it watched.
func (t *presenceTenant) unwatchLocked(c *conn) {
	for id := range c.watched {
		if set := t.watchers[id]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(t.watchers, id)
			}
		}
	}
	c.watched = nil
}

// watchingConnsLocked returns the connections here that watch user u and
// whose user may see them.
func (t *presenceTenant) watchingConnsLocked(id string, u *presenceUser) []*conn {
	var out []*conn
	for c := range t.watchers[id] {
		if w := t.users[c.actor.UserID]; w != nil && sees(w, u) {
			out = append(out, c)
		}
	}
	return out
}

// snapshotLocked returns the online frames a new (or re-watching)
// connection is owed: of every user its user may see, or only of those it
// watches.
func (t *presenceTenant) snapshotLocked(c *conn) [][]byte {
	if !c.watching {
		return t.visibleLocked(c.actor.UserID)
	}
	w := t.users[c.actor.UserID]
	if w == nil || w.class == nil {
		return nil
	}
	var out [][]byte
	for id := range c.watched {
		if u := t.users[id]; u != nil && u.told && sees(w, u) {
			out = append(out, u.frame)
		}
	}
	return out
}
