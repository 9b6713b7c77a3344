// Package sendgrid reads Twilio SendGrid's Event Webhook: it verifies the
// signed webhook the way SendGrid signs it and turns the batch of events
// into delivery statuses and address suppressions.
//
// whitecross sends email through its SMTP provider; SendGrid is then the
// relay, and its events name each email by the Message-ID we set
// ("smtp-id"). This package sends nothing.
//
// It imports nothing of ours but the root whitecross package.
package sendgrid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// DefaultMaxAge is how far a signature's timestamp may be from our clock,
// either way, before the request is refused as a replay. SendGrid posts
// within seconds of signing; its own retries are signed afresh.
const DefaultMaxAge = 10 * time.Minute

// Errors of Verify. Both are EFORBIDDEN: the API answers 403 and changes
// nothing.
var (
	ErrSignature = whitecross.Errorf(whitecross.EFORBIDDEN, "SendGrid event webhook signature is missing or invalid.")
	ErrReplay    = whitecross.Errorf(whitecross.EFORBIDDEN, "SendGrid event webhook timestamp is too far from the current time.")
)

// Verifier checks SendGrid's signed event webhook with the account's
// verification key.
type Verifier struct {
	key *ecdsa.PublicKey
	now whitecross.Clock
}

// NewVerifier returns a Verifier for publicKey, the "Verification Key" the
// SendGrid console shows for the signed event webhook (base64 of a DER
// SubjectPublicKeyInfo; a PEM "PUBLIC KEY" block is accepted too). now is
// the clock the timestamp is compared with (nil: time.Now). A key that is
// not an ECDSA P-256 public key is EINVALID.
func NewVerifier(publicKey string, now whitecross.Clock) (*Verifier, error) {
	key, err := ParsePublicKey(publicKey)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{key: key, now: now}, nil
}

// ParsePublicKey reads a verification key as NewVerifier takes it, so
// configuration can be checked at start-up. EINVALID when it is not an
// ECDSA P-256 public key.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, whitecross.Errorf(whitecross.EINVALID, "SendGrid verification key: PEM block is %q, want PUBLIC KEY", block.Type)
		}
		der = block.Bytes
	} else {
		var err error
		// The console shows the key on one line; tolerate it pasted wrapped.
		if der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return nil, whitecross.Errorf(whitecross.EINVALID, "SendGrid verification key is not base64")
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, whitecross.Errorf(whitecross.EINVALID, "SendGrid verification key is not a public key (DER SubjectPublicKeyInfo)")
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, whitecross.Errorf(whitecross.EINVALID, "SendGrid verification key is not an ECDSA P-256 key")
	}
	return key, nil
}

// Verify checks that signature and timestamp (the two headers' values) are
// SendGrid's signature of body, the raw request body exactly as received:
// ECDSA P-256 over SHA-256 of the timestamp's text followed by the body.
// It returns ErrSignature for a missing, malformed or wrong signature and
// ErrReplay for a valid signature whose timestamp is more than
// DefaultMaxAge from the clock.
func (v *Verifier) Verify(signature, timestamp string, body []byte) error {
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return ErrSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrSignature
	}
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	if !ecdsa.VerifyASN1(v.key, h.Sum(nil), sig) {
		return ErrSignature
	}
	// The timestamp is signed, so it is checked only once it is known to be
	// SendGrid's.
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrSignature
	}
	age := v.now().Sub(time.Unix(secs, 0))
	if age > DefaultMaxAge || age < -DefaultMaxAge {
		return ErrReplay
	}
	return nil
}
