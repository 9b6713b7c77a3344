package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestRetentionJobPurges runs the purge job on a real queue and store: the
// message sent 40 days before goes, today's stays, and the run is audited.
func TestRetentionJobPurges(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newSendBundle(t, db, delivery.QueueConfig{}, true)
		d := b.d
		old := b.send(t, &whitecross.MessageCreate{Subject: "Old", Body: "Old news", RecipientIDs: []string{d.LincolnParent.ID}})
		b.clock.Advance(40 * 24 * time.Hour)
		fresh := b.send(t, &whitecross.MessageCreate{Subject: "New", Body: "News", RecipientIDs: []string{d.LincolnParent.ID}})
		tn, err := b.st.CurrentTenant(d.As(d.Admin))
		require.NoError(t, err)
		tn.Settings.RetentionDays = 30
		_, err = b.st.UpdateTenantSettings(d.As(d.Admin), tn.Settings)
		require.NoError(t, err)

		require.NoError(t, b.queue.EnqueueRetention(ctx))
		e := b.waitFor(t, "retention job", func(e *river.Event) bool { return e.Job.Kind == delivery.RetentionKind })
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		events, err := b.st.AuditEvents(ctx, d.Tenant.ID, 0, 1000)
		require.NoError(t, err)
		last := events[len(events)-1]
		require.Equal(t, whitecross.AuditRetentionPurged, last.Action)
		require.Equal(t, "1", last.Detail["messages"])
		_, err = b.st.FindMessageByID(d.System(), old.ID)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "the expired message is gone")
		_, err = b.st.FindMessageByID(d.System(), fresh.ID)
		require.NoError(t, err)
		require.Contains(t, b.logs.String(), `"msg":"retention purge"`)
		require.NotContains(t, b.logs.String(), "Old news", "counts are logged, never content")
	})
}

// morePurger is a dispatcher whose purge stops at its budget the first
// time and finishes the second.
type morePurger struct {
	*fakeDispatcher
	mu     sync.Mutex
	calls  int
	budget time.Duration
}

func (p *morePurger) PurgeExpired(ctx context.Context, opts store.PurgeOptions) ([]*store.PurgeRun, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.budget = opts.Budget
	return []*store.PurgeRun{{TenantSlug: "springfield", More: p.calls == 1}}, nil
}

// TestRetentionJobContinuesInFreshAttempts: a purge that stops at its
// budget (two thirds of the timeout) continues in a snooze, not a retry.
func TestRetentionJobContinuesInFreshAttempts(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		p := &morePurger{fakeDispatcher: &fakeDispatcher{}}
		b := newQueue(t, db, p, delivery.QueueConfig{DispatchTimeout: 90 * time.Second})
		require.NoError(t, b.queue.EnqueueRetention(context.Background()))
		e := b.waitFor(t, "retention job", func(e *river.Event) bool { return e.Job.Kind == delivery.RetentionKind })
		require.Equal(t, river.EventKindJobCompleted, e.Kind)
		require.Equal(t, 1, e.Job.Attempt, "the continuation is not an attempt")
		p.mu.Lock()
		defer p.mu.Unlock()
		require.Equal(t, 2, p.calls)
		require.Equal(t, time.Minute, p.budget)
	})
}
