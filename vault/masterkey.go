package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ParseMasterKey decodes a master key given as standard base64 (surrounding
// whitespace ignored) and checks it is 32 bytes. Errors never contain the
// key.
func ParseMasterKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return nil, errors.New("master key is empty: want 32 random bytes in base64")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("master key is not valid base64 (standard alphabet, with padding)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d after base64 decoding", KeySize, len(key))
	}
	return key, nil
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return key, nil
}

// EncodeMasterKey returns key as standard base64, the form ParseMasterKey
// and key files take.
func EncodeMasterKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// LoadOrCreateMasterKeyFile reads the base64 master key in path. When the
// file does not exist it generates a key and writes it with mode 0600
// (creating the directory with mode 0700), reporting created = true. Two
// processes starting at once end up with the same key: the file appears
// whole or not at all, and the loser reads the winner's. An existing file
// that does not hold a valid key is an error; it is never overwritten.
func LoadOrCreateMasterKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = GenerateMasterKey()
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create master key directory: %w", err)
	}
	// Write a temporary file, then link it into place: the link fails if
	// another process got there first, and nobody ever reads a half-written
	// key.
	tmp, err := os.CreateTemp(dir, ".master-key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(EncodeMasterKey(key) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("write master key file: %w", werr)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		key, err = readKeyFile(path)
		return key, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	return key, true, nil
}

// CheckKeyFileMode returns an error describing the problem when the key
// file at path can be read or written by group or others. It is meant for a
// start-up warning; the key still works.
func CheckKeyFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check master key file: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("master key file %s has mode %#o: other users may read it; run chmod 600", path, mode)
	}
	return nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}
