package delivery

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

var pacingStart = time.Date(2031, 9, 1, 8, 0, 0, 0, time.UTC)

// seconds is a duration of s seconds.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// pacedJob is one deliver job in simulate: when it next tries, and its turn
// while it waits in a worker.
type pacedJob struct {
	at     time.Time
	turn   *turn
	urgent bool
	tries  int
	sentAt time.Time
}

// simulate runs jobs through p on virtual time as the deliver workers
// would: each arrives at its at, sends when it takes a token, waits in its
// worker for a turn maxPacingWait away or less (trying again at its eta),
// and snoozes (arriving again later) otherwise. It returns the jobs, each
// with its send time.
func simulate(t *testing.T, p *pacer, jobs []*pacedJob) []*pacedJob {
	t.Helper()
	pending := slices.Clone(jobs)
	for len(pending) > 0 {
		slices.SortStableFunc(pending, func(a, b *pacedJob) int { return a.at.Compare(b.at) })
		j := pending[0]
		j.tries++
		require.Less(t, j.tries, 100, "a job that never gets its turn")
		var ok bool
		var wait time.Duration
		if j.turn == nil {
			j.turn, wait = p.admit(j.at, j.urgent, maxPacingWait)
			ok = j.turn == nil && wait == 0
			if j.turn != nil {
				ok, wait = p.next(j.at, j.turn)
			}
		} else {
			ok, wait = p.next(j.at, j.turn)
		}
		if ok {
			j.sentAt, j.turn = j.at, nil
			pending = pending[1:]
			continue
		}
		j.at = j.at.Add(max(wait, time.Millisecond))
	}
	return jobs
}

func bulkJobs(n int, at time.Time) []*pacedJob {
	jobs := make([]*pacedJob, n)
	for i := range jobs {
		jobs[i] = &pacedJob{at: at}
	}
	return jobs
}

// TestPacerKeepsABurstAtTheConfiguredRate: 200 sends queued at once at 10
// a second go out in 19 s (the first second's worth at once), never more
// than a second's worth plus the rate in any window, and the backlog is
// spread by snooze slots: a job comes back about once, not again and again.
func TestPacerKeepsABurstAtTheConfiguredRate(t *testing.T) {
	t.Parallel()
	const rate, n = 10.0, 200
	p := newPacer(rate, pacingStart)
	jobs := simulate(t, p, bulkJobs(n, pacingStart))

	times := make([]time.Time, n)
	tries := 0
	for i, j := range jobs {
		times[i] = j.sentAt
		tries += j.tries
	}
	slices.SortFunc(times, time.Time.Compare)
	last := times[n-1].Sub(pacingStart)
	require.InDelta(t, float64(n-rate)/rate, last.Seconds(), 0.2, "all sent when the rate allows, not sooner nor much later")
	for _, window := range []time.Duration{time.Second, 5 * time.Second} {
		for i, start := range times {
			end := start.Add(window)
			inWindow := 0
			for _, s := range times[i:] {
				if s.Before(end) {
					inWindow++
				}
			}
			require.LessOrEqual(t, float64(inWindow), rate+rate*window.Seconds(), "sends in %s from %s", window, start.Sub(pacingStart))
		}
	}
	require.Less(t, float64(tries)/n, 3.0, "each job tried about twice: arriving and at its slot")
}

// TestUrgentTakesTheNextTokenAheadOfWaitingBulk: an urgent job that
// arrives behind waiting bulk jobs gets the next token, and behind a
// backlog of snoozed bulk jobs it still waits no more than one token.
func TestUrgentTakesTheNextTokenAheadOfWaitingBulk(t *testing.T) {
	t.Parallel()
	p := newPacer(1, pacingStart)
	turn, snooze := p.admit(pacingStart, false, maxPacingWait)
	require.True(t, turn == nil && snooze == 0, "the first bulk job takes the bucket's token")
	b1, _ := p.admit(pacingStart, false, maxPacingWait)
	b2, _ := p.admit(pacingStart, false, maxPacingWait)
	require.NotNil(t, b1)
	require.NotNil(t, b2)

	u, _ := p.admit(pacingStart.Add(seconds(0.5)), true, maxPacingWait)
	require.NotNil(t, u, "the urgent job waits its turn in its worker")
	_, eta := p.next(pacingStart.Add(seconds(0.5)), u)
	require.Equal(t, seconds(0.5), eta, "its turn is the next token")

	at := pacingStart.Add(time.Second)
	ok, _ := p.next(at, b1)
	require.False(t, ok, "the bulk job that waited longest does not get the token")
	ok, _ = p.next(at, u)
	require.True(t, ok, "the urgent one does")
	ok, _ = p.next(at.Add(time.Second), b2)
	require.False(t, ok, "bulk keeps its order")
	ok, _ = p.next(at.Add(time.Second), b1)
	require.True(t, ok)

	// A newsletter's backlog of 1,000 snoozes into slots far ahead; an
	// emergency arriving now still gets the next token.
	later := at.Add(time.Minute)
	for range 1000 {
		p.admit(later, false, maxPacingWait) // the first few wait in their workers, the rest snooze
	}
	require.Greater(t, p.horizon[1].Sub(later), 15*time.Minute)
	u, snooze = p.admit(later, true, maxPacingWait)
	if u != nil {
		_, snooze = p.next(later, u)
	}
	require.LessOrEqual(t, snooze, time.Second, "an emergency waits one token at most, not behind the newsletter")
}

// TestUrgentBacklogGoesBeforeBulkSnoozers: when the emergency itself is a
// backlog, bulk jobs arriving meanwhile are given slots after it.
func TestUrgentBacklogGoesBeforeBulkSnoozers(t *testing.T) {
	t.Parallel()
	p := newPacer(2, pacingStart)
	var jobs []*pacedJob
	for i := range 60 { // more of the newsletter, fetched while the emergency drains
		jobs = append(jobs, &pacedJob{at: pacingStart.Add(seconds(5 + float64(i)/4))})
	}
	jobs = append(jobs, bulkJobs(40, pacingStart)...)
	for range 40 {
		jobs = append(jobs, &pacedJob{at: pacingStart.Add(seconds(0.1)), urgent: true})
	}
	simulate(t, p, jobs)
	var lastUrgent, firstBulkAfter time.Time
	for _, j := range jobs {
		if j.urgent && j.sentAt.After(lastUrgent) {
			lastUrgent = j.sentAt
		}
	}
	for _, j := range jobs {
		if !j.urgent && j.sentAt.After(pacingStart.Add(time.Second)) && (firstBulkAfter.IsZero() || j.sentAt.Before(firstBulkAfter)) {
			firstBulkAfter = j.sentAt
		}
	}
	require.InDelta(t, 20.5, lastUrgent.Sub(pacingStart).Seconds(), 1.5, "40 urgent at 2 a second, behind the few bulk sends that had started")
	require.False(t, firstBulkAfter.Before(lastUrgent), "no bulk send before the urgent backlog is done")
}

// TestBulkLeavesTokensToSnoozingUrgentJobs: while urgent jobs are snoozed
// until slots still to come, a bulk job takes no token, even one that no
// urgent job waits for at this instant.
func TestBulkLeavesTokensToSnoozingUrgentJobs(t *testing.T) {
	t.Parallel()
	p := newPacer(1, pacingStart)
	var waiting []*turn
	snoozed := 0
	for range 10 {
		turn, snooze := p.admit(pacingStart, true, maxPacingWait)
		if turn != nil {
			waiting = append(waiting, turn)
		}
		if snooze > 0 {
			snoozed++
		}
	}
	require.Equal(t, 4, snoozed, "one token at once, five wait, the rest snooze")
	for _, turn := range waiting {
		p.leave(turn) // their workers gave up (a test's clock stood still)
	}
	at := pacingStart.Add(2 * time.Second) // a token is there, no urgent job waits
	turn, snooze := p.admit(at, false, maxPacingWait)
	require.Nil(t, turn)
	require.Equal(t, p.horizon[0].Sub(at), snooze, "bulk snoozes until the urgent slots are past")
	turn, snooze = p.admit(at, true, maxPacingWait)
	require.True(t, turn == nil && snooze == 0, "an urgent job takes the token")
}

// TestThrottleHalvesTheRateAndItRecovers: a throttle pauses the channel
// (Retry-After, else 1 s doubling while throttles follow each other) and
// halves the rate once per pause; the rate climbs back linearly and never
// falls below 1/64 of the configured one.
func TestThrottleHalvesTheRateAndItRecovers(t *testing.T) {
	t.Parallel()
	p := newPacer(10, pacingStart)
	now := pacingStart
	pause, lowered := p.throttle(now, 0)
	require.True(t, lowered)
	require.Equal(t, time.Second, pause)
	require.Equal(t, 5.0, p.current(now))

	pause, lowered = p.throttle(now.Add(seconds(0.5)), 0)
	require.False(t, lowered, "sent before we slowed down: no second halving")
	require.Equal(t, seconds(0.5), pause, "the same pause")
	require.Equal(t, 5.0, p.current(now.Add(seconds(0.5))))
	turn, snooze := p.admit(now.Add(seconds(0.5)), true, maxPacingWait)
	require.NotNil(t, turn, "no token during the pause")
	_, eta := p.next(now.Add(seconds(0.5)), turn)
	require.InDelta(t, 0.7, eta.Seconds(), 0.01, "the pause's end, then a token at 5 a second")
	p.leave(turn)
	require.Zero(t, snooze)

	now = now.Add(seconds(1.5))
	pause, lowered = p.throttle(now, 0)
	require.True(t, lowered)
	require.Equal(t, 2*time.Second, pause, "a throttle right after doubles the pause")
	r := p.current(now)
	require.InDelta(t, (5+10*0.5/60)/2, r, 1e-9, "it had regained a little since the first pause ended")
	require.Equal(t, r, p.current(now.Add(2*time.Second)), "it climbs again only once the pause is over")
	require.InDelta(t, r+10*28/60.0, p.current(now.Add(30*time.Second)), 1e-9, "additive increase: the configured rate a minute")
	require.Equal(t, 10.0, p.current(now.Add(time.Minute)), "whole again, never above")

	p.sent()
	now = now.Add(2 * time.Minute)
	pause, _ = p.throttle(now, 0)
	require.Equal(t, time.Second, pause, "a send ended the streak")
	now = now.Add(time.Hour)
	pause, _ = p.throttle(now, 30*time.Second)
	require.Equal(t, 30*time.Second, pause, "the provider's Retry-After")
	pause, _ = p.throttle(now.Add(time.Second), 2*time.Minute)
	require.Equal(t, 2*time.Minute, pause, "a longer Retry-After during the pause extends it")

	for i := range 30 {
		now = now.Add(3 * time.Hour)
		p.throttle(now, time.Second)
		require.GreaterOrEqual(t, p.current(now), 10.0/minRateShare, "throttle %d", i)
	}
}

// TestUnlimitedPacerOnlyHonoursPauses: rate 0 never holds a send except
// during a throttle's pause, and reports no rate.
func TestUnlimitedPacerOnlyHonoursPauses(t *testing.T) {
	t.Parallel()
	p := newPacer(0, pacingStart)
	for range 1000 {
		turn, snooze := p.admit(pacingStart, false, maxPacingWait)
		require.True(t, turn == nil && snooze == 0)
	}
	_, lowered := p.throttle(pacingStart, 10*time.Second)
	require.True(t, lowered)
	turn, snooze := p.admit(pacingStart.Add(time.Second), false, maxPacingWait)
	require.Nil(t, turn)
	require.Equal(t, 9*time.Second, snooze)
	turn, snooze = p.admit(pacingStart.Add(10*time.Second), false, maxPacingWait)
	require.True(t, turn == nil && snooze == 0, "the pause is over")
	require.True(t, math.IsInf(p.current(pacingStart), 1))

	ps := &pacers{now: func() time.Time { return pacingStart }, maxWait: maxPacingWait, hold: maxPacingWait,
		byChannel: map[whitecross.Channel]*pacer{whitecross.ChannelEmail: p, whitecross.ChannelSMS: newPacer(2.5, pacingStart)}}
	require.Equal(t, map[whitecross.Channel]float64{whitecross.ChannelSMS: 2.5}, ps.rates())
}

// TestPacersWaitNeverHoldsAWorkerLong: with a clock that stands still (a
// test's), a job whose turn does not come gives up after the bound in real
// time and snoozes; one whose turn is far off snoozes at once; a canceled
// job stops waiting.
func TestPacersWaitNeverHoldsAWorkerLong(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return pacingStart }
	ps := newPacers(DeliverConfig{Providers: map[whitecross.Channel]Provider{whitecross.ChannelSMS: {Name: "twilio"}, whitecross.ChannelVoice: {Name: "twilio"}},
		Rates: map[whitecross.Channel]float64{whitecross.ChannelSMS: 1}}, now)
	ps.maxWait = 20 * time.Millisecond
	ctx := context.Background()
	wait, err := ps.wait(ctx, whitecross.ChannelSMS, false)
	require.NoError(t, err)
	require.Zero(t, wait, "the bucket's token")

	ps.maxWait = time.Second
	p := ps.byChannel[whitecross.ChannelSMS]
	t1, _ := p.admit(pacingStart, false, time.Second) // waits for the next token
	require.NotNil(t, t1)
	ps.maxWait = 20 * time.Millisecond
	wait, err = ps.wait(ctx, whitecross.ChannelSMS, false)
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, wait, "second in line at 1 a second: snooze at once")

	ps.maxWait = 5 * time.Second
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ps.wait(ctx2, whitecross.ChannelSMS, true)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, p.urgent, "a job that stopped waiting is forgotten")

	ps.hold = 50 * time.Millisecond
	start := time.Now()
	wait, err = ps.wait(ctx, whitecross.ChannelSMS, true)
	require.NoError(t, err)
	require.Equal(t, time.Second, wait, "the clock stood still: it gave up and snoozes until its turn")
	require.GreaterOrEqual(t, time.Since(start), ps.hold, "it waited for its turn first")
	require.Empty(t, p.urgent)

	wait, err = ps.wait(ctx, whitecross.ChannelVoice, true)
	require.NoError(t, err)
	require.Zero(t, wait, "voice has no rate: never paced")
	wait, err = ps.wait(ctx, whitecross.ChannelEmail, true)
	require.NoError(t, err)
	require.Zero(t, wait, "email has no provider here")
}

// TestPushThrottleSnoozesOnlyItsDelivery: push services limit one
// subscription, so a push throttle neither pauses nor slows the channel.
func TestPushThrottleSnoozesOnlyItsDelivery(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return pacingStart }
	ps := newPacers(DeliverConfig{Providers: map[whitecross.Channel]Provider{whitecross.ChannelPush: {Name: "webpush"}, whitecross.ChannelSMS: {Name: "twilio"}},
		Rates: map[whitecross.Channel]float64{whitecross.ChannelPush: 100, whitecross.ChannelSMS: 100}}, now)
	snooze, lowered := ps.throttled(whitecross.ChannelPush, 10*time.Second)
	require.False(t, lowered)
	require.GreaterOrEqual(t, snooze, 10*time.Second)
	require.LessOrEqual(t, snooze, 15*time.Second)
	require.Equal(t, 100.0, ps.rate(whitecross.ChannelPush))
	wait, err := ps.wait(context.Background(), whitecross.ChannelPush, false)
	require.NoError(t, err)
	require.Zero(t, wait)

	snooze, lowered = ps.throttled(whitecross.ChannelSMS, 0)
	require.True(t, lowered)
	require.GreaterOrEqual(t, snooze, time.Second)
	require.LessOrEqual(t, snooze, seconds(1.5))
	require.Equal(t, 50.0, ps.rate(whitecross.ChannelSMS))
}

// BenchmarkPacerSend is what pacing adds to one send when its token is
// there: an admit under the channel's lock.
func BenchmarkPacerSend(b *testing.B) {
	p := newPacer(1e9, pacingStart)
	now := pacingStart
	for b.Loop() {
		now = now.Add(time.Microsecond)
		if turn, snooze := p.admit(now, false, maxPacingWait); turn != nil || snooze != 0 {
			b.Fatal("no token")
		}
	}
}
