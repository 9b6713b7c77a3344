package auth

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"whitecross"
)

// fastHasher is argon2id with the cheapest parameters, so tests that create
// many users stay fast. Hashes it makes verify with any Argon2id because the
// parameters travel in the PHC string.
func fastHasher() *Argon2id {
	return &Argon2id{time: 1, memory: 64, threads: 1, saltLen: 16, keyLen: 32}
}

// verifies reports whether h says password matches hash; h must not fail.
func verifies(t *testing.T, h whitecross.PasswordHasher, hash, password string) bool {
	t.Helper()
	ok, err := h.VerifyPassword(t.Context(), hash, password)
	require.NoError(t, err)
	return ok
}

func TestArgon2idDefaults(t *testing.T) {
	t.Parallel()
	h := NewArgon2id()
	hash, err := h.HashPassword(t.Context(), "correct horse battery staple")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`), hash)

	require.True(t, verifies(t, h, hash, "correct horse battery staple"))
	require.False(t, verifies(t, h, hash, "correct horse battery stapl"))
	require.False(t, verifies(t, h, hash, ""))

	// The stored parameters are used, not the hasher's: a cheap hasher
	// verifies a default hash and vice versa.
	require.True(t, verifies(t, fastHasher(), hash, "correct horse battery staple"))
}

func TestArgon2idSaltsDiffer(t *testing.T) {
	t.Parallel()
	h := fastHasher()
	a, err := h.HashPassword(t.Context(), "same")
	require.NoError(t, err)
	b, err := h.HashPassword(t.Context(), "same")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.True(t, verifies(t, h, a, "same"))
	require.True(t, verifies(t, h, b, "same"))
	require.True(t, verifies(t, NewArgon2id(), a, "same"))
}

// TestArgon2idKnownHash checks the encoding against argon2.IDKey directly,
// so a hash written by another argon2id implementation verifies.
func TestArgon2idKnownHash(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("pässwörd"), salt, 3, 32, 2, 32)
	phc := "$argon2id$v=19$m=32,t=3,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(key)
	require.True(t, verifies(t, fastHasher(), phc, "pässwörd"))
	require.False(t, verifies(t, fastHasher(), phc, "passwort"))
}

func TestDecodePHCErrors(t *testing.T) {
	t.Parallel()
	good, err := fastHasher().HashPassword(t.Context(), "pw")
	require.NoError(t, err)
	_, err = decodePHC(good)
	require.NoError(t, err)
	parts := strings.Split(good, "$") // "", alg, v, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := map[string]string{
		"empty":                "",
		"bcrypt":               "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"too few fields":       strings.Join(parts[:5], "$"),
		"too many fields":      good + "$x",
		"no leading dollar":    strings.TrimPrefix(good, "$"),
		"argon2i":              with(1, "argon2i"),
		"version 16":           with(2, "v=16"),
		"no version":           with(2, "m=64,t=1,p=1"),
		"params out of order":  with(3, "t=1,m=64,p=1"),
		"missing param":        with(3, "m=64,t=1"),
		"extra param":          with(3, "m=64,t=1,p=1,k=2"),
		"non-numeric":          with(3, "m=64,t=one,p=1"),
		"negative":             with(3, "m=64,t=-1,p=1"),
		"leading zero":         with(3, "m=064,t=1,p=1"),
		"zero time":            with(3, "m=64,t=0,p=1"),
		"zero threads":         with(3, "m=64,t=1,p=0"),
		"huge memory":          with(3, "m=4194304,t=1,p=1"),
		"memory below 8p":      with(3, "m=8,t=1,p=2"),
		"huge time":            with(3, "m=64,t=1000,p=1"),
		"overflowing memory":   with(3, "m=99999999999,t=1,p=1"),
		"salt not base64":      with(4, "!!!!!!!!!!!!!!!!!!!!!!"),
		"salt padded":          with(4, parts[4]+"=="),
		"salt too short":       with(4, base64.RawStdEncoding.EncodeToString([]byte("short"))),
		"hash not base64":      with(5, "*"+parts[5][1:]),
		"hash too short":       with(5, base64.RawStdEncoding.EncodeToString([]byte("0123456789"))),
		"hash url alphabet":    with(5, strings.NewReplacer("+", "-", "/", "_").Replace(parts[5])+"-"),
		"whitespace in params": with(3, "m=64, t=1,p=1"),
	}
	for name, phc := range cases {
		_, err := decodePHC(phc)
		require.ErrorIs(t, err, errMalformedHash, name)
		require.False(t, verifies(t, fastHasher(), phc, "pw"), name)
	}
}
