package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"whitecross"
)

// reloadInterval bounds how often a token with an unknown kid may make the
// keyring reread the store, so forged kids cannot hammer the database.
const reloadInterval = 10 * time.Second

// Keyring holds the Ed25519 keys that sign and verify access tokens. The
// newest unretired key signs; every key verifies, so tokens signed before a
// rotation stay valid until they expire. A store-backed keyring rereads the
// store when it meets a kid it does not know, which is how a key rotated on
// another instance is picked up.
type Keyring struct {
	store whitecross.SigningKeyStore // nil for a static keyring
	now   whitecross.Clock

	mu     sync.RWMutex
	keys   map[string]ed25519.PublicKey
	signer *whitecross.SigningKey
	jwks   []byte

	reloadMu   sync.Mutex
	lastReload time.Time
}

// LoadKeyring reads the signing keys from st, generating and storing a
// first key when there is none. now dates new keys and paces reloads.
func LoadKeyring(ctx context.Context, st whitecross.SigningKeyStore, now whitecross.Clock) (*Keyring, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{store: st, now: now}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(keys) == 0 {
		first, err := GenerateSigningKey(now())
		if err != nil {
			return nil, err
		}
		if err := st.AddSigningKey(ctx, first); err != nil {
			return nil, fmt.Errorf("store first signing key: %w", err)
		}
		// Reread rather than trust our own key: another instance starting at
		// the same moment may have added one too, and the store decides which
		// is current.
		if keys, err = st.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	if err := k.set(keys); err != nil {
		return nil, err
	}
	k.lastReload = now()
	return k, nil
}

// NewStaticKeyring returns a keyring of fixed keys (from configuration): the
// first signs, all verify. It panics when given no key or a key that is not
// a valid Ed25519 private key, which is a programming error.
func NewStaticKeyring(keys ...*whitecross.SigningKey) *Keyring {
	k := &Keyring{now: time.Now}
	if err := k.set(keys); err != nil {
		panic(err)
	}
	// The first key signs even if an older configuration marked it retired.
	k.signer = keys[0]
	return k
}

// GenerateSigningKey returns a new random Ed25519 signing key created at now.
func GenerateSigningKey(now time.Time) (*whitecross.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &whitecross.SigningKey{ID: keyID(pub), PrivateKey: priv, CreatedAt: now.UTC()}, nil
}

// ParseSigningKeyPEM parses a PKCS#8 "PRIVATE KEY" PEM block holding an
// Ed25519 key (as written by `openssl genpkey -algorithm ed25519`). Its kid
// is derived from the public key, so every instance given the same file
// names it the same way.
func ParseSigningKeyPEM(pemBytes []byte) (*whitecross.SigningKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("parse signing key: want a PEM \"PRIVATE KEY\" block (PKCS#8)")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("parse signing key: not a valid PKCS#8 private key")
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("parse signing key: not an Ed25519 key")
	}
	return &whitecross.SigningKey{ID: keyID(priv.Public().(ed25519.PublicKey)), PrivateKey: priv}, nil
}

// keyID is base64url(sha256(public key)), first 16 characters.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:])[:16]
}

// Rotate generates a new key, stores it as the signer (the store retires the
// previous one, which keeps verifying) and reloads. It fails on a static
// keyring: configured keys are rotated by changing the configuration.
func (k *Keyring) Rotate(ctx context.Context) error {
	if k.store == nil {
		return errors.New("rotate signing key: keys come from configuration; replace the key file instead")
	}
	next, err := GenerateSigningKey(k.now())
	if err != nil {
		return err
	}
	if err := k.store.AddSigningKey(ctx, next); err != nil {
		return fmt.Errorf("store signing key: %w", err)
	}
	return k.Reload(ctx)
}

// Reload rereads the keys from the store (no-op for a static keyring), for
// instances that want to follow a rotation done elsewhere promptly.
func (k *Keyring) Reload(ctx context.Context) error {
	if k.store == nil {
		return nil
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.reloadLocked(ctx)
}

func (k *Keyring) reloadLocked(ctx context.Context) error {
	k.lastReload = k.now()
	keys, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	return k.set(keys)
}

// reloadForUnknownKid rereads the store unless it was read within
// reloadInterval.
func (k *Keyring) reloadForUnknownKid(ctx context.Context) error {
	if k.store == nil {
		return nil
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	if now := k.now(); now.Sub(k.lastReload) < reloadInterval && !now.Before(k.lastReload) {
		return nil
	}
	return k.reloadLocked(ctx)
}

// set replaces the keys; keys are newest first. The newest unretired key
// signs (the newest of all if every key is retired).
func (k *Keyring) set(keys []*whitecross.SigningKey) error {
	if len(keys) == 0 {
		return errors.New("load signing keys: no signing key")
	}
	pubs := make(map[string]ed25519.PublicKey, len(keys))
	jwks := jwkSet{Keys: make([]jwk, 0, len(keys))}
	var signer *whitecross.SigningKey
	for _, key := range keys {
		if len(key.PrivateKey) != ed25519.PrivateKeySize || key.ID == "" {
			return fmt.Errorf("load signing keys: key %q is not a valid Ed25519 key", key.ID)
		}
		if _, dup := pubs[key.ID]; dup {
			continue
		}
		pub := key.PrivateKey.Public().(ed25519.PublicKey)
		pubs[key.ID] = pub
		jwks.Keys = append(jwks.Keys, jwk{
			Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub),
			Kid: key.ID, Alg: "EdDSA", Use: "sig",
		})
		if signer == nil && key.RetiredAt == nil {
			signer = key
		}
	}
	if signer == nil {
		signer = keys[0]
	}
	doc, err := json.Marshal(jwks)
	if err != nil {
		return fmt.Errorf("encode jwks: %w", err)
	}
	k.mu.Lock()
	k.keys, k.signer, k.jwks = pubs, signer, doc
	k.mu.Unlock()
	return nil
}

// signingKey returns the key that signs new tokens.
func (k *Keyring) signingKey() *whitecross.SigningKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signer
}

// publicKey returns the verifying key named kid.
func (k *Keyring) publicKey(kid string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pub, ok := k.keys[kid]
	return pub, ok
}

// SignerID returns the kid of the key that signs new tokens.
func (k *Keyring) SignerID() string { return k.signingKey().ID }

// JWKS returns the JSON Web Key Set of every verifying key, for
// GET /.well-known/jwks.json.
func (k *Keyring) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]byte(nil), k.jwks...)
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// jwk is an RFC 8037 OKP public key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}
