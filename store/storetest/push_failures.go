package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/netguard"
	"whitecross/store"
)

// testWorkPushFailures: a push subscription that keeps failing is disabled
// once it has failed PushFailuresToDisable times in a row over at least
// PushFailingFor; deliveries then skip it, its owner still lists it, and
// registering the browser again enables it. A send that works ends the
// streak; another tenant cannot touch it.
func testWorkPushFailures(t *testing.T, open Opener) {
	b, sub := setupWork(t, open)
	d, ctx := b.d, context.Background()
	other := SeedDistrictSlug(t, b.st, "shelbyville")
	m := workMessage(t, b, "Picture day", whitecross.PriorityMedium, []whitecross.Channel{whitecross.ChannelPush}, d.LincolnParent)
	pushID := deliveryID(t, b.db, m.ID, d.LincolnParent.ID, whitecross.ChannelPush)
	tried := func() []*whitecross.PushSubscription {
		t.Helper()
		task, err := b.st.LoadDeliveryTask(ctx, d.Tenant.ID, pushID)
		require.NoError(t, err)
		return task.Recipient.Push
	}
	listed := func() *whitecross.PushSubscription {
		t.Helper()
		subs, err := b.st.ListPushSubscriptions(d.As(d.LincolnParent))
		require.NoError(t, err)
		require.Len(t, subs, 1)
		return subs[0]
	}
	fail := func(n int, every time.Duration) {
		t.Helper()
		for range n {
			require.NoError(t, b.st.RecordPushResult(ctx, d.Tenant.ID, sub.ID, "webpush permanent failure 400: push service rejected the message (HTTP 400)"))
			b.clock.Advance(every)
		}
	}

	// Many failures in a short time (a push service outage): not disabled.
	start := b.clock.Now()
	fail(store.PushFailuresToDisable+3, time.Minute)
	got := listed()
	require.Equal(t, store.PushFailuresToDisable+3, got.Failures)
	require.True(t, got.FailingSince.Equal(start))
	require.Contains(t, got.LastError, "HTTP 400")
	require.Nil(t, got.DisabledAt)
	require.Len(t, tried(), 1)

	// One send that works ends the streak.
	require.NoError(t, b.st.RecordPushResult(ctx, d.Tenant.ID, sub.ID, ""))
	got = listed()
	require.Zero(t, got.Failures)
	require.Nil(t, got.FailingSince)
	require.Empty(t, got.LastError)

	// Another tenant's record changes nothing; a malformed id neither.
	for range store.PushFailuresToDisable + 1 {
		require.NoError(t, b.st.RecordPushResult(ctx, other.Tenant.ID, sub.ID, "x"))
	}
	require.NoError(t, b.st.RecordPushResult(ctx, d.Tenant.ID, "not-an-id", "x"))
	require.Zero(t, listed().Failures)

	// Failing for long enough disables it.
	every := store.PushFailingFor / time.Duration(store.PushFailuresToDisable-1)
	fail(store.PushFailuresToDisable-1, every)
	require.Nil(t, listed().DisabledAt, "one failure short")
	disabledAt := b.clock.Now()
	fail(1, time.Minute)
	got = listed()
	require.NotNil(t, got.DisabledAt)
	require.True(t, got.DisabledAt.Equal(disabledAt))
	require.Equal(t, store.PushFailuresToDisable, got.Failures)
	require.Empty(t, tried(), "deliveries skip a disabled subscription")
	fail(2, time.Minute)
	require.Equal(t, store.PushFailuresToDisable, listed().Failures, "a disabled subscription counts nothing more")

	// The owner registers the browser again: enabled, failures forgotten.
	b.st.SetPushGuard(netguard.Guard{Resolver: TestResolver{}})
	again := &whitecross.PushSubscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}
	require.NoError(t, b.st.SavePushSubscription(d.As(d.LincolnParent), again))
	require.Equal(t, sub.ID, again.ID)
	got = listed()
	require.Nil(t, got.DisabledAt)
	require.Zero(t, got.Failures)
	require.Len(t, tried(), 1)
}
