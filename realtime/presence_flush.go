package realtime

import "context"

// flush does the work of every district with changes: read what is not
// known yet (setting, profiles, class reach), then tell each change once to
// its watchers and send the waiting snapshots.
func (p *presence) flush(ctx context.Context) {
	p.fmu.Lock()
	defer p.fmu.Unlock()
	p.mu.Lock()
	var busy []*presenceTenant
	for _, t := range p.tenants {
		if t.busy() {
			busy = append(busy, t)
		}
	}
	p.mu.Unlock()
	for _, t := range busy {
		if err := p.flushTenant(ctx, t); err != nil && ctx.Err() == nil {
			p.g.log.Error("realtime: presence", "tenant_id", t.id, "error", err.Error())
			p.signal() // try again next batch
		}
	}
}

// flushTenant flushes one district.
func (p *presence) flushTenant(ctx context.Context, t *presenceTenant) error {
	if !p.readSetting(ctx, t) {
		return nil
	}
	p.mu.Lock()
	refresh := t.refresh
	p.mu.Unlock()
	if refresh {
		if err := p.rebuild(ctx, t); err != nil {
			return err
		}
	}
	if err := p.readProfiles(ctx, t); err != nil {
		return err
	}
	if err := p.placeClasses(ctx, t); err != nil {
		return err
	}
	p.mu.Lock()
	b := p.collectLocked(t)
	p.mu.Unlock()
	p.deliver(ctx, t.id, b)
	return nil
}

// readSetting reads the district's presence setting when unknown or due,
// and reports whether presence is on. Turned off, the state is dropped;
// turned on, this instance's users are put back (see seedLocked).
func (p *presence) readSetting(ctx context.Context, t *presenceTenant) bool {
	p.mu.Lock()
	due := t.setting == settingUnknown || t.refresh
	p.mu.Unlock()
	if !due {
		return true
	}
	sctx, cancel := p.g.storeContext(ctx)
	tenant, err := p.g.cfg.Store.FindTenantByID(sctx, t.id)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	t.checked = p.g.cfg.Now()
	if err != nil {
		p.g.log.Error("realtime: presence setting", "tenant_id", t.id, "error", err.Error())
		if t.setting == settingUnknown {
			t.setting = settingOn // keep presence working; read again at the refresh
		}
		return t.setting == settingOn
	}
	on := tenant.Settings.ShowsPresence()
	switch {
	case !on:
		t.setting = settingOff
		t.refresh = false
		t.reset()
	case t.setting == settingOff:
		t.setting = settingOn
		t.refresh = false
		p.seedLocked(t)
	default:
		t.setting = settingOn
	}
	return on
}

// seedLocked puts this instance's users of a district whose presence was
// just turned on back in its state, each connection waiting for a
// snapshot, and asks the other instances to announce theirs again.
func (p *presence) seedLocked(t *presenceTenant) {
	for _, u := range p.g.hub.tenantUsers(t.id) {
		t.set(p.g.instance, u, true)
		t.out[u] = true
		for _, c := range p.g.hub.conns(u) {
			t.snaps[c] = struct{}{}
		}
	}
	go p.g.publish(context.Background(), &wireMsg{Kind: kindHello})
}

// presenceBatch is what one flush sends: each change's frame to its
// watchers, each new connection its snapshot, and the local changes to
// publish.
type presenceBatch struct {
	changes []presenceChange
	snaps   map[*conn][][]byte
	on, off []string
}

type presenceChange struct {
	frame    []byte
	watchers []string // users told about everyone they may see
	conns    []*conn  // watching connections (presence_watch.go)
}

// collectLocked takes t's pending work: a change is told only when the
// user's status differs from what watchers were last told, so a user who
// went and came back within the batch is told nothing. A user who came
// online after this flush read profiles waits for the next flush (told
// now, they would be told to nobody), and so does their snapshot.
func (p *presence) collectLocked(t *presenceTenant) presenceBatch {
	var b presenceBatch
	later := false
	for id := range t.dirty {
		u := t.users[id]
		if u != nil && u.class == nil && u.online() {
			later = true
			continue
		}
		delete(t.dirty, id)
		if u != nil {
			if change, ok := t.changeLocked(id, u); ok {
				b.changes = append(b.changes, change)
			}
		}
	}
	b.snaps = make(map[*conn][][]byte, len(t.snaps))
	for c := range t.snaps {
		if w := t.users[c.actor.UserID]; w != nil && w.class == nil {
			later = true
			continue
		}
		b.snaps[c] = t.snapshotLocked(c)
		delete(t.snaps, c)
	}
	for id, on := range t.out {
		if on {
			b.on = append(b.on, id)
		} else {
			b.off = append(b.off, id)
		}
	}
	clear(t.out)
	if later {
		p.signal()
	}
	return b
}

// changeLocked returns the frame of a user's change and its watchers, when
// their status differs from what was last told; a user gone offline leaves
// the state.
func (t *presenceTenant) changeLocked(id string, u *presenceUser) (presenceChange, bool) {
	defer func() {
		if !u.online() {
			t.drop(id)
		}
	}()
	on := u.online()
	if on == u.told {
		return presenceChange{}, false
	}
	u.told = on
	if !on {
		return presenceChange{frame: encodeFrame(framePresence, 0, presenceData{UserID: id, Status: statusOffline}),
			watchers: t.watchersLocked(id, u), conns: t.watchingConnsLocked(id, u)}, true
	}
	if u.frame == nil {
		u.frame = encodeFrame(framePresence, 0, presenceData{UserID: id, Status: statusOnline})
	}
	return presenceChange{frame: u.frame, watchers: t.watchersLocked(id, u), conns: t.watchingConnsLocked(id, u)}, true
}

// watchersLocked returns the users with a connection here of the first
// protocol who may see u.
func (t *presenceTenant) watchersLocked(id string, u *presenceUser) []string {
	if u.class == nil {
		return nil
	}
	var out []string
	for wid := range t.everyone {
		if w := t.users[wid]; wid != id && w != nil && sees(w, u) {
			out = append(out, wid)
		}
	}
	return out
}

// visibleLocked returns the online frames of the users told online whom
// user may see: a snapshot.
func (t *presenceTenant) visibleLocked(user string) [][]byte {
	w := t.users[user]
	if w == nil || w.class == nil {
		return nil
	}
	var out [][]byte
	for c, ok := range w.class.sees {
		if !ok {
			continue
		}
		for id := range c.members {
			if u := t.users[id]; id != user && u != nil && u.told {
				out = append(out, u.frame)
			}
		}
	}
	return out
}

// deliver sends a batch: snapshots first, then each change to the
// watchers' connections here that did not just get a snapshot (it is in
// theirs), then the local changes to the other instances.
func (p *presence) deliver(ctx context.Context, tenant string, b presenceBatch) {
	for c, frames := range b.snaps {
		for _, f := range frames {
			if !c.send(f, true) {
				break
			}
		}
	}
	for _, ch := range b.changes {
		for _, w := range ch.watchers {
			for _, c := range p.g.hub.conns(w) {
				if _, snapped := b.snaps[c]; !snapped && !c.watching {
					c.send(ch.frame, true)
				}
			}
		}
		for _, c := range ch.conns {
			if _, snapped := b.snaps[c]; !snapped {
				c.send(ch.frame, true)
			}
		}
	}
	if len(b.on) > 0 {
		p.g.publishUsers(ctx, wireMsg{Kind: kindPresence, Tenant: tenant, Online: true}, b.on)
	}
	if len(b.off) > 0 {
		p.g.publishUsers(ctx, wireMsg{Kind: kindPresence, Tenant: tenant}, b.off)
	}
}

// rebuild reads the profiles of every user of t again and the reach of
// every class, and tells each watcher here what that changed: a user they
// may no longer see is offline to them, one they now may see online.
func (p *presence) rebuild(ctx context.Context, t *presenceTenant) error {
	p.mu.Lock()
	old := make(map[string]*presenceClass, len(t.users))
	for id, u := range t.users {
		old[id] = u.class
		u.class = nil
	}
	t.classes = map[string]*presenceClass{}
	t.refresh = false
	p.mu.Unlock()
	if err := p.readProfiles(ctx, t); err != nil {
		return err
	}
	if err := p.placeClasses(ctx, t); err != nil {
		return err
	}
	p.mu.Lock()
	sends := t.correctionsLocked(old)
	watchSends := t.watchCorrectionsLocked(old)
	p.mu.Unlock()
	for w, frames := range sends {
		for _, c := range p.g.hub.conns(w) {
			if c.watching {
				continue
			}
			for _, f := range frames {
				c.send(f, true)
			}
		}
	}
	for c, frames := range watchSends {
		for _, f := range frames {
			c.send(f, true)
		}
	}
	return nil
}

// oldSees reports whether w saw u before a rebuild (old classes).
func oldSees(old map[string]*presenceClass, w, u string) bool {
	a, b := old[w], old[u]
	return a != nil && b != nil && a.sees[b]
}

// correctionsLocked compares who sees whom before (old classes) and after
// the rebuild, for the users whose class or class reach changed, and
// returns the frames each user here told about everyone they may see
// needs.
func (t *presenceTenant) correctionsLocked(old map[string]*presenceClass) map[string][][]byte {
	changed := map[string]bool{}
	var changedIDs []string
	for id, u := range t.users {
		if o := old[id]; (o == nil) != (u.class == nil) || (o != nil && u.class != nil && !sameReach(o, u.class)) {
			changed[id] = true
			changedIDs = append(changedIDs, id)
		}
	}
	out := map[string][][]byte{}
	if len(changed) == 0 {
		return out
	}
	all := make([]string, 0, len(t.users))
	for id := range t.users {
		all = append(all, id)
	}
	for wid := range t.everyone {
		w := t.users[wid]
		if w == nil {
			continue
		}
		targets := changedIDs
		if changed[wid] {
			targets = all
		}
		for _, uid := range targets {
			u := t.users[uid]
			if wid == uid || !u.told {
				continue
			}
			if f := correction(oldSees(old, wid, uid), sees(w, u), uid, u); f != nil {
				out[wid] = append(out[wid], f)
			}
		}
	}
	return out
}

// watchCorrectionsLocked is correctionsLocked for the watching
// connections here: only about the users each watches.
func (t *presenceTenant) watchCorrectionsLocked(old map[string]*presenceClass) map[*conn][][]byte {
	out := map[*conn][][]byte{}
	for uid, conns := range t.watchers {
		u := t.users[uid]
		if u == nil || !u.told {
			continue
		}
		for c := range conns {
			w := t.users[c.actor.UserID]
			if w == nil {
				continue
			}
			if f := correction(oldSees(old, c.actor.UserID, uid), sees(w, u), uid, u); f != nil {
				out[c] = append(out[c], f)
			}
		}
	}
	return out
}

// correction is the frame that tells a watcher what a rebuild changed
// about u: online when they may now see u, offline when no longer; nil
// when nothing changed.
func correction(before, after bool, uid string, u *presenceUser) []byte {
	switch {
	case after && !before:
		return u.frame
	case before && !after:
		return encodeFrame(framePresence, 0, presenceData{UserID: uid, Status: statusOffline})
	}
	return nil
}

// sameReach reports whether a user moved from class o (before a rebuild)
// to class n keeps the same profile and the same reach to and from every
// class (compared by profile).
func sameReach(o, n *presenceClass) bool {
	if o.key != n.key || len(o.sees) != len(n.sees) {
		return false
	}
	byKey := make(map[string]bool, len(n.sees))
	for c, ok := range n.sees {
		byKey[c.key] = ok
	}
	for c, ok := range o.sees {
		if v, found := byKey[c.key]; !found || v != ok {
			return false
		}
	}
	return true
}
