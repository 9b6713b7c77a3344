package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/store"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial and its key to certPath and keyPath, each replaced at once (a
// rename), as a renewal tool does.
func writeCert(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "whitecross test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	replaceFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// serveClient is the HTTP client of a serve run: with a certificate file
// one that accepts the self-signed certificates the TLS test writes (it
// checks which one it got by serial), else http.DefaultClient.
func serveClient(certFile string) *http.Client {
	if certFile == "" {
		return http.DefaultClient
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the test checks which certificate it got
	}}}
}

// servedSerial opens a new TLS connection and returns the serial of the
// certificate the server presents.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestServeSpeaksTLS: with a certificate and key, serve answers HTTPS only
// (TLS 1.2 and up) with Strict-Transport-Security, and a SIGHUP makes new
// connections use the renewed pair; a broken pair is refused and the
// current one kept. Not parallel: SIGHUP goes to the whole test process,
// and sequential tests run while the parallel ones (other serves) wait.
func TestServeSpeaksTLS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certPath, keyPath, 1)
	e := newEnv(t, store.SQLite).with("WHITECROSS_TLS_CERT_FILE", certPath, "WHITECROSS_TLS_KEY_FILE", keyPath)
	srv := startServe(t, e)
	require.True(t, strings.HasPrefix(srv.URL, "https://"), srv.URL)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	res, err := srv.client.Get(srv.URL + "/api/v1/push/key")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "max-age=31536000", res.Header.Get("Strict-Transport-Security"))
	require.GreaterOrEqual(t, res.TLS.Version, uint16(tls.VersionTLS12))

	_, err = tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	require.Error(t, err, "a TLS 1.1 client must be refused")
	plain, err := http.Get("http://" + u.Host + "/healthz")
	if err == nil {
		plain.Body.Close()
		require.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP is not served")
	}

	require.Equal(t, int64(1), servedSerial(t, u.Host))
	writeCert(t, certPath, keyPath, 2)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return servedSerial(t, u.Host) == 2 }, time.Minute, 10*time.Millisecond)

	replaceFile(t, certPath, []byte("not a certificate"))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Contains(srv.stderr.String(), "TLS certificate not reloaded; still serving the previous one")
	}, time.Minute, 10*time.Millisecond)
	require.Equal(t, int64(2), servedSerial(t, u.Host))
	require.Equal(t, 0, srv.stop())
}
