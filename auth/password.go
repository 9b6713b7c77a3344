// Package auth signs people in: argon2id password hashes, Ed25519-signed
// access tokens (JWT, EdDSA, named by kid), opaque rotating refresh tokens,
// and the login throttle. It implements whitecross.AuthService and
// whitecross.PasswordHasher on top of the store's interfaces.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"whitecross"
)

var _ whitecross.PasswordHasher = (*Argon2id)(nil)

// Default argon2id parameters: the OWASP password storage recommendation
// (19 MiB, 2 passes, 1 lane).
const (
	defaultTime    = 2
	defaultMemory  = 19 * 1024 // KiB
	defaultThreads = 1
	defaultSaltLen = 16
	defaultKeyLen  = 32
)

// Limits on the parameters accepted from a stored hash, so a corrupted or
// planted hash cannot make one verification allocate gigabytes or spin.
const (
	maxMemory  = 1 << 20 // KiB (1 GiB)
	maxTime    = 16
	maxThreads = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// Argon2id hashes passwords with argon2id and encodes them as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", unpadded standard base64),
// so each hash carries its own parameters and old hashes keep verifying
// after the defaults change.
type Argon2id struct {
	time    uint32
	memory  uint32 // KiB
	threads uint8
	saltLen int
	keyLen  uint32
}

// NewArgon2id returns a hasher with the default parameters: time=2,
// memory=19 MiB, threads=1, 16-byte salt, 32-byte key.
func NewArgon2id() *Argon2id {
	return &Argon2id{
		time: defaultTime, memory: defaultMemory, threads: defaultThreads,
		saltLen: defaultSaltLen, keyLen: defaultKeyLen,
	}
}

// HashPassword implements whitecross.PasswordHasher. It fails only when the
// system random source does.
func (a *Argon2id) HashPassword(_ context.Context, password string) (string, error) {
	salt := make([]byte, a.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, a.time, a.memory, a.threads, a.keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, a.memory, a.time, a.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword implements whitecross.PasswordHasher: it recomputes the
// hash with the parameters and salt stored in hash and compares in constant
// time. A malformed hash never matches; it never returns an error.
func (a *Argon2id) VerifyPassword(_ context.Context, hash, password string) (bool, error) {
	p, err := decodePHC(hash)
	if err != nil {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// phcHash is a decoded argon2id PHC string.
type phcHash struct {
	time    uint32
	memory  uint32
	threads uint8
	salt    []byte
	key     []byte
}

// errMalformedHash is returned by decodePHC; it never carries the hash.
var errMalformedHash = errors.New("malformed argon2id hash")

// decodePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$key" strictly: the
// parameters in that order, version 19, values within the limits above.
func decodePHC(s string) (*phcHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return nil, fmt.Errorf("%w: want 5 fields", errMalformedHash)
	}
	if parts[1] != "argon2id" {
		return nil, fmt.Errorf("%w: algorithm is not argon2id", errMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: unsupported version", errMalformedHash)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, fmt.Errorf("%w: want m, t and p", errMalformedHash)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return nil, fmt.Errorf("%w: want parameter %s", errMalformedHash, name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return nil, fmt.Errorf("%w: bad parameter %s", errMalformedHash, name)
		}
		vals[i] = n
	}
	p := &phcHash{memory: uint32(vals[0]), time: uint32(vals[1])}
	if vals[2] < 1 || vals[2] > maxThreads {
		return nil, fmt.Errorf("%w: p out of range", errMalformedHash)
	}
	p.threads = uint8(vals[2])
	if p.time < 1 || p.time > maxTime {
		return nil, fmt.Errorf("%w: t out of range", errMalformedHash)
	}
	if p.memory < 8*uint32(p.threads) || p.memory > maxMemory {
		return nil, fmt.Errorf("%w: m out of range", errMalformedHash)
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("%w: bad salt encoding", errMalformedHash)
	}
	if len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return nil, fmt.Errorf("%w: salt length out of range", errMalformedHash)
	}
	if p.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil {
		return nil, fmt.Errorf("%w: bad hash encoding", errMalformedHash)
	}
	if len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return nil, fmt.Errorf("%w: hash length out of range", errMalformedHash)
	}
	return p, nil
}
