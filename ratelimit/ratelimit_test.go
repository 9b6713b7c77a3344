package ratelimit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"whitecross/ratelimit"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func take(t *testing.T, l ratelimit.Limiter, key string) ratelimit.Decision {
	t.Helper()
	d, err := l.Take(context.Background(), key)
	require.NoError(t, err)
	return d
}

func TestLocalBudgetRefills(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := ratelimit.NewLocal(ratelimit.Budget{PerSecond: 2, Burst: 4}, 0, c.Now)
	for i := range 4 {
		d := take(t, l, "a")
		require.True(t, d.Allowed)
		require.Equal(t, 3-i, d.Remaining)
	}
	d := take(t, l, "a")
	require.False(t, d.Allowed)
	require.Equal(t, 500*time.Millisecond, d.RetryAfter)
	require.Equal(t, 2*time.Second, d.Reset)
	require.True(t, take(t, l, "b").Allowed, "another key has its own budget")
	c.Add(500 * time.Millisecond)
	require.True(t, take(t, l, "a").Allowed)
	require.False(t, take(t, l, "a").Allowed)
}

// A flood of distinct keys keeps at most maxKeys budgets; idle ones go once
// their bucket would be full again, so a returning key starts full anyway.
func TestLocalMemoryIsBounded(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := ratelimit.NewLocal(ratelimit.Budget{PerSecond: 10, Burst: 10}, 1000, c.Now)
	for i := range 100_000 {
		take(t, l, fmt.Sprintf("ip:%d", i))
	}
	require.LessOrEqual(t, l.Len(), 1001)
	c.Add(time.Second)
	take(t, l, "late")
	require.Equal(t, 1, l.Len(), "idle budgets are dropped")
}

// Two instances on one Redis share the budget: what one spends, the other
// cannot.
func TestRedisBudgetIsShared(t *testing.T) {
	t.Parallel()
	url := os.Getenv("WHITECROSS_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WHITECROSS_TEST_REDIS_URL is not set: CI must run the Redis tests")
		}
		t.Skip("WHITECROSS_TEST_REDIS_URL is not set")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	prefix := "test:rate:" + rand.Text() + ":"
	b := ratelimit.Budget{PerSecond: 0.01, Burst: 5}
	one, two := ratelimit.NewRedis(client, prefix, b), ratelimit.NewRedis(client, prefix, b)
	for i := range 5 {
		l := one
		if i%2 == 1 {
			l = two
		}
		d := take(t, l, "user:u1")
		require.True(t, d.Allowed, "request %d", i+1)
		require.Equal(t, 4-i, d.Remaining)
	}
	d := take(t, two, "user:u1")
	require.False(t, d.Allowed)
	require.Equal(t, 0, d.Remaining)
	require.Greater(t, d.RetryAfter, 90*time.Second)
	require.True(t, take(t, one, "user:u2").Allowed)
	ttl, err := client.PTTL(context.Background(), prefix+"user:u1").Result()
	require.NoError(t, err)
	require.Positive(t, ttl, "idle budgets expire in Redis")
}

// When Redis is down, each instance limits on its own and says so.
func TestRedisDownFallsBackToLocal(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	l := ratelimit.NewRedis(client, "x:", ratelimit.Budget{PerSecond: 0.01, Burst: 1})
	d, err := l.Take(context.Background(), "k")
	require.Error(t, err)
	require.True(t, d.Allowed)
	d, _ = l.Take(context.Background(), "k")
	require.False(t, d.Allowed, "the fallback keeps its own budget")
}
