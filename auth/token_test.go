package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"whitecross/store/storetest"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"whitecross"
)

const (
	testIssuer = "https://wc.example.org"
	testUser   = "0195d7e0-0000-7000-8000-000000000001"
	testTenant = "0195d7e0-0000-7000-8000-0000000000aa"
	testSessID = "0195d7e0-0000-7000-8000-0000000000ss"
)

type tokenBundle struct {
	clock  *storetest.Clock
	store  *memKeyStore
	keys   *Keyring
	issuer *tokenIssuer
}

func setupTokens(t *testing.T) *tokenBundle {
	t.Helper()
	b := &tokenBundle{clock: newTestClock(), store: &memKeyStore{}}
	var err error
	b.keys, err = LoadKeyring(context.Background(), b.store, b.clock.Now)
	require.NoError(t, err)
	b.issuer = newTokenIssuer(testIssuer, Audience, 15*time.Minute, b.keys, b.clock.Now)
	return b
}

// validClaims are the claims issue would write at now.
func validClaims(now time.Time) *accessClaims {
	return &accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Audience: jwt.ClaimStrings{Audience}, Subject: testUser,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)), ID: "jti-1",
		},
		TenantID: testTenant, Role: whitecross.RoleNurse, SessionID: testSessID,
	}
}

// sign signs claims with any method and key, naming kid in the header.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func requireRejected(t *testing.T, b *tokenBundle, token, name string) {
	t.Helper()
	_, err := b.issuer.verify(context.Background(), token)
	require.Error(t, err, name)
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err), name)
}

func TestAccessTokenRoundTrip(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	tok, err := b.issuer.issue(testUser, testTenant, whitecross.RoleNurse, testSessID)
	require.NoError(t, err)

	// The header names the algorithm and the signing key.
	header, payload := decodeSegments(t, tok)
	require.Equal(t, "EdDSA", header["alg"])
	require.Equal(t, b.keys.SignerID(), header["kid"])
	for _, claim := range []string{"iss", "aud", "sub", "tid", "role", "sid", "iat", "nbf", "exp", "jti"} {
		require.Contains(t, payload, claim)
	}
	require.EqualValues(t, b.clock.Now().Add(15*time.Minute).Unix(), payload["exp"])

	claims, err := b.issuer.verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, testUser, claims.Subject)
	require.Equal(t, testTenant, claims.TenantID)
	require.Equal(t, whitecross.RoleNurse, claims.Role)
	require.Equal(t, testSessID, claims.SessionID)
}

func TestAccessTokenRejections(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	now := b.clock.Now()
	signer := b.keys.signingKey()
	pub := signer.PrivateKey.Public().(ed25519.PublicKey)
	good := sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID, validClaims(now))
	_, err := b.issuer.verify(context.Background(), good)
	require.NoError(t, err, "the control token must verify, or the cases below prove nothing")

	mutate := func(f func(c *accessClaims)) *accessClaims {
		c := validClaims(now)
		f(c)
		return c
	}
	_, stranger, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)

	cases := map[string]string{
		"alg none": sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, signer.ID, validClaims(now)),
		// Algorithm confusion: the public key (which is published) used as an HMAC secret.
		"HS256 with public key": sign(t, jwt.SigningMethodHS256, []byte(pub), signer.ID, validClaims(now)),
		"HS256 with jwks x": sign(t, jwt.SigningMethodHS256,
			[]byte(base64.RawURLEncoding.EncodeToString(pub)), signer.ID, validClaims(now)),
		"no exp": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.ExpiresAt = nil })),
		"wrong aud": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.Audience = jwt.ClaimStrings{"other-api"} })),
		"no aud": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.Audience = nil })),
		"wrong iss": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.Issuer = "https://evil.example.org" })),
		"not yet valid": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"issued in the future": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"no session": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.SessionID = "" })),
		"no tenant": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.TenantID = "" })),
		"no subject": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.Subject = "" })),
		"unknown role": sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID,
			mutate(func(c *accessClaims) { c.Role = "ROOT" })),
		"no kid":                     sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, "", validClaims(now)),
		"unknown key, own kid":       sign(t, jwt.SigningMethodEdDSA, stranger, keyID(stranger.Public().(ed25519.PublicKey)), validClaims(now)),
		"unknown key, known kid":     sign(t, jwt.SigningMethodEdDSA, stranger, signer.ID, validClaims(now)),
		"tampered payload":           tamper(t, good, func(p map[string]any) { p["role"] = "ADMIN" }),
		"tampered tenant":            tamper(t, good, func(p map[string]any) { p["tid"] = "another-tenant" }),
		"signature stripped":         good[:strings.LastIndex(good, ".")+1],
		"signature of another token": swapSignature(t, good, sign(t, jwt.SigningMethodEdDSA, signer.PrivateKey, signer.ID, mutate(func(c *accessClaims) { c.ID = "jti-2" }))),
		"empty":                      "",
		"garbage":                    "not.a.token",
		"padded base64 segments":     padSegments(good),
	}
	for name, tok := range cases {
		requireRejected(t, b, tok, name)
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	tok, err := b.issuer.issue(testUser, testTenant, whitecross.RoleStaff, testSessID)
	require.NoError(t, err)

	// Valid until exp plus 30 seconds of leeway for clock skew, not beyond.
	b.clock.Advance(15*time.Minute + 29*time.Second)
	_, err = b.issuer.verify(context.Background(), tok)
	require.NoError(t, err)
	b.clock.Advance(2 * time.Second)
	requireRejected(t, b, tok, "expired")
}

// TestAccessTokenRotation: a token signed by a key that was since retired
// verifies until it expires, and a key rotated on another instance is picked
// up when its first token arrives.
func TestAccessTokenRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupTokens(t)
	old, err := b.issuer.issue(testUser, testTenant, whitecross.RoleStaff, testSessID)
	require.NoError(t, err)
	oldKid := b.keys.SignerID()

	// Another instance, sharing the store, rotates.
	other, err := LoadKeyring(ctx, b.store, b.clock.Now)
	require.NoError(t, err)
	otherIssuer := newTokenIssuer(testIssuer, Audience, 15*time.Minute, other, b.clock.Now)
	b.clock.Advance(5 * time.Minute)
	require.NoError(t, other.Rotate(ctx))
	require.NotEqual(t, oldKid, other.SignerID())
	fresh, err := otherIssuer.issue(testUser, testTenant, whitecross.RoleStaff, testSessID)
	require.NoError(t, err)

	// The other instance still accepts tokens of the retired key.
	_, err = otherIssuer.verify(ctx, old)
	require.NoError(t, err)

	// This instance has not seen the new key, but more than the reload
	// interval has passed since it loaded, so it rereads and accepts.
	b.clock.Advance(reloadInterval)
	_, err = b.issuer.verify(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, other.SignerID(), b.keys.SignerID(), "the reload also switched the signer")
	_, err = b.issuer.verify(ctx, old)
	require.NoError(t, err)

	// Until it expires.
	b.clock.Advance(10*time.Minute + maxLeeway + time.Second)
	requireRejected(t, b, old, "retired key, expired token")
	_, err = b.issuer.verify(ctx, fresh)
	require.NoError(t, err)
}

// TestUnknownKidReloadIsRateLimited: tokens naming unknown kids reread the
// store at most once per reload interval.
func TestUnknownKidReloadIsRateLimited(t *testing.T) {
	t.Parallel()
	b := setupTokens(t)
	now := b.clock.Now()
	_, stranger, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	b.clock.Advance(reloadInterval)
	reads := b.store.readCount()
	for i := 0; i < 5; i++ {
		tok := sign(t, jwt.SigningMethodEdDSA, stranger, "forged-kid-"+string(rune('a'+i)), validClaims(now))
		requireRejected(t, b, tok, "unknown kid")
	}
	require.Equal(t, reads+1, b.store.readCount())
	b.clock.Advance(reloadInterval)
	requireRejected(t, b, sign(t, jwt.SigningMethodEdDSA, stranger, "forged", validClaims(now)), "unknown kid")
	require.Equal(t, reads+2, b.store.readCount())
}

func TestStaticKeyringVerifiesOnlyItsKeys(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	a, err := GenerateSigningKey(clock.Now())
	require.NoError(t, err)
	c, err := GenerateSigningKey(clock.Now())
	require.NoError(t, err)
	ring := newTokenIssuer(testIssuer, Audience, 15*time.Minute, NewStaticKeyring(a), clock.Now)
	tok := sign(t, jwt.SigningMethodEdDSA, c.PrivateKey, c.ID, validClaims(clock.Now()))
	_, err = ring.verify(context.Background(), tok)
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err))
	tok = sign(t, jwt.SigningMethodEdDSA, a.PrivateKey, a.ID, validClaims(clock.Now()))
	_, err = ring.verify(context.Background(), tok)
	require.NoError(t, err)
}

func decodeSegments(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, dst))
	}
	return header, payload
}

// tamper rewrites the payload of tok and keeps its signature.
func tamper(t *testing.T, tok string, f func(p map[string]any)) string {
	t.Helper()
	_, payload := decodeSegments(t, tok)
	f(payload)
	raw, err := json.Marshal(payload)
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// swapSignature puts the signature of donor on tok.
func swapSignature(t *testing.T, tok, donor string) string {
	t.Helper()
	return tok[:strings.LastIndex(tok, ".")] + donor[strings.LastIndex(donor, "."):]
}

// padSegments re-encodes every segment with base64 padding, which strict
// decoding must refuse (one token, one encoding).
func padSegments(tok string) string {
	parts := strings.Split(tok, ".")
	for i, p := range parts {
		raw, _ := base64.RawURLEncoding.DecodeString(p)
		parts[i] = base64.URLEncoding.EncodeToString(raw)
	}
	return strings.Join(parts, ".")
}
