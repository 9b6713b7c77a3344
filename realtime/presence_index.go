package realtime

import (
	"context"
	"time"

	"whitecross"
)

// The reach index: who may see whom online, without a query per user.
//
// Whom a user may message depends only on their reach profile (role,
// active, locations, custody of students' locations: whitecross.ReachProfile),
// and so does who may message them. Users with equal profiles form a
// class; a class's reach to every other class is asked of the database
// once, with one representative user of each (FilterMessageable one way,
// Messagers the other), and to itself once it has two members. A district
// where everyone works at one school is two classes, whatever its size, so
// a connection costs one profile query (batched with the others of its
// batch) and never a query over the connected users.
//
// The index is kept, not recomputed: a user's profile is read when they
// come online and dropped when they go offline; a class's reach when the
// class first appears. What changes a profile (a user's locations, a
// student's school, custody, the location tree) is an administrator's
// action on another instance as often as on this one, so instead of an
// invalidation channel each district's index is rebuilt every
// PresenceRefresh (60 s: one profile query per 500 online users and two
// queries per class), and the differences are sent as presence frames.
// Role changes and deactivations do not wait for it: the session check
// closes those connections (4001, 4002).

// settingState is what this instance knows of a district's presence setting.
type settingState uint8

const (
	settingUnknown settingState = iota // not read yet: state is kept as if on
	settingOn
	settingOff
)

// presenceTenant is one district's presence state.
type presenceTenant struct {
	id      string
	setting settingState
	checked time.Time // when the setting and index were last read
	refresh bool      // the setting and index are due to be read again

	users   map[string]*presenceUser // online somewhere, or still to be told offline
	pending map[string]time.Time     // local users whose last connection closed -> offline at
	dirty   map[string]struct{}      // users whose status changed since the last flush
	snaps   map[*conn]struct{}       // new connections waiting for their snapshot
	out     map[string]bool          // local status changes to publish to the other instances
	classes map[string]*presenceClass

	// Who is told about whom here (presence_watch.go), kept across reset:
	// everyone counts each local user's connections of the first protocol
	// (told about everyone they may see); watchers names, per watched
	// user, the connections here that watch them.
	everyone map[string]int
	watchers map[string]map[*conn]struct{}
}

func newPresenceTenant(id string) *presenceTenant {
	t := &presenceTenant{id: id, everyone: map[string]int{}, watchers: map[string]map[*conn]struct{}{}}
	t.reset()
	return t
}

// reset forgets all state (the setting is kept).
func (t *presenceTenant) reset() {
	t.users, t.pending, t.dirty = map[string]*presenceUser{}, map[string]time.Time{}, map[string]struct{}{}
	t.snaps, t.out, t.classes = map[*conn]struct{}{}, map[string]bool{}, map[string]*presenceClass{}
}

// busy reports whether a flush has work for t.
func (t *presenceTenant) busy() bool {
	return t.setting == settingUnknown || t.refresh || len(t.dirty) > 0 || len(t.snaps) > 0 || len(t.out) > 0
}

// presenceUser is one user in a district's state.
type presenceUser struct {
	where map[string]struct{} // instances where connected
	class *presenceClass      // nil until the profile is read
	told  bool                // watchers were last told online
	frame []byte              // the presence online frame, encoded once
}

func (u *presenceUser) online() bool { return len(u.where) > 0 }

// presenceClass is the users of one reach profile.
type presenceClass struct {
	key     string
	role    whitecross.Role
	rep     string              // a user of the class, for reach queries
	members map[string]struct{} // users of the state in the class
	// sees holds, for each class whose reach is known, whether this
	// class's users may message (see online) its users.
	sees map[*presenceClass]bool
	// nobody: the user was not found; nobody sees them, they see nobody.
	nobody bool
}

// set records whether user is connected on instance inst and marks them
// dirty when that changed their status.
func (t *presenceTenant) set(inst, user string, on bool) {
	u := t.users[user]
	if u == nil {
		if !on {
			return
		}
		u = &presenceUser{where: map[string]struct{}{}}
		t.users[user] = u
	}
	before := u.online()
	if on {
		u.where[inst] = struct{}{}
	} else {
		delete(u.where, inst)
	}
	if u.online() != before {
		t.dirty[user] = struct{}{}
	}
}

// drop removes user from the state.
func (t *presenceTenant) drop(user string) {
	if u := t.users[user]; u != nil && u.class != nil {
		delete(u.class.members, user)
	}
	delete(t.users, user)
}

// classOf returns the class of profile pr, created when missing.
func (t *presenceTenant) classOf(pr whitecross.ReachProfile, user string, found bool) *presenceClass {
	key := pr.Key
	if !found {
		key = "\x00nobody"
	}
	c := t.classes[key]
	if c == nil {
		c = &presenceClass{key: key, role: pr.Role, rep: user, members: map[string]struct{}{},
			sees: map[*presenceClass]bool{}, nobody: !found}
		t.classes[key] = c
	}
	return c
}

// sees reports whether watcher w may see target u online.
func sees(w, u *presenceUser) bool {
	return w.class != nil && u.class != nil && w.class.sees[u.class]
}

// unprofiled returns the users of t with no class yet.
func (t *presenceTenant) unprofiled() []string {
	var out []string
	for id, u := range t.users {
		if u.class == nil {
			out = append(out, id)
		}
	}
	return out
}

// readProfiles gives the users of t that have none their class (one query
// per 500 users).
func (p *presence) readProfiles(ctx context.Context, t *presenceTenant) error {
	p.mu.Lock()
	ids := t.unprofiled()
	p.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	sctx, cancel := p.g.storeContext(ctx)
	profiles, err := p.g.cfg.Store.ReachProfiles(sctx, t.id, ids)
	cancel()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		u := t.users[id]
		if u == nil || u.class != nil {
			continue
		}
		pr, found := profiles[id]
		u.class = t.classOf(pr, id, found)
		u.class.members[id] = struct{}{}
	}
	return nil
}

// placeClasses asks the database the reach of every class whose reach is
// not known yet: two queries per new class, one more when a class first
// has two members.
func (p *presence) placeClasses(ctx context.Context, t *presenceTenant) error {
	for {
		p.mu.Lock()
		c, others, peer := t.unplaced()
		p.mu.Unlock()
		if c == nil {
			return nil
		}
		seesOther, seenBy, seesPeer, err := p.reachOf(ctx, t.id, c, others, peer)
		if err != nil {
			return err
		}
		p.mu.Lock()
		for _, o := range others {
			c.sees[o] = seesOther[o.rep]
			o.sees[c] = seenBy[o.rep]
		}
		if peer != "" {
			c.sees[c] = seesPeer
		}
		p.mu.Unlock()
	}
}

// unplaced returns a class with reach not known to some class (others) or
// to itself (peer: another member than its representative).
func (t *presenceTenant) unplaced() (c *presenceClass, others []*presenceClass, peer string) {
	for _, x := range t.classes {
		if x.nobody {
			continue
		}
		for _, o := range t.classes {
			if _, known := x.sees[o]; !known && o != x && !o.nobody {
				others = append(others, o)
			}
		}
		if _, known := x.sees[x]; !known {
			for m := range x.members {
				if m != x.rep {
					peer = m
					break
				}
			}
		}
		if len(others) > 0 || peer != "" {
			return x, others, peer
		}
	}
	return nil, nil, ""
}

// reachOf asks whom c's representative may message among others'
// representatives and peer, and which of them may message it.
func (p *presence) reachOf(ctx context.Context, tenant string, c *presenceClass, others []*presenceClass, peer string) (
	seesOther, seenBy map[string]bool, seesPeer bool, err error) {
	reps := make([]string, 0, len(others)+1)
	for _, o := range others {
		reps = append(reps, o.rep)
	}
	as := whitecross.NewContextWithActor(ctx, &whitecross.Actor{TenantID: tenant, UserID: c.rep, Role: c.role})
	seesOther = map[string]bool{}
	ask := append(reps, peer)
	if peer == "" {
		ask = reps
	}
	for start := 0; start < len(ask); start += whitecross.MaxRecipientIDs {
		sctx, cancel := p.g.storeContext(as)
		ok, err := p.g.cfg.Store.FilterMessageable(sctx, ask[start:min(len(ask), start+whitecross.MaxRecipientIDs)])
		cancel()
		if err != nil {
			return nil, nil, false, err
		}
		for id := range ok {
			seesOther[id] = ok[id]
		}
	}
	seesPeer = peer != "" && seesOther[peer]
	seenBy = map[string]bool{}
	if len(reps) > 0 {
		sctx, cancel := p.g.storeContext(ctx)
		by, err := p.g.cfg.Store.Messagers(sctx, tenant, c.rep, reps)
		cancel()
		if err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
			return nil, nil, false, err
		}
		for _, id := range by {
			seenBy[id] = true
		}
	}
	return seesOther, seenBy, seesPeer, nil
}
