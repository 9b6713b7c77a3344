// Package vault encrypts small secrets at rest with AES-256-GCM under a
// master key (envelope encryption groundwork).
//
// A sealed value is
//
//	version (1 byte) || key id (8 bytes) || nonce (12 bytes) || ciphertext+tag
//
// The key id is the first 8 bytes of SHA-256 of the key, so a value tells
// which key sealed it without revealing the key, and the header is part of
// the authenticated data, so it cannot be altered either.
//
// Per-tenant data keys fit this format without changing it: a data key is
// 32 random bytes sealed by the master key with associated data naming its
// tenant, and New(dataKey) gives that tenant's Vault, whose key id names the
// data key. During a master key rotation a Ring holds the new and the old
// master key and picks one by the key id in the header; a new layout would
// get a new version byte.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"whitecross"
)

var _ whitecross.Sealer = (*Vault)(nil)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

const (
	version1  byte = 1
	keyIDSize      = 8
	nonceSize      = 12
	headerLen      = 1 + keyIDSize + nonceSize
)

// ErrWrongKey is returned by Open for a value sealed with a different key.
var ErrWrongKey = errors.New("vault: sealed with a different master key")

// ErrTampered is returned by Open when the sealed value or its associated
// data was altered, or the value is not something Seal produced.
var ErrTampered = errors.New("vault: sealed value or associated data was altered")

// Vault seals and opens secrets with one AES-256-GCM key. It is safe for
// concurrent use.
type Vault struct {
	aead  cipher.AEAD
	keyID [keyIDSize]byte
}

// New returns a Vault for a 32-byte key. The Vault keeps no reference to
// the caller's slice.
func New(masterKey []byte) (*Vault, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("vault: master key must be %d bytes, got %d", KeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	v := &Vault{aead: aead}
	sum := sha256.Sum256(masterKey)
	copy(v.keyID[:], sum[:keyIDSize])
	return v, nil
}

// KeyID returns the key id in hex: safe to log, and enough to tell two
// master keys apart (for example in start-up messages after a rotation).
func (v *Vault) KeyID() string { return hex.EncodeToString(v.keyID[:]) }

// Seal encrypts plaintext with a random nonce and binds it to
// associatedData, which Open must be given unchanged.
func (v *Vault) Seal(plaintext, associatedData []byte) ([]byte, error) {
	out := make([]byte, headerLen, headerLen+len(plaintext)+v.aead.Overhead())
	out[0] = version1
	copy(out[1:], v.keyID[:])
	if _, err := rand.Read(out[1+keyIDSize : headerLen]); err != nil {
		return nil, fmt.Errorf("vault: read nonce: %w", err)
	}
	nonce := out[1+keyIDSize : headerLen]
	return v.aead.Seal(out, nonce, plaintext, v.additionalData(out[:headerLen], associatedData)), nil
}

// Open decrypts a value made by Seal. It returns ErrWrongKey when another
// key sealed it and ErrTampered when the value or associatedData differs
// from what was sealed.
func (v *Vault) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < headerLen+v.aead.Overhead() {
		return nil, ErrTampered
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("%w (unknown format version %d)", ErrTampered, sealed[0])
	}
	if string(sealed[1:1+keyIDSize]) != string(v.keyID[:]) {
		return nil, ErrWrongKey
	}
	nonce := sealed[1+keyIDSize : headerLen]
	plain, err := v.aead.Open(nil, nonce, sealed[headerLen:], v.additionalData(sealed[:headerLen], associatedData))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// additionalData authenticates the header along with the caller's data, so
// neither the version nor the key id can be swapped.
func (v *Vault) additionalData(header, associatedData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(associatedData))
	ad = append(ad, header...)
	return append(ad, associatedData...)
}
