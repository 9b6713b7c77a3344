package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// linkGap is the least time between two linking rounds woken by commits.
const linkGap = 20 * time.Millisecond

// AuditLinker is the group commit of the audit chain: one loop per
// instance that links the events of every tenant as their transactions
// commit, many to a linking transaction when they arrive together. It also
// links, at start and then every sweep interval, whatever another instance
// or a crash left pending, so no committed event stays unlinked for long.
type AuditLinker struct {
	st    *Store
	batch int
	sweep time.Duration
	wake  chan struct{}

	mu    sync.Mutex
	dirty map[string]struct{} // tenants with commits since the last link
}

// NewAuditLinker returns the store's linker and routes every later commit's
// audit events to it: they stay pending until Run links them. batch bounds
// one linking transaction (DefaultAuditBatch when 0); sweep is how often Run
// looks for events left by other instances (a second when 0).
func (s *Store) NewAuditLinker(batch int, sweep time.Duration) *AuditLinker {
	if batch <= 0 {
		batch = DefaultAuditBatch
	}
	if sweep <= 0 {
		sweep = time.Second
	}
	l := &AuditLinker{st: s, batch: batch, sweep: sweep, wake: make(chan struct{}, 1), dirty: map[string]struct{}{}}
	s.auditLinker.Store(l)
	return l
}

// Run links until ctx ends, then links what is pending once more so that a
// clean shutdown leaves nothing for the next start.
func (l *AuditLinker) Run(ctx context.Context) {
	sweep := time.NewTicker(l.sweep)
	defer sweep.Stop()
	l.linkLogged(ctx, l.LinkPending)
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.linkLogged(final, l.LinkPending)
			cancel()
			return
		case <-l.wake:
			l.linkLogged(ctx, l.linkDirty)
			// Rounds at most every linkGap: under a stream of commits one
			// round then moves many events, and on SQLite the one writer
			// stays free for the requests in between.
			select {
			case <-ctx.Done():
			case <-time.After(linkGap):
			}
		case <-sweep.C:
			l.linkLogged(ctx, l.LinkPending)
		}
	}
}

// LinkStats counts the work of one link call.
type LinkStats struct {
	Events  int // events linked
	Batches int // linking transactions that linked at least one event
}

// LinkPending links every tenant's pending events now.
func (l *AuditLinker) LinkPending(ctx context.Context) (LinkStats, error) {
	rows, err := l.st.db.Reader().Query(AllTenants(ctx), `SELECT DISTINCT tenant_id FROM audit_pending`)
	if err != nil {
		return LinkStats{}, fmt.Errorf("list pending audit tenants: %w", err)
	}
	var tenants []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return LinkStats{}, fmt.Errorf("list pending audit tenants: %w", err)
		}
		tenants = append(tenants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return LinkStats{}, fmt.Errorf("list pending audit tenants: %w", err)
	}
	return l.linkTenants(ctx, tenants)
}

// nudge marks tenantID as having new events and wakes Run; nudges that
// arrive while Run links are served together by its next round.
func (l *AuditLinker) nudge(tenantID string) {
	l.mu.Lock()
	l.dirty[tenantID] = struct{}{}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// linkDirty links the tenants nudged since the last round.
func (l *AuditLinker) linkDirty(ctx context.Context) (LinkStats, error) {
	l.mu.Lock()
	tenants := make([]string, 0, len(l.dirty))
	for id := range l.dirty {
		tenants = append(tenants, id)
	}
	clear(l.dirty)
	l.mu.Unlock()
	return l.linkTenants(ctx, tenants)
}

// linkTenants links each tenant's pending events, batch by batch.
func (l *AuditLinker) linkTenants(ctx context.Context, tenants []string) (LinkStats, error) {
	var st LinkStats
	for _, id := range tenants {
		for {
			n, err := l.st.linkAuditBatch(ctx, id, l.batch)
			if n > 0 {
				st.Events += n
				st.Batches++
			}
			if err != nil {
				return st, err
			}
			if n < l.batch {
				break
			}
		}
	}
	return st, nil
}

// linkLogged runs one link round; a failure is logged and retried by the
// next nudge or sweep, the events staying pending meanwhile.
func (l *AuditLinker) linkLogged(ctx context.Context, link func(context.Context) (LinkStats, error)) {
	if _, err := link(ctx); err != nil && ctx.Err() == nil {
		slog.Warn("audit linking failed; events stay pending", "err", err)
	}
}
