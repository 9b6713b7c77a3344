package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// TestRateLimitSharedThroughRedis: two instances on one PostgreSQL
// database with a Redis broker spend one budget per user, so a load
// balancer spreading a user's requests does not multiply it.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("WHITECROSS_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WHITECROSS_TEST_REDIS_URL is not set: CI must run the Redis tests")
		}
		t.Skip("WHITECROSS_TEST_REDIS_URL is not set")
	}
	e := newEnv(t, store.Postgres).with("WHITECROSS_PUBLIC_URL", "http://whitecross.test", "WHITECROSS_BROKER", redisURL,
		"WHITECROSS_RATE_BURST", "4", "WHITECROSS_RATE_PER_SECOND", "0.001")
	one := startServe(t, e, "--demo")
	two := startServe(t, e.with("WHITECROSS_DATA_DIR", filepath.Join(t.TempDir(), "two")))
	token := one.login("demo", "admin@demo.example", demoPassword) // an address's request, not the user's

	var got []int
	for _, srv := range []*server{one, two, one, two, two, one} {
		got = append(got, srv.do("GET", "/api/v1/me", token, nil, nil))
	}
	ok, limited := http.StatusOK, http.StatusTooManyRequests
	require.Equal(t, []int{ok, ok, ok, ok, limited, limited}, got)
}
