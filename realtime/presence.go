package realtime

import (
	"context"
	"sync"
	"time"
)

// presence tracks who is online on any instance and tells the people who
// may message a user when that user comes and goes.
//
// A user is online while any instance has a connection of theirs. Each
// instance announces its own users on the broker: online at their first
// connection, offline PresenceGrace after their last one closed (a reload
// or a flaky network does not flap), every user it has when another
// instance says hello, and nobody when it says bye. An instance not heard
// from for three heartbeats is taken as gone.
//
// The cost follows changes, not connected users: events only mark a user
// changed in their district's state (presenceTenant); one worker flushes
// the changes every PresenceBatch, so a user who comes and goes within one
// batch costs at most one frame per watcher, and each change is encoded
// once and handed to the watchers a reach index names (presence_index.go)
// without asking the database who they are. A new connection's snapshot is
// read from the same state. A district whose presence setting is off
// (TenantSettings.Presence) has no state and costs nothing.
type presence struct {
	g *Gateway

	mu        sync.Mutex
	tenants   map[string]*presenceTenant
	instances map[string]time.Time // other instance -> last heard
	lastBeat  time.Time

	fmu  sync.Mutex    // one flush at a time
	wake chan struct{} // something waits for the next flush
}

func newPresence(g *Gateway) *presence {
	return &presence{g: g, tenants: map[string]*presenceTenant{}, instances: map[string]time.Time{},
		wake: make(chan struct{}, 1)}
}

func (p *presence) off() bool { return p.g.cfg.DisablePresence }

// signal asks the worker for a flush at the end of the batch window.
func (p *presence) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// tenantLocked returns tenantID's state, created (setting not yet read)
// when missing; nil when the district has presence off.
func (p *presence) tenantLocked(tenantID string) *presenceTenant {
	t := p.stateLocked(tenantID)
	if t.setting == settingOff {
		return nil
	}
	return t
}

// localOnline records a user's first connection here.
func (p *presence) localOnline(tenant, user string) {
	if p.off() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tenantLocked(tenant)
	if t == nil {
		return
	}
	if _, ok := t.pending[user]; ok {
		delete(t.pending, user) // back within the grace period: no change
		return
	}
	t.set(p.g.instance, user, true)
	t.out[user] = true
	p.signal()
}

// localGone records that a user's last connection here closed: offline
// once the grace period ends (tick).
func (p *presence) localGone(tenant, user string) {
	if p.off() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.tenantLocked(tenant); t != nil {
		t.pending[user] = p.g.cfg.Now().Add(p.g.cfg.PresenceGrace)
	}
}

// snapshot queues, for a new connection, presence online of every user
// online now whom its user may message (sent at the next flush). A
// watching connection's snapshot waits for its first presence.watch.
func (p *presence) snapshot(c *conn) {
	if p.off() || c.watching {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.tenantLocked(c.actor.TenantID); t != nil {
		t.snaps[c] = struct{}{}
		p.signal()
	}
}

// remote applies another instance's announcement.
func (p *presence) remote(inst, tenant string, users []string, on bool) {
	if p.off() {
		return
	}
	p.heard(inst)
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tenantLocked(tenant)
	if t == nil {
		return
	}
	for _, u := range users {
		t.set(inst, u, on)
	}
	p.signal()
}

// heard records that instance inst is alive.
func (p *presence) heard(inst string) {
	p.mu.Lock()
	p.instances[inst] = p.g.cfg.Now()
	p.mu.Unlock()
}

// peers returns how many other instances are known alive.
func (p *presence) peers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.instances)
}

// instanceGone takes every user of instance inst offline there.
func (p *presence) instanceGone(inst string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.instances, inst)
	for _, t := range p.tenants {
		for id, u := range t.users {
			if _, ok := u.where[inst]; ok {
				t.set(inst, id, false)
			}
		}
	}
	p.signal()
}

// announceLocal publishes every user online here, for an instance that
// just (re)subscribed.
func (p *presence) announceLocal(ctx context.Context) {
	if p.off() {
		return
	}
	byTenant := map[string][]string{}
	p.mu.Lock()
	for u, tenant := range p.g.hub.users() {
		if t := p.tenants[tenant]; t == nil || t.setting != settingOff {
			byTenant[tenant] = append(byTenant[tenant], u)
		}
	}
	for _, t := range p.tenants {
		for u := range t.pending {
			byTenant[t.id] = append(byTenant[t.id], u)
		}
	}
	p.mu.Unlock()
	for t, users := range byTenant {
		p.g.publishUsers(ctx, wireMsg{Kind: kindPresence, Tenant: t, Online: true}, users)
	}
}

// tick takes offline the users whose grace period ended, marks districts
// whose setting and reach index are due for a refresh, forgets instances
// not heard from, and sends this instance's heartbeat.
func (p *presence) tick(ctx context.Context, now time.Time) {
	if p.off() {
		return
	}
	p.mu.Lock()
	for _, t := range p.tenants {
		p.expireLocked(t, now)
	}
	var silent []string
	for inst, at := range p.instances {
		if now.Sub(at) > 3*p.g.cfg.Heartbeat {
			silent = append(silent, inst)
		}
	}
	beat := now.Sub(p.lastBeat) >= p.g.cfg.Heartbeat
	if beat {
		p.lastBeat = now
	}
	p.mu.Unlock()
	for _, inst := range silent {
		p.instanceGone(inst)
	}
	if beat {
		p.g.publish(ctx, &wireMsg{Kind: kindAlive})
	}
}

// expireLocked ends t's grace periods that are over and marks t for a
// refresh when its setting was read PresenceRefresh ago.
func (p *presence) expireLocked(t *presenceTenant, now time.Time) {
	for u, at := range t.pending {
		if now.Before(at) {
			continue
		}
		delete(t.pending, u)
		if p.g.hub.has(u) {
			continue
		}
		t.set(p.g.instance, u, false)
		t.out[u] = false
		p.signal()
	}
	if t.setting != settingUnknown && !t.refresh && now.Sub(t.checked) >= p.g.cfg.PresenceRefresh {
		t.refresh = true
		p.signal()
	}
}

// run flushes the changes PresenceBatch after the first one of a batch,
// until ctx ends.
func (p *presence) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		t := time.NewTimer(p.g.cfg.PresenceBatch)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		p.flush(ctx)
	}
}
