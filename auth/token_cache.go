package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers access tokens whose signature and claims were
// verified, so that the EdDSA check and the JSON decoding (a fifth of the
// CPU of an inbox page under load, issue 20) run once per token rather
// than on every request. Only what a token says is cached — it is signed
// and cannot change; whether its session is live and the user's current
// role are still read from the database on every request. A hit is used
// only while the token is unexpired and its key still verifies.
type verifiedTokens struct {
	mu      sync.Mutex
	byHash  map[[sha256.Size]byte]verifiedToken
	maxSize int
}

// verifiedToken is one verified token's claims and signing key.
type verifiedToken struct {
	claims accessClaims
	kid    string
}

// verifiedTokensMax bounds the cache: about a million bytes per thousand
// tokens; past it the cache starts again empty (every live client
// re-verifies once), which keeps it bounded without bookkeeping.
const verifiedTokensMax = 20000

func newVerifiedTokens(maxSize int) *verifiedTokens {
	return &verifiedTokens{byHash: map[[sha256.Size]byte]verifiedToken{}, maxSize: maxSize}
}

// get returns the claims of token if it was verified, is not expired at
// now (with the parser's leeway) and its key is still known to valid.
func (c *verifiedTokens) get(token string, now time.Time, valid func(kid string) bool) (*accessClaims, bool) {
	h := sha256.Sum256([]byte(token))
	c.mu.Lock()
	v, ok := c.byHash[h]
	c.mu.Unlock()
	if !ok || v.claims.ExpiresAt == nil || !now.Before(v.claims.ExpiresAt.Add(maxLeeway)) || !valid(v.kid) {
		return nil, false
	}
	claims := v.claims
	return &claims, true
}

// put remembers that token verified with claims under key kid, and drops
// expired entries (or all of them) when the cache is full.
func (c *verifiedTokens) put(token, kid string, claims *accessClaims, now time.Time) {
	h := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byHash) >= c.maxSize {
		for k, v := range c.byHash {
			if !now.Before(v.claims.ExpiresAt.Add(maxLeeway)) {
				delete(c.byHash, k)
			}
		}
		if len(c.byHash) >= c.maxSize {
			clear(c.byHash)
		}
	}
	c.byHash[h] = verifiedToken{claims: *claims, kid: kid}
}
