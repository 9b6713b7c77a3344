package vault

import (
	"crypto/rand"
	"fmt"
)

// Data keys are the per-tenant keys of envelope encryption: 32 random bytes
// that seal message content, each stored wrapped (sealed) by the master
// Vault. A data key is used through New(key) like the master key, so a value
// it seals has the same layout (version, key id, nonce, ciphertext+tag),
// names the data key that sealed it, and has its header authenticated.

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
