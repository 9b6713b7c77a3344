package delivery

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Pacing: each channel's sends go out no faster than its provider takes
// them (DeliverConfig.Rates), so a district-wide alert waits its turn in
// our queue instead of being refused by Twilio or the relay. One pacer per
// channel is shared by the deliver workers of both lanes in a process.

const (
	// maxPacingWait bounds how long a deliver job waits in its worker for
	// its turn; a job whose turn is further off snoozes until about then
	// (spending no attempt) and frees the worker.
	maxPacingWait = 5 * time.Second
	// rateRecovery is how long a lowered rate takes to climb back from 0
	// to the configured rate: it rises linearly (additive increase), so
	// after a halving it is whole again in half this time.
	rateRecovery = time.Minute
	// minRateShare: however often the provider throttles us, the rate
	// stays at least the configured one divided by this.
	minRateShare = 64
	// throttlePause is how long a channel pauses after a throttle the
	// provider gave no Retry-After for; it doubles with each throttle in a
	// row, up to maxThrottlePause.
	throttlePause    = time.Second
	maxThrottlePause = time.Minute
	// maxRetryAfterPause caps the pause a provider's Retry-After asks for.
	maxRetryAfterPause = time.Hour
)

// turn is a deliver job waiting in its worker for a send of its channel.
type turn struct{ urgent bool }

// pacer is one channel's token bucket with two classes of waiters.
//
// Tokens accrue at the current rate up to one second's worth (at least
// one). A job takes one per send. Jobs of EMERGENCY and URGENT messages
// are served before every waiting job of the bulk lane, in arrival order
// within each class, so an emergency waits at most for the next token
// however long a newsletter's backlog is. A job whose turn is more than
// maxPacingWait away snoozes; successive snoozers are given successive
// slots (the horizon), so a backlog of 50,000 is spread over the time it
// needs rather than fetched and snoozed again and again. Bulk jobs take
// no token while urgent ones are snoozing until a slot still to come, and
// snooze to slots after theirs. A slot is a hint for spreading, not a
// reservation: one whose job does not come back (another instance ran
// it, or it no longer needs sending) goes unused, and time passes it.
//
// A throttle (the provider's 429) empties the bucket, pauses the channel
// for the provider's Retry-After (or throttlePause, doubling while
// throttles follow each other) and halves the rate, which then climbs
// back linearly (rateRecovery): additive increase, multiplicative
// decrease. Throttles that arrive during the pause were sent before we
// slowed down and do not halve the rate again.
//
// A configured rate of 0 is unlimited: the pacer only honours pauses.
// Times come from the caller, so tests run it on a virtual clock.
type pacer struct {
	configured float64 // sends per second; 0: unlimited

	mu        sync.Mutex
	lowered   float64   // the rate set by the last throttle
	loweredAt time.Time // when it starts to climb back (the pause's end); zero: configured
	tokens    float64
	filled    time.Time // tokens are as of this time; in the future during a pause
	throttles int       // in a row, for the pause without Retry-After
	urgent    []*turn
	bulk      []*turn
	horizon   [2]time.Time // the next free snooze slot, urgent and bulk
}

func newPacer(rate float64, now time.Time) *pacer {
	p := &pacer{configured: rate, filled: now, tokens: math.Max(1, rate)}
	if p.unlimited() {
		p.tokens = math.Inf(1)
	}
	return p
}

// unlimited reports a pacer that only honours pauses.
func (p *pacer) unlimited() bool { return p.configured == 0 }

// rate is the current rate at now (p.mu held): the configured one, or the
// lowered one plus what it regained since the throttle's pause ended.
func (p *pacer) rate(now time.Time) float64 {
	if p.unlimited() {
		return math.Inf(1)
	}
	if p.loweredAt.IsZero() {
		return p.configured
	}
	r := p.lowered + p.configured*max(0, now.Sub(p.loweredAt).Seconds())/rateRecovery.Seconds()
	if r >= p.configured {
		p.loweredAt = time.Time{}
		return p.configured
	}
	return r
}

// burst is how many tokens the bucket holds at rate r: one second's worth,
// at least one.
func (p *pacer) burst(r float64) float64 { return math.Max(1, r) }

// refill adds the tokens accrued until now (p.mu held); none during a
// pause.
func (p *pacer) refill(now time.Time) {
	switch {
	case p.filled.After(now):
	case p.unlimited():
		p.tokens, p.filled = math.Inf(1), now
	case now.After(p.filled):
		r := p.rate(now)
		p.tokens = math.Min(p.burst(r), p.tokens+r*now.Sub(p.filled).Seconds())
		p.filled = now
	}
}

// ahead counts the waiting jobs served before t (p.mu held).
func (p *pacer) ahead(t *turn) int {
	if t.urgent {
		return slices.Index(p.urgent, t)
	}
	return len(p.urgent) + slices.Index(p.bulk, t)
}

// eta is how long until a job's turn, with n jobs ahead of it (p.mu held,
// refilled): until they and then t have had a token, and for a bulk job
// not before the urgent jobs that snoozed have come back.
func (p *pacer) eta(now time.Time, urgent bool, n int) time.Duration {
	var wait time.Duration
	if p.filled.After(now) {
		wait = p.filled.Sub(now) // paused
	}
	if need := float64(n+1) - p.tokens; need > 0 && !p.unlimited() {
		wait += time.Duration(math.Ceil(need / p.rate(now) * float64(time.Second)))
	}
	if !urgent && p.horizon[0].After(now) {
		wait = max(wait, p.horizon[0].Sub(now))
	}
	return wait
}

// take gives a job a token when it has its turn: every job ahead of it could
// have one too and, for a bulk job, no urgent job is snoozing until a
// slot still to come (p.mu held, refilled).
func (p *pacer) take(now time.Time, urgent bool, n int) bool {
	if p.filled.After(now) || p.tokens < float64(n+1) || (!urgent && p.horizon[0].After(now)) {
		return false
	}
	p.tokens--
	return true
}

// admit is a job's arrival. It returns one of: go (nil turn, no snooze):
// a token was taken; a turn to pass to next, when its turn comes within
// maxWait; or how long to snooze.
func (p *pacer) admit(now time.Time, urgent bool, maxWait time.Duration) (*turn, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill(now)
	n := len(p.urgent)
	if !urgent {
		n += len(p.bulk)
	}
	if p.take(now, urgent, n) {
		return nil, 0
	}
	if eta := p.eta(now, urgent, n); eta > maxWait {
		return nil, p.slot(now, urgent, eta)
	}
	t := &turn{urgent: urgent}
	if urgent {
		p.urgent = append(p.urgent, t)
	} else {
		p.bulk = append(p.bulk, t)
	}
	return t, 0
}

// slot reserves a snoozing job's place after eta and after the snoozers
// before it of its class (bulk also after urgent ones), and returns how
// long it snoozes (p.mu held).
func (p *pacer) slot(now time.Time, urgent bool, eta time.Duration) time.Duration {
	c := 1
	if urgent {
		c = 0
	}
	at := now.Add(eta)
	for _, h := range p.horizon[:c+1] {
		if h.After(at) {
			at = h
		}
	}
	step := time.Duration(0)
	if !p.unlimited() {
		step = time.Duration(float64(time.Second) / p.rate(now))
	}
	p.horizon[c] = at.Add(step)
	return at.Sub(now)
}

// next tries again for a waiting t: true when it took a token (and no
// longer waits), else how long until its turn as things stand.
func (p *pacer) next(now time.Time, t *turn) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refill(now)
	n := p.ahead(t)
	if p.take(now, t.urgent, n) {
		p.remove(t)
		return true, 0
	}
	return false, p.eta(now, t.urgent, n)
}

// leave forgets a waiting t that gave up.
func (p *pacer) leave(t *turn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(t)
}

func (p *pacer) remove(t *turn) {
	if t.urgent {
		p.urgent = slices.DeleteFunc(p.urgent, func(u *turn) bool { return u == t })
	} else {
		p.bulk = slices.DeleteFunc(p.bulk, func(u *turn) bool { return u == t })
	}
}

// throttle is the provider's 429 at now. It returns how long the channel
// pauses from now, and whether this throttle lowered the rate (false for
// one that arrives during the pause of an earlier one).
func (p *pacer) throttle(now time.Time, retryAfter time.Duration) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.filled.After(now) {
		if until := now.Add(min(retryAfter, maxRetryAfterPause)); until.After(p.filled) {
			p.filled = until // the provider asks for longer: wait longer
		}
		return p.filled.Sub(now), false
	}
	p.throttles++
	pause := min(retryAfter, maxRetryAfterPause)
	if pause <= 0 {
		pause = min(throttlePause<<min(p.throttles-1, 10), maxThrottlePause)
	}
	if !p.unlimited() {
		p.lowered, p.loweredAt = math.Max(p.rate(now)/2, p.configured/minRateShare), now.Add(pause)
	}
	p.tokens, p.filled = 0, now.Add(pause)
	return pause, true
}

// sent ends a streak of throttles: the provider took a send.
func (p *pacer) sent() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttles = 0
}

// current is the rate at now (sends per second), for the metrics.
func (p *pacer) current(now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate(now)
}
