package realtime

import (
	"context"
	"sync"
	"time"

	"whitecross"
)

// presence tracks who is online on any instance and tells the people who
// may message a user (Store.Messagers) when that user comes and goes.
//
// A user is online while any instance has a connection of theirs. Each
// instance announces its own users on the broker: online at their first
// connection, offline PresenceGrace after their last one closed (a reload
// or a flaky network does not flap), every user it has when another
// instance says hello, and nobody when it says bye. An instance not heard
// from for three heartbeats is taken as gone.
//
// Every instance then decides for its own connections who is told: that is
// one store query over the tenant's users connected here per change, done
// by one worker goroutine that coalesces changes of the same user, so a
// burst of connections delays presence rather than loading the database.
type presence struct {
	g *Gateway

	mu        sync.Mutex
	online    map[string]*presenceEntry      // user -> instances where online
	byTenant  map[string]map[string]struct{} // tenant -> users online anywhere
	pending   map[string]pendingOffline      // local user -> when to announce offline
	instances map[string]time.Time           // other instance -> last heard
	announced map[string]struct{}            // users last announced online here
	lastBeat  time.Time

	wmu   sync.Mutex
	jobs  map[presenceKey]presenceJob
	order []presenceKey
	wake  chan struct{}
}

type presenceEntry struct {
	tenant string
	where  map[string]struct{}
}

type pendingOffline struct {
	tenant string
	at     time.Time
}

// presenceKey coalesces work: one announcement per user, one snapshot per
// connection.
type presenceKey struct {
	user string
	conn uint64
}

// presenceJob announces user's status to the connections here (conn nil),
// or sends conn the snapshot of who is online.
type presenceJob struct {
	tenant, user string
	conn         *conn
}

func newPresence(g *Gateway) *presence {
	return &presence{g: g, online: map[string]*presenceEntry{}, byTenant: map[string]map[string]struct{}{},
		pending: map[string]pendingOffline{}, instances: map[string]time.Time{}, announced: map[string]struct{}{},
		jobs: map[presenceKey]presenceJob{}, wake: make(chan struct{}, 1)}
}

func (p *presence) off() bool { return p.g.cfg.DisablePresence }

// localOnline records a user's first connection here.
func (p *presence) localOnline(tenant, user string) {
	if p.off() {
		return
	}
	p.mu.Lock()
	if _, ok := p.pending[user]; ok {
		delete(p.pending, user) // back within the grace period: no change
		p.mu.Unlock()
		return
	}
	changed := p.applyLocked(p.g.instance, tenant, user, true)
	p.mu.Unlock()
	if changed {
		p.queue(presenceJob{tenant: tenant, user: user})
	}
	p.g.publish(context.Background(), &wireMsg{Kind: kindPresence, Tenant: tenant, Users: []string{user}, Online: true})
}

// localGone records that a user's last connection here closed.
func (p *presence) localGone(tenant, user string) {
	if p.off() {
		return
	}
	p.mu.Lock()
	p.pending[user] = pendingOffline{tenant: tenant, at: p.g.cfg.Now().Add(p.g.cfg.PresenceGrace)}
	p.mu.Unlock()
}

// applyLocked sets whether user is online on instance inst and reports
// whether that changed the user's status.
func (p *presence) applyLocked(inst, tenant, user string, on bool) bool {
	e := p.online[user]
	before := e != nil
	if on {
		if e == nil {
			e = &presenceEntry{tenant: tenant, where: map[string]struct{}{}}
			p.online[user] = e
		}
		e.where[inst] = struct{}{}
	} else if e != nil {
		delete(e.where, inst)
		if len(e.where) == 0 {
			delete(p.online, user)
		}
	}
	after := p.online[user] != nil
	if before == after {
		return false
	}
	set := p.byTenant[tenant]
	if after {
		if set == nil {
			set = map[string]struct{}{}
			p.byTenant[tenant] = set
		}
		set[user] = struct{}{}
	} else if set != nil {
		delete(set, user)
		if len(set) == 0 {
			delete(p.byTenant, tenant)
		}
	}
	return true
}

// remote applies another instance's announcement.
func (p *presence) remote(inst, tenant string, users []string, on bool) {
	if p.off() {
		return
	}
	p.heard(inst)
	var changed []string
	p.mu.Lock()
	for _, u := range users {
		if p.applyLocked(inst, tenant, u, on) {
			changed = append(changed, u)
		}
	}
	p.mu.Unlock()
	for _, u := range changed {
		p.queue(presenceJob{tenant: tenant, user: u})
	}
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
	var jobs []presenceJob
	p.mu.Lock()
	delete(p.instances, inst)
	for u, e := range p.online {
		if _, ok := e.where[inst]; ok && p.applyLocked(inst, e.tenant, u, false) {
			jobs = append(jobs, presenceJob{tenant: e.tenant, user: u})
		}
	}
	p.mu.Unlock()
	for _, j := range jobs {
		p.queue(j)
	}
}

// announceLocal publishes every user online here, for an instance that
// just (re)subscribed.
func (p *presence) announceLocal(ctx context.Context) {
	if p.off() {
		return
	}
	byTenant := map[string][]string{}
	for u, t := range p.g.hub.users() {
		byTenant[t] = append(byTenant[t], u)
	}
	p.mu.Lock()
	for u, po := range p.pending {
		byTenant[po.tenant] = append(byTenant[po.tenant], u)
	}
	p.mu.Unlock()
	for t, users := range byTenant {
		p.g.publishUsers(ctx, wireMsg{Kind: kindPresence, Tenant: t, Online: true}, users)
	}
}

// tick announces offline the users whose grace period ended, forgets
// instances not heard from, and sends this instance's heartbeat.
func (p *presence) tick(ctx context.Context, now time.Time) {
	if p.off() {
		return
	}
	var jobs []presenceJob
	gone := map[string][]string{} // tenant -> users offline here
	p.mu.Lock()
	for u, po := range p.pending {
		if now.Before(po.at) {
			continue
		}
		delete(p.pending, u)
		if p.g.hub.has(u) {
			continue
		}
		gone[po.tenant] = append(gone[po.tenant], u)
		if p.applyLocked(p.g.instance, po.tenant, u, false) {
			jobs = append(jobs, presenceJob{tenant: po.tenant, user: u})
		}
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
	for _, j := range jobs {
		p.queue(j)
	}
	for t, users := range gone {
		p.g.publishUsers(ctx, wireMsg{Kind: kindPresence, Tenant: t}, users)
	}
	for _, inst := range silent {
		p.instanceGone(inst)
	}
	if beat {
		p.g.publish(ctx, &wireMsg{Kind: kindAlive})
	}
}

// snapshot queues, for a new connection, presence online of every user
// online now whom its user may message.
func (p *presence) snapshot(c *conn) {
	if p.off() {
		return
	}
	p.queue(presenceJob{tenant: c.actor.TenantID, user: c.actor.UserID, conn: c})
}

func (p *presence) queue(j presenceJob) {
	k := presenceKey{user: j.user}
	if j.conn != nil {
		k = presenceKey{conn: j.conn.id}
	}
	p.wmu.Lock()
	if _, ok := p.jobs[k]; !ok {
		p.order = append(p.order, k)
	}
	p.jobs[k] = j
	p.wmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run does the queued work, one job at a time, until ctx ends.
func (p *presence) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			p.wmu.Lock()
			if len(p.order) == 0 {
				p.order = nil
				p.wmu.Unlock()
				break
			}
			k := p.order[0]
			p.order = p.order[1:]
			j := p.jobs[k]
			delete(p.jobs, k)
			p.wmu.Unlock()
			if j.conn != nil {
				p.sendSnapshot(ctx, j.conn)
			} else {
				p.announce(ctx, j.tenant, j.user)
			}
		}
	}
}

// announce tells the connections here that may message user its status,
// unless they were already told it.
func (p *presence) announce(ctx context.Context, tenant, user string) {
	p.mu.Lock()
	online := p.online[user] != nil
	_, told := p.announced[user]
	if online && told {
		p.mu.Unlock()
		return
	}
	if online {
		p.announced[user] = struct{}{}
	} else {
		delete(p.announced, user)
	}
	p.mu.Unlock()
	var candidates []string
	for _, u := range p.g.hub.tenantUsers(tenant) {
		if u != user {
			candidates = append(candidates, u)
		}
	}
	if len(candidates) == 0 {
		return
	}
	sctx, cancel := p.g.storeContext(ctx)
	to, err := p.g.cfg.Store.Messagers(sctx, tenant, user, candidates)
	cancel()
	if err != nil {
		if whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
			p.g.log.Error("realtime: presence audience", "user_id", user, "error", err.Error())
		}
		return
	}
	status := statusOffline
	if online {
		status = statusOnline
	}
	p.g.hub.sendEphemeral(to, encodeFrame(framePresence, 0, presenceData{UserID: user, Status: status}))
}

// sendSnapshot sends c presence online for each user online now whom c's
// user may message.
func (p *presence) sendSnapshot(ctx context.Context, c *conn) {
	if c.isClosed() {
		return
	}
	p.mu.Lock()
	var ids []string
	for u := range p.byTenant[c.actor.TenantID] {
		if u != c.actor.UserID {
			ids = append(ids, u)
		}
	}
	p.mu.Unlock()
	asUser := whitecross.NewContextWithActor(ctx, c.actor)
	for len(ids) > 0 {
		n := min(len(ids), whitecross.MaxRecipientIDs)
		sctx, cancel := p.g.storeContext(asUser)
		ok, err := p.g.cfg.Store.FilterMessageable(sctx, ids[:n])
		cancel()
		if err != nil {
			p.g.log.Error("realtime: presence snapshot", "user_id", c.actor.UserID, "error", err.Error())
			return
		}
		for _, u := range ids[:n] {
			if ok[u] {
				c.send(encodeFrame(framePresence, 0, presenceData{UserID: u, Status: statusOnline}), true)
			}
		}
		ids = ids[n:]
	}
}
