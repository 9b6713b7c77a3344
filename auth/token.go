package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"whitecross"
)

// maxLeeway is the clock skew tolerated between instances when checking
// exp, nbf and iat.
const maxLeeway = 30 * time.Second

// refreshTokenBytes is the entropy of a refresh token.
const refreshTokenBytes = 32

// errInvalidAccessToken is the one answer to every bad access token, so a
// caller learns nothing about why it was refused.
var errInvalidAccessToken = whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid or expired access token.")

// errInvalidRefreshToken is the one answer to every unusable refresh token
// other than a reused one.
var errInvalidRefreshToken = whitecross.Errorf(whitecross.EUNAUTHORIZED, "Invalid or expired refresh token.")

// accessClaims are the claims of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID  string          `json:"tid"`
	Role      whitecross.Role `json:"role"`
	SessionID string          `json:"sid"`
}

// tokenIssuer signs and verifies access tokens.
type tokenIssuer struct {
	issuer, audience string
	ttl              time.Duration
	keys             *Keyring
	now              whitecross.Clock
	parser           *jwt.Parser
	verified         *verifiedTokens
	parses           atomic.Int64 // signature checks run (tests)
}

func newTokenIssuer(issuer, audience string, ttl time.Duration, keys *Keyring, now whitecross.Clock) *tokenIssuer {
	return &tokenIssuer{
		issuer: issuer, audience: audience, ttl: ttl, keys: keys, now: now,
		verified: newVerifiedTokens(verifiedTokensMax),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithAudience(audience),
			jwt.WithIssuer(issuer),
			jwt.WithLeeway(maxLeeway),
			jwt.WithTimeFunc(func() time.Time { return now() }),
			jwt.WithStrictDecoding(),
		),
	}
}

// issue returns a signed access token for a user's session.
func (ti *tokenIssuer) issue(userID, tenantID string, role whitecross.Role, sessionID string) (string, error) {
	key := ti.keys.signingKey()
	now := ti.now()
	jti, err := randomToken(16)
	if err != nil {
		return "", err
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    ti.issuer,
			Audience:  jwt.ClaimStrings{ti.audience},
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ti.ttl)),
			ID:        jti,
		},
		TenantID: tenantID, Role: role, SessionID: sessionID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.ID
	signed, err := tok.SignedString(key.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// verify checks an access token's signature and claims and returns them.
// EUNAUTHORIZED for any bad token; an uncoded error only when reloading the
// keys failed.
func (ti *tokenIssuer) verify(ctx context.Context, token string) (*accessClaims, error) {
	now := ti.now()
	if claims, ok := ti.verified.get(token, now, ti.keyKnown); ok {
		return claims, nil
	}
	claims, kid, err := ti.parse(ctx, token)
	if err != nil {
		return nil, err
	}
	ti.verified.put(token, kid, claims, now)
	return claims, nil
}

// keyKnown reports whether kid still verifies tokens.
func (ti *tokenIssuer) keyKnown(kid string) bool {
	_, ok := ti.keys.publicKey(kid)
	return ok
}

// parse is verify without the cache; it also returns the token's kid.
func (ti *tokenIssuer) parse(ctx context.Context, token string) (*accessClaims, string, error) {
	ti.parses.Add(1)
	var reloadErr error
	var kid string
	claims := &accessClaims{}
	_, err := ti.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		if pub, ok := ti.keys.publicKey(kid); ok {
			return pub, nil
		}
		// Perhaps another instance rotated: reread the store (rate-limited).
		if reloadErr = ti.keys.reloadForUnknownKid(ctx); reloadErr != nil {
			return nil, reloadErr
		}
		if pub, ok := ti.keys.publicKey(kid); ok {
			return pub, nil
		}
		return nil, errors.New("unknown kid")
	})
	if reloadErr != nil {
		return nil, "", reloadErr
	}
	if err != nil {
		return nil, "", errInvalidAccessToken
	}
	if claims.Subject == "" || claims.TenantID == "" || claims.SessionID == "" || !claims.Role.Valid() {
		return nil, "", errInvalidAccessToken
	}
	return claims, kid, nil
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashRefreshToken returns the SHA-256 of a refresh token's decoded bytes,
// which is all the database ever holds. ok is false for a string that is not
// a well-formed refresh token, which then need not reach the database.
func hashRefreshToken(token string) (hash []byte, ok bool) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// NewRefreshToken returns a new opaque refresh token and its stored form
// (the hash the sessions table keeps, for session sessionID). It is
// exported for tools that open sessions directly in the store (cmd/wcbench
// setup), so their tokens are exactly the ones the refresh endpoint takes.
func NewRefreshToken(sessionID string, expiresAt time.Time) (string, *whitecross.RefreshToken, error) {
	token, err := randomToken(refreshTokenBytes)
	if err != nil {
		return "", nil, err
	}
	hash, _ := hashRefreshToken(token)
	return token, &whitecross.RefreshToken{Hash: hash, SessionID: sessionID, ExpiresAt: expiresAt.UTC()}, nil
}
