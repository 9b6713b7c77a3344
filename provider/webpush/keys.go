package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"whitecross"
)

// GenerateVAPIDKeys returns a new VAPID key pair: the P-256 public key as an
// uncompressed point and the private scalar, both unpadded base64url (the
// form browsers take as applicationServerKey).
func GenerateVAPIDKeys() (public, private string, err error) {
	// The library returns (private, public); we return them the other way
	// round, matching how the keys are named everywhere else.
	private, public, err = webpushgo.GenerateVAPIDKeys()
	if err != nil {
		return "", "", fmt.Errorf("generate vapid keys: %w", err)
	}
	return public, private, nil
}

// keyFile is the JSON written by LoadOrCreateVAPIDKeys.
type keyFile struct {
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// LoadOrCreateVAPIDKeys returns the key pair stored at path, creating it
// (file mode 0600, missing directories 0700) with new keys when the file
// does not exist. It is for installations that did not configure VAPID keys:
// the keys must stay the same across restarts, since every browser
// subscription is bound to the public key. A file that cannot be parsed or
// whose keys do not match is an EINVALID error, never silently replaced.
func LoadOrCreateVAPIDKeys(path string) (public, private string, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		var kf keyFile
		if err := json.Unmarshal(data, &kf); err != nil {
			return "", "", whitecross.Errorf(whitecross.EINVALID, "VAPID key file %s is not valid JSON.", path)
		}
		if err := validateKeys(kf.PublicKey, kf.PrivateKey); err != nil {
			return "", "", whitecross.Errorf(whitecross.EINVALID, "VAPID key file %s: %s", path, whitecross.ErrorMessage(err))
		}
		return kf.PublicKey, kf.PrivateKey, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", fmt.Errorf("read vapid key file: %w", err)
	}

	public, private, err = GenerateVAPIDKeys()
	if err != nil {
		return "", "", err
	}
	data, err = json.MarshalIndent(keyFile{PublicKey: public, PrivateKey: private}, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("encode vapid key file: %w", err)
	}
	if err := writeFileAtomic(path, append(data, '\n')); err != nil {
		return "", "", err
	}
	return public, private, nil
}

// writeFileAtomic writes data to a 0600 temporary file beside path and
// renames it into place, so a crash never leaves a half-written key file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create vapid key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".vapid-*.tmp") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("create vapid key file: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod vapid key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write vapid key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync vapid key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close vapid key file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename vapid key file: %w", err)
	}
	return nil
}

// validateKeys checks that public is the P-256 point of private. It returns
// EINVALID with a message that never contains the private key.
func validateKeys(public, private string) error {
	pub, err := decodeKey(public)
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		return whitecross.Errorf(whitecross.EINVALID, "VAPID public key must be an uncompressed P-256 point in base64url.")
	}
	priv, err := decodeKey(private)
	if err != nil || len(priv) != 32 {
		return whitecross.Errorf(whitecross.EINVALID, "VAPID private key must be a 32-byte P-256 scalar in base64url.")
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return whitecross.Errorf(whitecross.EINVALID, "VAPID private key is not a valid P-256 key.")
	}
	if !bytes.Equal(key.PublicKey().Bytes(), pub) {
		return whitecross.Errorf(whitecross.EINVALID, "VAPID public key does not belong to the private key.")
	}
	return nil
}

// decodeKey accepts base64url or standard base64, padded or not, as the
// library does.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
