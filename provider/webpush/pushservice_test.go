package webpush_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// browser is the user agent side of a subscription: its P-256 key pair and
// auth secret, as a real browser keeps them.
type browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	auth := make([]byte, 16)
	_, err = rand.Read(auth)
	require.NoError(t, err)
	return &browser{key: key, auth: auth}
}

// subscription returns PushSubscription.toJSON() for endpoint.
func (b *browser) subscription(t *testing.T, endpoint string) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"endpoint":       endpoint,
		"expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(b.auth),
		},
	})
	require.NoError(t, err)
	return string(data)
}

// decrypt opens an aes128gcm body the way a browser does (RFC 8291 §3.4
// and RFC 8188), independently of the library under test.
func (b *browser) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("short keyid")
	}
	asPublicBytes := body[21 : 21+idlen]
	ciphertext := body[21+idlen:]
	if rs < 18 || len(ciphertext) > int(rs) {
		return nil, errors.New("expected exactly one record")
	}
	asPublic, err := ecdh.P256().NewPublicKey(asPublicBytes)
	if err != nil {
		return nil, err
	}
	ecdhSecret, err := b.key.ECDH(asPublic)
	if err != nil {
		return nil, err
	}
	prkKey, err := hkdf.Extract(sha256.New, ecdhSecret, b.auth)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(b.key.PublicKey().Bytes()) + string(asPublicBytes)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, err
	}
	// Last (only) record: data, delimiter 0x02, zero padding.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("missing last-record delimiter")
	}
	return plain[:i], nil
}

// pushRequest is what the fake push service received.
type pushRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

// pushService is a TLS push service answering every POST with status and
// headers set by the test.
type pushService struct {
	*httptest.Server
	mu       sync.Mutex
	status   int
	header   http.Header
	requests []pushRequest
}

func newPushService(t *testing.T) *pushService {
	t.Helper()
	ps := &pushService{status: http.StatusCreated, header: http.Header{}}
	ps.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		ps.requests = append(ps.requests, pushRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		for k, v := range ps.header {
			w.Header()[k] = v
		}
		w.WriteHeader(ps.status)
	}))
	t.Cleanup(ps.Close)
	return ps
}

// roots trusts the push service's self-signed certificate.
func (ps *pushService) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ps.Certificate())
	return pool
}

func (ps *pushService) respond(status int, header http.Header) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.status = status
	if header == nil {
		header = http.Header{}
	}
	ps.header = header
}

func (ps *pushService) last(t *testing.T) pushRequest {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	require.NotEmpty(t, ps.requests, "push service received nothing")
	return ps.requests[len(ps.requests)-1]
}
