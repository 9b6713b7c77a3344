package vault

import (
	"encoding/hex"
	"fmt"

	"whitecross"
)

var _ whitecross.Sealer = (*Ring)(nil)

// Ring is the master key of a deployment in the middle of a master key
// rotation: it seals with the current key and opens a value with whichever
// of its keys sealed it, chosen by the key id in the value's header. A
// server started with both the new and the old master key (during the
// roll) thus reads data keys wrapped under either, while everything it
// wraps uses the new one. It is safe for concurrent use.
type Ring struct {
	current *Vault
	byID    map[[keyIDSize]byte]*Vault
}

// NewRing returns a Ring that seals with current and opens with current or
// any of older.
func NewRing(current *Vault, older ...*Vault) *Ring {
	r := &Ring{current: current, byID: map[[keyIDSize]byte]*Vault{current.keyID: current}}
	for _, v := range older {
		if _, ok := r.byID[v.keyID]; !ok {
			r.byID[v.keyID] = v
		}
	}
	return r
}

// KeyID is the id of the sealing (current) key.
func (r *Ring) KeyID() string { return r.current.KeyID() }

// Seal seals with the current key.
func (r *Ring) Seal(plaintext, associatedData []byte) ([]byte, error) {
	return r.current.Seal(plaintext, associatedData)
}

// Open opens a value sealed by any key of the ring. A value of a key the
// ring does not hold is ErrWrongKey, naming that key's id and the ring's.
func (r *Ring) Open(sealed, associatedData []byte) ([]byte, error) {
	id, ok := sealedKeyID(sealed)
	if !ok {
		return nil, ErrTampered
	}
	v, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w (value sealed by key %s; this server holds %s)", ErrWrongKey, hex.EncodeToString(id[:]), r.keyIDs())
	}
	return v.Open(sealed, associatedData)
}

// Current reports whether sealed was sealed by the current key, so a
// rotation re-wraps only what still needs it.
func (r *Ring) Current(sealed []byte) bool {
	id, ok := sealedKeyID(sealed)
	return ok && id == r.current.keyID
}

func (r *Ring) keyIDs() string {
	s := r.current.KeyID()
	for id, v := range r.byID {
		if v != r.current {
			s += ", " + hex.EncodeToString(id[:])
		}
	}
	return s
}

// SealedKeyID returns the id (hex) of the key that sealed a value, or ""
// when the value is not something Seal produced. It reveals nothing
// secret: operators use it to see which master key wraps a data key.
func SealedKeyID(sealed []byte) string {
	id, ok := sealedKeyID(sealed)
	if !ok {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func sealedKeyID(sealed []byte) (id [keyIDSize]byte, ok bool) {
	if len(sealed) < headerLen || sealed[0] != version1 {
		return id, false
	}
	copy(id[:], sealed[1:1+keyIDSize])
	return id, true
}
