package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/audit"
	"whitecross/store"
)

// exerciseAuditLinking covers the group commit of the audit chain: events
// written unlinked in their change's transaction, linked in batches.
func exerciseAuditLinking(t *testing.T, open Opener) {
	t.Run("ConcurrentAppendsWithTheLinkerMakeOneChain", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		stop := runLinker(st, 0)
		const writers, each = 20, 5
		appendConcurrently(t, st, tenant, writers, each)
		waitLinked(t, st, tenant, writers*each)
		stop()
		requireChainOK(t, st, tenant, writers*each)
	})

	t.Run("CommitsWaitingTogetherLinkInOneBatch", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		linker := st.NewAuditLinker(0, time.Hour) // registered, not running
		appendConcurrently(t, st, tenant, 10, 3)
		head, err := st.AuditHead(ctx, tenant)
		require.NoError(t, err)
		require.Zero(t, head.Seq, "events are linked by the linker, not by the commit")
		stats, err := linker.LinkPending(ctx)
		require.NoError(t, err)
		require.Equal(t, store.LinkStats{Events: 30, Batches: 1}, stats)
		requireChainOK(t, st, tenant, 30)
	})

	t.Run("RolledBackChangeLeavesNoEvent", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		boom := errors.New("the change failed")
		err := db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
			e := &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditUserCreated, TargetID: "u"}
			require.NoError(t, st.AppendAuditTx(ctx, tx, e))
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.NoError(t, st.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLogout}))
		pending, err := st.AuditPending(ctx, tenant)
		require.NoError(t, err)
		require.Zero(t, pending)
		events, err := st.AuditEvents(ctx, tenant, 0, 10)
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, whitecross.AuditLogout, events[0].Action)
		requireChainOK(t, st, tenant, 1)
	})

	t.Run("LinkingResumesAfterACrash", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		tenant := insertBareTenant(t, db)
		// The first process links two events, commits 40 more and dies
		// before linking them.
		crashed := store.New(db, nil, nil)
		require.NoError(t, crashed.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLogout}))
		require.NoError(t, crashed.AppendAudit(ctx, &whitecross.AuditEvent{TenantID: tenant, Action: whitecross.AuditLogout}))
		crashed.NewAuditLinker(16, time.Hour)
		appendConcurrently(t, crashed, tenant, 4, 10)
		pending, err := crashed.AuditPending(ctx, tenant)
		require.NoError(t, err)
		require.EqualValues(t, 40, pending)
		// The next process's linker links them at start, after the two.
		restarted := store.New(db, nil, nil)
		stop := runLinker(restarted, 16)
		waitLinked(t, restarted, tenant, 42)
		stop()
		requireChainOK(t, restarted, tenant, 42)
	})
}

// runLinker runs st's linker (batch as NewAuditLinker takes it) until
// stop, which returns once the linker's final round is done.
func runLinker(st *store.Store, batch int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	linker := st.NewAuditLinker(batch, time.Hour)
	done := make(chan struct{})
	go func() { defer close(done); linker.Run(ctx) }()
	return func() { cancel(); <-done }
}

// appendConcurrently appends writers*each events from writers goroutines.
func appendConcurrently(t *testing.T, st *store.Store, tenant string, writers, each int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- st.AppendAudit(context.Background(), &whitecross.AuditEvent{TenantID: tenant,
					Action: whitecross.AuditLoginFailed, Detail: map[string]string{"w": string(rune('a' + w)), "i": string(rune('0' + i))}})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// waitLinked polls, with a deadline, until the tenant's chain holds n events
// and none is pending.
func waitLinked(t *testing.T, st *store.Store, tenant string, n int64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := st.AuditHead(ctx, tenant)
		require.NoError(t, err)
		pending, err := st.AuditPending(ctx, tenant)
		require.NoError(t, err)
		if head.Seq == n && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chain has %d events and %d pending, want %d linked", head.Seq, pending, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// requireChainOK verifies the tenant's chain: n events, every link intact.
func requireChainOK(t *testing.T, st *store.Store, tenant string, n int64) {
	t.Helper()
	rep, err := audit.Verify(context.Background(), st, tenant)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Broken)
	require.Equal(t, n, rep.Events)
}
