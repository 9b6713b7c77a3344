package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseAuditReads checks the group commit of read events
// (store/audit_reads.go): nothing is lost or doubled when many reads
// arrive at once, and each read is one event naming its messages.
func exerciseAuditReads(t *testing.T, open Opener) {
	t.Run("ConcurrentReadsAreEachOneEventInOneChain", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		stop := runLinker(st, 0)
		const readers, each = 40, 5
		var wg sync.WaitGroup
		errs := make(chan error, readers*each)
		for r := range readers {
			wg.Go(func() {
				a := &whitecross.Actor{TenantID: tenant, UserID: fmt.Sprintf("reader-%d", r), ClientIP: "192.0.2.1"}
				for i := range each {
					errs <- st.AuditReads(whitecross.NewContextWithActor(ctx, a), "list", []string{fmt.Sprintf("m-%d-%d", r, i), "m-shared"})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		waitLinked(t, st, tenant, readers*each)
		stop()
		requireChainOK(t, st, tenant, readers*each)
		events, err := st.AuditEvents(context.Background(), tenant, 0, 10_000)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, e := range events {
			require.Equal(t, whitecross.AuditMessageRead, e.Action)
			require.Equal(t, "192.0.2.1", e.ClientIP)
			require.Empty(t, e.TargetID, "several messages: named in the detail")
			require.Equal(t, "2", e.Detail["count"])
			key := e.ActorID + "/" + e.Detail["message_ids"]
			require.False(t, seen[key], "event %s written twice", key)
			seen[key] = true
		}
		require.Len(t, seen, readers*each)
	})

	t.Run("OneMessageIsTheTargetAndNoneIsNoEvent", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		st := store.New(db, nil, nil)
		tenant := insertBareTenant(t, db)
		ctx := whitecross.NewContextWithActor(context.Background(), &whitecross.Actor{TenantID: tenant, UserID: "u1"})
		require.NoError(t, st.AuditReads(ctx, "list", nil))
		require.NoError(t, st.AuditReads(whitecross.SystemContext(context.Background(), tenant), "detail", []string{"m1"}))
		require.NoError(t, st.AuditReads(ctx, "detail", []string{"m1"}))
		events, err := st.AuditEvents(context.Background(), tenant, 0, 100)
		require.NoError(t, err)
		require.Len(t, events, 1, "no event for no messages, nor for the system's own reads")
		require.Equal(t, "m1", events[0].TargetID)
		require.Equal(t, "message", events[0].TargetType)
		require.Equal(t, map[string]string{"via": "detail", "message_ids": "m1", "count": "1"}, events[0].Detail)
	})
}
