package vault

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// DeriveKey returns a 32-byte key for one purpose (named by purpose) from
// the master key (HKDF-SHA256), so a server secret such as the key of
// sign-in code hashes needs no setting of its own, is the same on every
// instance, and reveals nothing of the master key or of other purposes'
// keys.
func DeriveKey(masterKey []byte, purpose string) ([]byte, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("vault: master key must be %d bytes, got %d", KeySize, len(masterKey))
	}
	key, err := hkdf.Key(sha256.New, masterKey, nil, "whitecross "+purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("vault: derive key: %w", err)
	}
	return key, nil
}
