// Package ratelimit holds the request budgets of the API: a token bucket
// per caller (a user, else a client address), kept in this process or, for
// several instances, in Redis so that they share one budget.
package ratelimit

import (
	"context"
	"math"
	"time"
)

// Budget is a token bucket: Burst requests at once, refilled at PerSecond.
type Budget struct {
	PerSecond float64
	Burst     int
}

// full is how long an empty bucket takes to refill completely; a key idle
// that long is indistinguishable from a new one.
func (b Budget) full() time.Duration {
	return time.Duration(float64(b.Burst) / b.PerSecond * float64(time.Second))
}

// Decision is the answer to one request, with what the RateLimit-* and
// Retry-After headers tell the client.
type Decision struct {
	Allowed bool
	// Limit is the burst: the most requests a full budget allows at once.
	Limit int
	// Remaining is how many more requests the budget allows now.
	Remaining int
	// RetryAfter is how long until one more request is allowed (zero when
	// Allowed); Reset how long until the budget is full again.
	RetryAfter, Reset time.Duration
}

// Limiter charges one request to a key's budget.
type Limiter interface {
	// Take charges one request to key and says whether it is allowed. An
	// error means the budget could not be read (a shared store is down).
	Take(ctx context.Context, key string) (Decision, error)
}

// Seconds rounds d up to whole seconds, at least 1 when d > 0, as the
// headers carry it.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
