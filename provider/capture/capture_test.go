package capture_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/capture"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return t0 } }

func out(ch whitecross.Channel, to, subject string) *whitecross.Outbound {
	return &whitecross.Outbound{DeliveryID: "d-" + subject, Channel: ch, To: to, Subject: subject, Text: "body " + subject}
}

func TestSendRecordsACopy(t *testing.T) {
	t.Parallel()
	o := capture.New(0, fixedClock())
	require.Equal(t, capture.DefaultCapacity, o.Cap())

	in := out(whitecross.ChannelEmail, "ana@example.org", "hello")
	res, err := o.Send(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, "capture-1", res.ProviderID)
	require.Equal(t, whitecross.DeliveryDelivered, res.Status)

	in.Subject = "changed after send" // the outbox must hold its own copy
	got, err := o.Get("1")
	require.NoError(t, err)
	require.Equal(t, "hello", got.Outbound.Subject)
	require.Equal(t, "ana@example.org", got.Outbound.To)
	require.True(t, got.CapturedAt.Equal(t0))
	require.Equal(t, "capture-1", got.ProviderID)

	byProvider, err := o.Get("capture-1")
	require.NoError(t, err)
	require.Equal(t, "1", byProvider.ID)

	_, err = o.Get("99")
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
	require.Equal(t, 1, o.Len())
}

func TestRingDropsOldest(t *testing.T) {
	t.Parallel()
	o := capture.New(3, fixedClock())
	for i := 1; i <= 5; i++ {
		_, err := o.Send(context.Background(), out(whitecross.ChannelSMS, "+15550100", fmt.Sprint(i)))
		require.NoError(t, err)
	}
	require.Equal(t, 3, o.Len())
	var subjects []string
	for _, m := range o.List(capture.Filter{}) {
		subjects = append(subjects, m.Outbound.Subject)
	}
	require.Equal(t, []string{"5", "4", "3"}, subjects)
	_, err := o.Get("2")
	require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "dropped message is gone")

	o.Clear()
	require.Zero(t, o.Len())
	require.Empty(t, o.List(capture.Filter{}))
	res, err := o.Send(context.Background(), out(whitecross.ChannelSMS, "+15550100", "6"))
	require.NoError(t, err)
	require.Equal(t, "capture-6", res.ProviderID, "ids are never reused after Clear")
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	o := capture.New(10, fixedClock())
	ctx := context.Background()
	for _, in := range []*whitecross.Outbound{
		out(whitecross.ChannelEmail, "Ana@Example.org", "a"),
		out(whitecross.ChannelSMS, "+15550101", "b"),
		out(whitecross.ChannelEmail, "bo@example.org", "c"),
		out(whitecross.ChannelEmail, "ana@other.org", "d"),
		out(whitecross.ChannelVoice, "+15550101", "e"),
	} {
		_, err := o.Send(ctx, in)
		require.NoError(t, err)
	}
	subjects := func(f capture.Filter) []string {
		var s []string
		for _, m := range o.List(f) {
			s = append(s, m.Outbound.Subject)
		}
		return s
	}
	require.Equal(t, []string{"d", "c", "a"}, subjects(capture.Filter{Channel: whitecross.ChannelEmail}))
	require.Equal(t, []string{"d", "a"}, subjects(capture.Filter{To: "ANA@"}))
	require.Equal(t, []string{"e", "b"}, subjects(capture.Filter{To: "0101"}))
	require.Equal(t, []string{"b"}, subjects(capture.Filter{Channel: whitecross.ChannelSMS, To: "0101"}))
	require.Equal(t, []string{"e", "d"}, subjects(capture.Filter{Limit: 2}))
	require.Empty(t, subjects(capture.Filter{Channel: whitecross.ChannelPush}))
}

func TestListFiltersByTenant(t *testing.T) {
	t.Parallel()
	o := capture.New(10, fixedClock())
	for i, tenant := range []string{"t1", "t2", "t1", ""} {
		in := out(whitecross.ChannelEmail, "ana@example.org", fmt.Sprint(i))
		in.TenantID = tenant
		_, err := o.Send(context.Background(), in)
		require.NoError(t, err)
	}
	subjects := func(f capture.Filter) []string {
		var s []string
		for _, m := range o.List(f) {
			s = append(s, m.Outbound.Subject)
		}
		return s
	}
	require.Equal(t, []string{"2", "0"}, subjects(capture.Filter{TenantID: "t1"}), "one district sees only its own sends")
	require.Equal(t, []string{"1"}, subjects(capture.Filter{TenantID: "t2", Channel: whitecross.ChannelEmail}))
	require.Empty(t, subjects(capture.Filter{TenantID: "t3"}))
	require.Equal(t, []string{"3", "2", "1", "0"}, subjects(capture.Filter{}), "no tenant filter: every send")
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	o := capture.New(50, nil)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				res, err := o.Send(context.Background(), out(whitecross.ChannelPush, fmt.Sprintf("w%d", w), fmt.Sprint(i)))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- res.ProviderID
				_ = o.List(capture.Filter{Limit: 5})
				_ = o.Len()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
	require.Len(t, seen, workers*each)
	require.Equal(t, 50, o.Len())
	list := o.List(capture.Filter{})
	require.Equal(t, fmt.Sprint(workers*each), list[0].ID, "newest first")
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	o := capture.New(5, fixedClock())
	perm := &whitecross.ProviderError{Provider: "capture", Permanent: true, Code: "550", Message: "rejected"}
	o.FailNext(2, perm)
	ctx := context.Background()
	for range 2 {
		_, err := o.Send(ctx, out(whitecross.ChannelEmail, "a@example.org", "x"))
		var pe *whitecross.ProviderError
		require.True(t, errors.As(err, &pe))
		require.True(t, pe.Permanent)
		require.Equal(t, "550", pe.Code)
	}
	require.Zero(t, o.Len(), "failed sends are not recorded")
	res, err := o.Send(ctx, out(whitecross.ChannelEmail, "a@example.org", "x"))
	require.NoError(t, err)
	require.Equal(t, "capture-1", res.ProviderID)

	o.FailNext(1, &whitecross.ProviderError{Provider: "capture", Code: "503", RetryAfter: time.Minute})
	o.FailNext(0, nil) // cancels
	_, err = o.Send(ctx, out(whitecross.ChannelEmail, "a@example.org", "y"))
	require.NoError(t, err)
}

func TestDelayHonoursContext(t *testing.T) {
	t.Parallel()
	o := capture.New(5, fixedClock())
	o.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := o.Send(ctx, out(whitecross.ChannelSMS, "+15550100", "slow"))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not stop when its context ended")
	}
	require.Zero(t, o.Len())

	o.SetDelay(0)
	_, err := o.Send(context.Background(), out(whitecross.ChannelSMS, "+15550100", "fast"))
	require.NoError(t, err)
}
