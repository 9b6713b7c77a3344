package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"
	"time"
	"whitecross/store/storetest"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// memKeyStore is an in-memory whitecross.SigningKeyStore shared by the
// keyrings of several simulated instances.
type memKeyStore struct {
	mu    sync.Mutex
	keys  []*whitecross.SigningKey // newest first
	reads int
}

func (m *memKeyStore) SigningKeys(context.Context) ([]*whitecross.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	out := make([]*whitecross.SigningKey, len(m.keys))
	for i, k := range m.keys {
		c := *k
		out[i] = &c
	}
	return out, nil
}

func (m *memKeyStore) AddSigningKey(_ context.Context, k *whitecross.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.keys) > 0 && m.keys[0].RetiredAt == nil {
		at := k.CreatedAt
		m.keys[0].RetiredAt = &at
	}
	c := *k
	m.keys = append([]*whitecross.SigningKey{&c}, m.keys...)
	return nil
}

func (m *memKeyStore) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func TestLoadKeyringGeneratesFirstKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &memKeyStore{}
	clock := newTestClock()
	k, err := LoadKeyring(ctx, st, clock.Now)
	require.NoError(t, err)
	require.Len(t, st.keys, 1)
	require.Equal(t, st.keys[0].ID, k.SignerID())
	require.True(t, st.keys[0].CreatedAt.Equal(clock.Now()))

	// A second instance loads the same key instead of making another.
	k2, err := LoadKeyring(ctx, st, clock.Now)
	require.NoError(t, err)
	require.Len(t, st.keys, 1)
	require.Equal(t, k.SignerID(), k2.SignerID())
}

func TestKeyringRotateAndJWKS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &memKeyStore{}
	clock := newTestClock()
	k, err := LoadKeyring(ctx, st, clock.Now)
	require.NoError(t, err)
	first := k.SignerID()

	clock.Advance(time.Hour)
	require.NoError(t, k.Rotate(ctx))
	second := k.SignerID()
	require.NotEqual(t, first, second)
	require.Len(t, st.keys, 2)
	require.NotNil(t, st.keys[1].RetiredAt, "the previous key is retired")

	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(k.JWKS(), &set))
	require.Len(t, set.Keys, 2, "the retired key is still published: it still verifies")
	for i, want := range []*whitecross.SigningKey{st.keys[0], st.keys[1]} {
		pub := want.PrivateKey.Public().(ed25519.PublicKey)
		require.Equal(t, map[string]string{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
			"kid": want.ID, "x": base64.RawURLEncoding.EncodeToString(pub),
		}, set.Keys[i])
		require.Len(t, want.ID, 16)
	}

	require.Error(t, NewStaticKeyring(st.keys[0]).Rotate(ctx), "a static keyring cannot rotate")
}

func TestParseSigningKeyPEM(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	key, err := ParseSigningKeyPEM(pemBytes)
	require.NoError(t, err)
	require.Equal(t, priv, key.PrivateKey)
	sum := sha256.Sum256(pub)
	require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:])[:16], key.ID)

	// A static keyring signs with the first key and verifies with all.
	other, err := GenerateSigningKey(time.Now())
	require.NoError(t, err)
	ring := NewStaticKeyring(key, other)
	require.Equal(t, key.ID, ring.SignerID())
	_, ok := ring.publicKey(other.ID)
	require.True(t, ok)

	ecDER := mustECDSAPKCS8(t)
	for name, in := range map[string][]byte{
		"empty":        nil,
		"not pem":      []byte("hello"),
		"wrong type":   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}),
		"garbage der":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"not ed25519":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"public key":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"raw seed pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv.Seed()}),
	} {
		_, err := ParseSigningKeyPEM(in)
		require.Error(t, err, name)
	}
}

func mustECDSAPKCS8(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return der
}

func newTestClock() *storetest.Clock {
	return storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
}
