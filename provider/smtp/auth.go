package smtp

import (
	"errors"
	"slices"
	"strings"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

var (
	// errCleartextAuth stops credentials from crossing an unencrypted
	// connection to another machine (a server that stopped offering
	// STARTTLS, or an attacker who stripped it).
	errCleartextAuth = errors.New("smtp: refusing to authenticate without TLS")
	// errNoAuthMechanism means the server offers neither PLAIN nor LOGIN.
	errNoAuthMechanism = errors.New("smtp: server offers no PLAIN or LOGIN authentication")
)

// credentialsAuth is AUTH PLAIN, or LOGIN when the server offers only that.
// Its checks run before anything is sent, so the password never leaves
// unless the connection is TLS or the host is loopback.
type credentialsAuth struct {
	username, password, host string
	chosen                   gosmtp.Auth
}

func (a *credentialsAuth) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(a.host) {
		return "", nil, errCleartextAuth
	}
	offers := func(mech string) bool {
		return slices.ContainsFunc(server.Auth, func(m string) bool { return strings.EqualFold(m, mech) })
	}
	// allowUnenc is true because the TLS/loopback check above already ran;
	// go-mail's own check knows only the names "localhost", "127.0.0.1", "::1".
	switch {
	case offers("PLAIN"):
		a.chosen = gosmtp.PlainAuth("", a.username, a.password, server.Name, true)
	case offers("LOGIN"):
		a.chosen = gosmtp.LoginAuth(a.username, a.password, server.Name, true)
	default:
		return "", nil, errNoAuthMechanism
	}
	return a.chosen.Start(server)
}

func (a *credentialsAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
