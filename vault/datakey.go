package vault

import (
	"crypto/rand"
	"fmt"
)

// Data keys are the per-tenant keys of envelope encryption: 32 random bytes
// that seal message content, each stored wrapped (sealed) by the master
// Vault. SealWithDataKey and OpenWithDataKey use the same value layout as a
// Vault (version, key id, nonce, ciphertext+tag), so a sealed value names
// the data key that sealed it and the header is authenticated.

// NewDataKey returns a fresh random 32-byte data key. It panics only if the
// system's random source fails, which crypto/rand documents as not
// happening on supported platforms.
func NewDataKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("vault: read random data key: %v", err))
	}
	return k
}

// SealWithDataKey encrypts plaintext with AES-256-GCM under a 32-byte data
// key, bound to ad (which OpenWithDataKey must be given unchanged). It
// returns an error only for a key of the wrong size.
func SealWithDataKey(key, plaintext, ad []byte) ([]byte, error) {
	v, err := New(key)
	if err != nil {
		return nil, fmt.Errorf("seal with data key: %w", err)
	}
	return v.Seal(plaintext, ad)
}

// OpenWithDataKey decrypts a value made by SealWithDataKey. It returns
// ErrWrongKey when another key sealed it and ErrTampered when the value or
// ad differs from what was sealed (for example a ciphertext moved to another
// record or field).
func OpenWithDataKey(key, sealed, ad []byte) ([]byte, error) {
	v, err := New(key)
	if err != nil {
		return nil, fmt.Errorf("open with data key: %w", err)
	}
	return v.Open(sealed, ad)
}
