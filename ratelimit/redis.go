package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm over one Redis key holding the
// bucket's theoretical arrival time (TAT, in microseconds of Redis' own
// clock, so instances with skewed clocks agree). A request is allowed when
// the new TAT is at most burst intervals ahead of now. The key expires once
// the bucket is full again, so idle callers cost Redis nothing.
//
// KEYS[1] the budget; ARGV[1] interval per request (µs), ARGV[2] burst.
// The TAT is written with %d: Lua's own number to string conversion keeps
// 14 digits, too few for microseconds since 1970.
// Returns {allowed (0|1), µs until the next request is allowed, µs until
// the bucket is full}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + interval
if new - now > window then
  return {0, new - now - window, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1)
return {1, 0, new - now}
`)

// Redis keeps budgets in Redis, shared by every instance using it. When
// Redis fails it answers from its fallback (this instance's own budgets),
// so an outage loosens the limit to per-instance rather than refusing or
// admitting everyone.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	budget   Budget
	fallback Limiter
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter of budget b whose keys start with prefix.
func NewRedis(client redis.UniversalClient, prefix string, b Budget) *Redis {
	return &Redis{client: client, prefix: prefix, budget: b, fallback: NewLocal(b, 0, nil)}
}

// Take implements Limiter. On a Redis error it returns the fallback's
// decision together with the error, for the caller to log.
func (r *Redis) Take(ctx context.Context, key string) (Decision, error) {
	interval := int64(float64(time.Second/time.Microsecond) / r.budget.PerSecond)
	res, err := gcra.Run(ctx, r.client, []string{r.prefix + key}, max(interval, 1), r.budget.Burst).Int64Slice()
	if err == nil && len(res) != 3 {
		err = fmt.Errorf("unexpected answer %v", res)
	}
	if err != nil {
		d, _ := r.fallback.Take(ctx, key)
		return d, fmt.Errorf("rate limit in redis: %w", err)
	}
	d := Decision{Allowed: res[0] == 1, Limit: r.budget.Burst,
		RetryAfter: time.Duration(res[1]) * time.Microsecond, Reset: time.Duration(res[2]) * time.Microsecond}
	if interval > 0 {
		d.Remaining = max(0, r.budget.Burst-int((res[2]+interval-1)/interval))
	}
	return d, nil
}
