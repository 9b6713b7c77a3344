package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// A token's signature is checked once; later requests reuse its claims
// until it expires, and a tampered copy is never taken for it.
func TestVerifiedTokensCache(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	ctx := context.Background()
	tok, err := b.issuer.issue(testUser, testTenant, whitecross.RoleNurse, testSessID)
	require.NoError(t, err)

	first, err := b.issuer.verify(ctx, tok)
	require.NoError(t, err)
	for range 5 {
		again, err := b.issuer.verify(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
	require.Equal(t, int64(1), b.issuer.parses.Load(), "one signature check for six requests")

	dot := strings.LastIndexByte(tok, '.')
	flipped := byte('A')
	if tok[dot+5] == 'A' {
		flipped = 'B'
	}
	_, err = b.issuer.verify(ctx, tok[:dot+5]+string(flipped)+tok[dot+6:])
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err), "a different token is checked on its own")

	b.clock.Advance(15*time.Minute + maxLeeway + time.Second)
	_, err = b.issuer.verify(ctx, tok)
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err), "expired, cached or not")
}

func TestVerifiedTokensBounded(t *testing.T) {
	t.Parallel()
	c := newVerifiedTokens(3)
	now := time.Now()
	claims := validClaims(now)
	for _, tok := range []string{"a", "b", "c", "d"} {
		c.put(tok, "kid", claims, now)
	}
	require.LessOrEqual(t, len(c.byHash), 3)
	_, ok := c.get("d", now, func(string) bool { return true })
	require.True(t, ok)
	_, ok = c.get("d", now, func(string) bool { return false })
	require.False(t, ok, "a key no longer known refuses the cached token")
}
