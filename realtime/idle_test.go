package realtime_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestIdleSessionSocketCloses: an open connection is not use of its
// session: a staff member's session left idle past the district's timeout
// closes its connection with 4002 at the next session check, while a
// guardian's (never timed out) stays.
func TestIdleSessionSocketCloses(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, options{config: quickSessionChecks})
		d := b.d
		five := 5
		_, err := b.first.st.UpdateTenantSettings(d.System(), whitecross.TenantSettings{IdleTimeoutMinutes: &five})
		require.NoError(t, err)
		staff := b.connect(t, b.first, d.LincolnStaff)
		parent := b.connect(t, b.first, d.LincolnParent)
		b.clock.Advance(4 * time.Minute)
		require.Empty(t, staff.sync(t), "open within the timeout")
		b.clock.Advance(3 * time.Minute) // 5 minutes and 2 of grace (whitecross.IdleAfter)
		err = staff.closed(t)
		require.Equal(t, realtime.CloseSessionRevoked, closeStatus(err), "%v", err)
		require.Empty(t, parent.sync(t), "guardians are not timed out")
	})
}
