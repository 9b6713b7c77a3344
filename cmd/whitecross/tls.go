package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// certificate serves the key pair of WHITECROSS_TLS_CERT_FILE and
// WHITECROSS_TLS_KEY_FILE, and rereads it on SIGHUP, so that a renewed
// certificate is used by new connections without a restart.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	pair              atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the pair once; its error names the files.
func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the pair again. A pair that does not load (a half-written
// renewal, a key of another certificate) is refused and the current one
// kept, with an error logged; connections never see a broken pair.
func (c *certificate) reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		err = fmt.Errorf("load TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
		if c.pair.Load() != nil {
			c.log.Error("TLS certificate not reloaded; still serving the previous one", "error", err.Error())
		}
		return err
	}
	c.pair.Store(&pair)
	if pair.Leaf != nil {
		c.log.Info("TLS certificate loaded", "subject", pair.Leaf.Subject.String(), "not_after", pair.Leaf.NotAfter)
	}
	return nil
}

// config is the server's TLS configuration: TLS 1.2 and up, the current
// pair for every new connection.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.pair.Load(), nil
		},
	}
}

// reloadOnHangup rereads the pair at each SIGHUP until ctx ends. It
// listens for the signal before it returns, so a SIGHUP sent once serve is
// listening is never the default action (exit).
func (c *certificate) reloadOnHangup(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = c.reload() // logged
			}
		}
	}()
}
