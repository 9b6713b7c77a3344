package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"math"

	"whitecross/api"
	"whitecross/ratelimit"
)

// Bounds of the rate-limit settings.
const (
	maxRatePerSecond = 1_000_000
	maxRateBurst     = 1_000_000
)

// validateRateLimits checks the request, connect and frame budgets and the
// trusted proxies.
func (c *Config) validateRateLimits(add func(field, format string, args ...any)) {
	for _, f := range []struct {
		field string
		v     float64
	}{{"RatePerSecond", c.RatePerSecond}, {"RateFramesPerSecond", c.RateFramesPerSecond}} {
		if !(f.v > 0 && f.v <= maxRatePerSecond) || math.IsNaN(f.v) {
			add(f.field, "must be a number above 0 and at most %d, got %g", maxRatePerSecond, f.v)
		}
	}
	for _, f := range []struct {
		field string
		n     int
	}{{"RateBurst", c.RateBurst}, {"RateFrameBurst", c.RateFrameBurst}, {"RateConnectsPerMinute", c.RateConnectsPerMinute}} {
		if f.n < 1 || f.n > maxRateBurst {
			add(f.field, "must be 1 to %d, got %d", maxRateBurst, f.n)
		}
	}
	if _, err := api.ParseTrustedProxies(c.TrustedProxies); err != nil {
		add("TrustedProxies", "%v; give CIDRs separated by commas, like 10.0.0.0/8,192.0.2.7", err)
	}
}

// validateTLS checks that the certificate and key go together and load.
func (c *Config) validateTLS(add func(field, format string, args ...any)) {
	switch {
	case c.TLSCertFile == "" && c.TLSKeyFile == "":
	case c.TLSKeyFile == "":
		add("TLSKeyFile", "required with WHITECROSS_TLS_CERT_FILE (the certificate and its key go together)")
	case c.TLSCertFile == "":
		add("TLSCertFile", "required with WHITECROSS_TLS_KEY_FILE (the certificate and its key go together)")
	default:
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			add("TLSCertFile", "cannot load it with WHITECROSS_TLS_KEY_FILE: %v", err)
		}
	}
}

// rateBudget is the API's request budget.
func (c *Config) rateBudget() ratelimit.Budget {
	return ratelimit.Budget{PerSecond: c.RatePerSecond, Burst: c.RateBurst}
}

// trustedProxies is WHITECROSS_TRUSTED_PROXIES parsed (Validate refused a
// bad one).
func (c *Config) trustedProxies() api.TrustedProxies {
	t, _ := api.ParseTrustedProxies(c.TrustedProxies)
	return t
}

// sharedRateLimiter keeps the request budgets in Redis when the broker is
// Redis, so every instance spends one budget per user; nil otherwise (each
// instance keeps its own: docs/security.md). The client closes when ctx
// ends.
func sharedRateLimiter(ctx context.Context, c *Config) (ratelimit.Limiter, error) {
	if !strings.HasPrefix(c.Broker, "redis://") && !strings.HasPrefix(c.Broker, "rediss://") {
		return nil, nil
	}
	opt, err := redis.ParseURL(c.Broker)
	if err != nil {
		return nil, fmt.Errorf("rate limits in redis %q: %w", redactBroker(c.Broker), err)
	}
	client := redis.NewClient(opt)
	context.AfterFunc(ctx, func() { _ = client.Close() })
	return ratelimit.NewRedis(client, "whitecross:rate:", c.rateBudget()), nil
}
