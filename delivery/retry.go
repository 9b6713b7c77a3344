package delivery

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"whitecross"
)

// deliverBackoff is the wait after the attempt-th failed attempt of a
// delivery: base·2^(attempt-1), never more than most, with equal jitter —
// half of the step fixed, the other half random — so that deliveries that
// failed together (an outage) spread their retries, yet none retries
// sooner than half its step. rnd returns a number in [0, n).
//
// With the defaults (5 s, 1 h) the steps are 5 s, 10 s, 20 s, ... 42 min,
// then 1 h: DeliverMaxAttempts (12) attempts span about 2½ hours of
// provider-side failures. An outage the circuit breaker catches does not
// spend attempts at all (jobs snooze while it is open).
func deliverBackoff(attempt int, base, most time.Duration, rnd func(n int64) int64) time.Duration {
	step := base
	for i := 1; i < attempt && step < most; i++ {
		step *= 2
	}
	step = min(step, most)
	half := step / 2
	return half + time.Duration(rnd(int64(step-half)+1))
}

// retryPolicy is the queue's River retry policy. Deliver jobs wait
// deliverBackoff, or longer when the provider asked for it (Retry-After,
// passed by the worker through hints), never longer than the configured
// maximum; every other job (dispatch) keeps River's default schedule.
type retryPolicy struct {
	now       whitecross.Clock
	other     river.ClientRetryPolicy
	base, max time.Duration
	hints     *retryHints
}

// newRetryPolicy returns the policy on the injected clock (tests) or the
// real one (clock nil).
func newRetryPolicy(clock whitecross.Clock, cfg DeliverConfig, hints *retryHints) *retryPolicy {
	p := &retryPolicy{now: clock, other: clockRetryPolicy(clock), base: cfg.RetryBase, max: cfg.RetryMax, hints: hints}
	if clock == nil {
		p.now, p.other = time.Now, &river.DefaultClientRetryPolicy{}
	}
	return p
}

// NextRetry implements river.ClientRetryPolicy.
func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	if job.Kind != DeliverKind && job.Kind != NoticeKind {
		return p.other.NextRetry(job)
	}
	wait := deliverBackoff(job.Attempt, p.base, p.max, rand.Int64N)
	if after := p.hints.take(job.ID); after > wait {
		wait = min(after, p.max)
	}
	return p.now().UTC().Add(wait)
}

// retryHints passes a provider's requested wait (ProviderError.RetryAfter)
// from the deliver worker, which sees the error, to the retry policy, which
// River calls right after the worker returns it, in the same process.
type retryHints struct {
	mu    sync.Mutex
	byJob map[int64]time.Duration
}

// set records the wait requested for job id's next retry.
func (h *retryHints) set(jobID int64, after time.Duration) {
	if after <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byJob == nil {
		h.byJob = map[int64]time.Duration{}
	}
	h.byJob[jobID] = after
}

// take returns and forgets the wait requested for job id (0 when none).
func (h *retryHints) take(jobID int64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	after := h.byJob[jobID]
	delete(h.byJob, jobID)
	return after
}
