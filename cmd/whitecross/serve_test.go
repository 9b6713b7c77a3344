package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
	"whitecross/store"
)

// TestServeStopsCleanlyOnSIGTERM runs the real main() in a child process,
// sends it SIGTERM and expects exit code 0 after a graceful shutdown.
func TestServeStopsCleanlyOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "WHITECROSS_DATA_DIR="+dir, "DATABASE_URL=", "WHITECROSS_MASTER_KEY=")
	stderr := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = &testutil.SyncBuffer{}, stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	deadline := time.After(serveStartLimit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var url string
	for url == "" {
		select {
		case err := <-exited:
			t.Fatalf("serve exited early: %v\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start: %s", stderr.String())
		case <-tick.C:
			url = listeningURL(stderr.String())
		}
	}
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoErrorf(t, err, "exit after SIGTERM; stderr: %s", stderr.String())
	case <-deadline:
		t.Fatal("serve did not stop after SIGTERM")
	}
	require.Contains(t, stderr.String(), `"msg":"shutting down"`)
	require.Contains(t, stderr.String(), `"msg":"stopped"`)
}

func TestKeysRotateKeepsEarlierTokensValid(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		// A fixed public URL: it is the tokens' issuer, and the port changes.
		e = e.with("WHITECROSS_PUBLIC_URL", "http://whitecross.test")
		srv := startServe(t, e, "--demo")
		old := srv.login("demo", "admin@demo.example", demoPassword)
		require.Equal(t, 1, jwksCount(t, srv))
		require.Equal(t, 0, srv.stop())

		r := mustCLI(t, e, "", "keys", "rotate")
		require.Regexp(t, `^New signing key \S+ is current; the previous key \S+ keeps verifying tokens it signed\.\n$`, r.stdout)

		srv = startServe(t, e)
		require.Equal(t, 2, jwksCount(t, srv))
		require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/api/v1/me", old, nil, nil), "a token signed before the rotation still verifies")
		fresh := srv.login("demo", "admin@demo.example", demoPassword)
		require.NotEqual(t, kid(t, old), kid(t, fresh), "new tokens are signed with the new key")
	})
}

func TestConfiguredSigningKeyIsUsedAndCannotBeRotated(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "jwt.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))

	e := newEnv(t, store.SQLite).with("WHITECROSS_JWT_SIGNING_KEY_FILE", keyFile)
	srv := startServe(t, e, "--demo")
	var jwks struct {
		Keys []struct {
			X string `json:"x"`
		} `json:"keys"`
	}
	require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/.well-known/jwks.json", "", nil, &jwks))
	require.Len(t, jwks.Keys, 1)
	require.NoError(t, srv.stopOK())

	r := cli(t, e, "", "keys", "rotate")
	require.Equal(t, exitUsage, r.code)
	require.Equal(t, []string{"whitecross keys rotate: the signing key comes from WHITECROSS_JWT_SIGNING_KEY_FILE; rotate it by replacing that key (keys rotate manages database-stored keys only)"}, lines(r.stderr))
}

// stopOK stops the server and returns an error unless it exited 0.
func (s *server) stopOK() error {
	if code := s.stop(); code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}

func jwksCount(t *testing.T, srv *server) int {
	t.Helper()
	var jwks struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.Equal(t, http.StatusOK, srv.do(http.MethodGet, "/.well-known/jwks.json", "", nil, &jwks))
	return len(jwks.Keys)
}

// kid returns the key id in a JWT's header.
func kid(t *testing.T, token string) string {
	t.Helper()
	var header struct {
		Kid string `json:"kid"`
	}
	part, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(part)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &header))
	require.NotEmpty(t, header.Kid)
	return header.Kid
}
