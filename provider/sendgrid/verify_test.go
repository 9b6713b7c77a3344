package sendgrid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/sendgrid"
)

// signer plays SendGrid: it holds the private key of a signed event
// webhook and signs bodies the way SendGrid does.
type signer struct {
	key *ecdsa.PrivateKey
	// PublicKey is the verification key as the SendGrid console shows it:
	// base64 of the DER SubjectPublicKeyInfo.
	PublicKey string
}

func newSigner(t *testing.T) *signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return &signer{key: key, PublicKey: base64.StdEncoding.EncodeToString(der)}
}

// sign returns the signature header for timestamp and body.
func (s *signer) sign(t *testing.T, timestamp string, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(append([]byte(timestamp), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

var signedAt = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func fixedClock(t time.Time) whitecross.Clock { return func() time.Time { return t } }

const batch = `[{"email":"parent@example.org","timestamp":1772460000,"smtp-id":"<d1@district.example>","event":"delivered","sg_event_id":"ev1"}]` + "\r\n"

func TestVerifyAcceptsSendGridSignature(t *testing.T) {
	t.Parallel()
	sg := newSigner(t)
	v, err := sendgrid.NewVerifier(sg.PublicKey, fixedClock(signedAt.Add(time.Minute)))
	require.NoError(t, err)
	ts := unix(signedAt)
	require.NoError(t, v.Verify(sg.sign(t, ts, []byte(batch)), ts, []byte(batch)))
}

// SendGrid's own Go helper publishes this key, payload, timestamp and
// signature (sendgrid-go helpers/eventwebhook tests): our verifier must
// accept what SendGrid's accepts.
func TestVerifyAcceptsSendGridPublishedVector(t *testing.T) {
	t.Parallel()
	const (
		publicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
		timestamp = "1588788367"
		signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
		payload   = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
	)
	v, err := sendgrid.NewVerifier(publicKey, fixedClock(time.Unix(1588788367, 0)))
	require.NoError(t, err)
	require.NoError(t, v.Verify(signature, timestamp, []byte(payload)))
	require.ErrorIs(t, v.Verify(signature, timestamp, []byte(payload+" ")), sendgrid.ErrSignature)
	require.ErrorIs(t, v.Verify(signature, "1588788368", []byte(payload)), sendgrid.ErrSignature)
}

func TestVerifyAcceptsPEMKey(t *testing.T) {
	t.Parallel()
	sg := newSigner(t)
	der, err := base64.StdEncoding.DecodeString(sg.PublicKey)
	require.NoError(t, err)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	v, err := sendgrid.NewVerifier(pemKey, fixedClock(signedAt))
	require.NoError(t, err)
	ts := unix(signedAt)
	require.NoError(t, v.Verify(sg.sign(t, ts, []byte(batch)), ts, []byte(batch)))
}

func TestVerifyRefusesTamperingAndWrongKeys(t *testing.T) {
	t.Parallel()
	sg := newSigner(t)
	v, err := sendgrid.NewVerifier(sg.PublicKey, fixedClock(signedAt))
	require.NoError(t, err)
	ts := unix(signedAt)
	good := sg.sign(t, ts, []byte(batch))
	other := newSigner(t)

	cases := map[string]struct{ sig, ts, body string }{
		"tampered body":          {good, ts, `[{"event":"bounce","email":"parent@example.org"}]`},
		"body without its CRLF":  {good, ts, batch[:len(batch)-2]},
		"other timestamp":        {good, unix(signedAt.Add(time.Second)), batch},
		"signed by another key":  {other.sign(t, ts, []byte(batch)), ts, batch},
		"no signature":           {"", ts, batch},
		"no timestamp":           {good, "", batch},
		"signature not base64":   {"not base64!", ts, batch},
		"signature not DER":      {base64.StdEncoding.EncodeToString([]byte("garbage")), ts, batch},
		"timestamp not a number": {sg.sign(t, "soon", []byte(batch)), "soon", batch},
	}
	for name, c := range cases {
		err := v.Verify(c.sig, c.ts, []byte(c.body))
		require.ErrorIs(t, err, sendgrid.ErrSignature, name)
		require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err), name)
	}
}

func TestVerifyRefusesReplays(t *testing.T) {
	t.Parallel()
	sg := newSigner(t)
	ts := unix(signedAt)
	sig := sg.sign(t, ts, []byte(batch))
	for _, c := range []struct {
		now time.Time
		err error
	}{
		{signedAt.Add(sendgrid.DefaultMaxAge), nil},
		{signedAt.Add(sendgrid.DefaultMaxAge + time.Second), sendgrid.ErrReplay},
		{signedAt.Add(24 * time.Hour), sendgrid.ErrReplay},
		{signedAt.Add(-sendgrid.DefaultMaxAge), nil},
		{signedAt.Add(-sendgrid.DefaultMaxAge - time.Second), sendgrid.ErrReplay},
	} {
		v, err := sendgrid.NewVerifier(sg.PublicKey, fixedClock(c.now))
		require.NoError(t, err)
		err = v.Verify(sig, ts, []byte(batch))
		if c.err == nil {
			require.NoError(t, err, "at %s", c.now)
		} else {
			require.ErrorIs(t, err, c.err, "at %s", c.now)
			require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err))
		}
	}
}

func TestParsePublicKeyRefusesOtherKeys(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384DER, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)

	for name, key := range map[string]string{
		"empty":          "",
		"not base64":     "not a key!",
		"not DER":        base64.StdEncoding.EncodeToString([]byte("garbage")),
		"P-384":          base64.StdEncoding.EncodeToString(p384DER),
		"RSA":            base64.StdEncoding.EncodeToString(rsaDER),
		"PEM of another": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p384DER})),
	} {
		_, err := sendgrid.ParsePublicKey(key)
		require.Error(t, err, name)
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), name)
	}
	_, err = sendgrid.NewVerifier("", nil)
	require.Error(t, err)
}
