package delivery

import (
	"context"
	"math/rand/v2"
	"time"

	"whitecross"
)

// pacingRecheck is the longest a waiting job sleeps before it looks at
// its pacer again.
const pacingRecheck = 100 * time.Millisecond

// pacers holds the pacer of each channel that has a provider (see pacer),
// shared by the deliver workers of every lane of the process.
type pacers struct {
	now     whitecross.Clock
	maxWait time.Duration // on the clock
	// hold bounds the same wait in real time (maxWait; tests shorten it).
	hold      time.Duration
	byChannel map[whitecross.Channel]*pacer
}

func newPacers(cfg DeliverConfig, now whitecross.Clock) *pacers {
	ps := &pacers{now: now, maxWait: maxPacingWait, hold: maxPacingWait, byChannel: map[whitecross.Channel]*pacer{}}
	for c := range cfg.Providers {
		ps.byChannel[c] = newPacer(cfg.Rates[c], now())
	}
	return ps
}

// wait waits for a send's turn on channel c. It returns 0 when the job may
// send now, else how long the job should snooze instead (its turn is more
// than maxWait away); an error only when ctx ends first.
//
// The bound is kept in real time as well as on the clock, which a test
// may hold still: a worker is never held longer than maxWait. A waiting
// job looks again at least every pacingRecheck, so it sees at once what
// its eta could not foresee: a job ahead that gave up, a test's clock
// moved on.
func (ps *pacers) wait(ctx context.Context, c whitecross.Channel, urgent bool) (time.Duration, error) {
	p := ps.byChannel[c]
	if p == nil {
		return 0, nil
	}
	t, snooze := p.admit(ps.now(), urgent, ps.maxWait)
	if t == nil {
		return snooze, nil
	}
	giveUp := time.NewTimer(ps.hold)
	defer giveUp.Stop()
	for {
		ok, eta := p.next(ps.now(), t)
		if ok {
			return 0, nil
		}
		eta = max(eta, time.Millisecond)
		timer := time.NewTimer(min(eta, pacingRecheck))
		select {
		case <-timer.C:
			continue
		case <-giveUp.C:
		case <-ctx.Done():
		}
		timer.Stop()
		p.leave(t)
		return eta, ctx.Err()
	}
}

// throttled records a provider's throttle of a send on channel c (its
// Retry-After, 0 when none) and returns how long the throttled job
// snoozes: until the channel's pause ends, plus up to half as long again
// so that the jobs throttled together come back spread out. lowered says
// whether this throttle lowered the rate (see pacer.throttle).
//
// Push is the exception: push services limit what one subscription (one
// browser or device) receives, not what we send in all, so a push
// throttle snoozes its own delivery and neither pauses nor slows the
// channel.
func (ps *pacers) throttled(c whitecross.Channel, retryAfter time.Duration) (snooze time.Duration, lowered bool) {
	p := ps.byChannel[c]
	pause := max(retryAfter, throttlePause)
	if p != nil && c != whitecross.ChannelPush {
		pause, lowered = p.throttle(ps.now(), retryAfter)
	}
	return pause + time.Duration(rand.Int64N(int64(pause/2)+1)), lowered
}

// sent tells channel c's pacer that its provider took a send.
func (ps *pacers) sent(c whitecross.Channel) {
	if p := ps.byChannel[c]; p != nil {
		p.sent()
	}
}

// rates is the current rate of each paced channel (not the unlimited
// ones), for the metrics.
func (ps *pacers) rates() map[whitecross.Channel]float64 {
	now := ps.now()
	out := map[whitecross.Channel]float64{}
	for c, p := range ps.byChannel {
		if !p.unlimited() {
			out[c] = p.current(now)
		}
	}
	return out
}

// rate is channel c's current rate (0 when it is not paced), for logs.
func (ps *pacers) rate(c whitecross.Channel) float64 {
	p := ps.byChannel[c]
	if p == nil || p.unlimited() {
		return 0
	}
	return p.current(ps.now())
}
