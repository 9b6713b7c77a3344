package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// serverOptions configures a testServer.
type serverOptions struct {
	startTLS    bool              // offer STARTTLS
	implicitTLS bool              // TLS from the first byte (smtps)
	authUser    string            // when set, require AUTH PLAIN with authUser/authPass
	authPass    string            //
	rejectRcpt  *gosmtp.SMTPError // reply to every RCPT with this error
	rejectData  *gosmtp.SMTPError // reply to every DATA with this error
	rcptEntered chan struct{}     // closed when a RCPT arrives; RCPT then blocks until the test ends
}

// transaction is one mail transaction the server accepted or attempted.
type transaction struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
	AuthPass string
}

// testServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1:0 that
// records what clients send.
type testServer struct {
	opts    serverOptions
	Host    string
	Port    int
	RootCAs *x509.CertPool // trusts the server's self-signed certificate

	mu   sync.Mutex
	txs  []*transaction
	done chan struct{} // closed at cleanup to release blocked handlers
	once sync.Once
}

func startServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{opts: opts, done: make(chan struct{})}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{server: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback; the client decides whether to send credentials
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if opts.startTLS || opts.implicitTLS {
		cert, pool := selfSignedCert(t)
		ts.RootCAs = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.startTLS {
			srv.TLSConfig = cfg
		}
		if opts.implicitTLS {
			ln = tls.NewListener(ln, cfg)
		}
	}
	addr := ln.Addr().(*net.TCPAddr)
	ts.Host, ts.Port = addr.IP.String(), addr.Port
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ts.once.Do(func() { close(ts.done) })
		_ = srv.Close()
		_ = ln.Close() // Close misses a listener that Serve has not registered yet
		<-served
	})
	return ts
}

// Addr is host:port for URLs.
func (ts *testServer) Addr() string { return net.JoinHostPort(ts.Host, strconv.Itoa(ts.Port)) }

// Transactions returns the transactions that reached MAIL FROM.
func (ts *testServer) Transactions() []transaction {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]transaction, len(ts.txs))
	for i, tx := range ts.txs {
		out[i] = *tx
	}
	return out
}

type session struct {
	server   *testServer
	conn     *gosmtp.Conn
	tx       *transaction
	authUser string
	authPass string
}

func (s *session) AuthMechanisms() []string {
	if s.server.opts.authUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.server.opts.authUser || password != s.server.opts.authPass {
			return gosmtp.ErrAuthFailed
		}
		s.authUser, s.authPass = username, password
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.server.opts.authUser != "" && s.authUser == "" {
		return gosmtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.tx = &transaction{From: from, TLS: isTLS, AuthUser: s.authUser, AuthPass: s.authPass}
	s.server.mu.Lock()
	s.server.txs = append(s.server.txs, s.tx)
	s.server.mu.Unlock()
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ch := s.server.opts.rcptEntered; ch != nil {
		close(ch)
		<-s.server.done
		return errors.New("test over")
	}
	if s.server.opts.rejectRcpt != nil {
		return s.server.opts.rejectRcpt
	}
	s.server.mu.Lock()
	s.tx.To = append(s.tx.To, to)
	s.server.mu.Unlock()
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.server.opts.rejectData != nil {
		return s.server.opts.rejectData
	}
	s.server.mu.Lock()
	s.tx.Data = b
	s.server.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.tx = nil }
func (s *session) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and localhost and a pool
// that trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "whitecross test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
