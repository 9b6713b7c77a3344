// Package smtp sends email deliveries through an SMTP relay (go-mail).
//
// It implements whitecross.Sender for the EMAIL channel and imports nothing
// else of ours. Settings: WHITECROSS_SMTP_URL and WHITECROSS_EMAIL_FROM.
package smtp

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// Default ports: smtp:// is mail submission with STARTTLS (587, RFC 6409),
// smtps:// is implicit TLS (465, RFC 8314). Port 25 is for relay between
// MTAs, which is not what an application should submit to.
const (
	DefaultPort    = 587
	DefaultTLSPort = 465
	// DefaultTimeout bounds the connection and each SMTP command.
	DefaultTimeout = 30 * time.Second
)

// Config configures a Sender.
type Config struct {
	// URL is WHITECROSS_SMTP_URL: smtp://[user[:pass]@]host[:port] (STARTTLS
	// when offered; add ?starttls=required to insist) or
	// smtps://[user[:pass]@]host[:port] (implicit TLS).
	URL string
	// From is WHITECROSS_EMAIL_FROM: "White Cross <no-reply@district.example>"
	// or a bare address. An Outbound's FromName replaces the display name.
	From string
	// Timeout bounds the connection and each SMTP command (default 30s).
	Timeout time.Duration
	// TLSConfig is cloned for STARTTLS and implicit TLS (tests use it to
	// trust their server's certificate); nil means system roots.
	TLSConfig *tls.Config
}

// Security is how a connection is protected.
type Security int

const (
	// STARTTLSOpportunistic upgrades with STARTTLS when the server offers it.
	STARTTLSOpportunistic Security = iota
	// STARTTLSRequired fails the send when the server does not offer STARTTLS.
	STARTTLSRequired
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS
)

// Endpoint is a parsed WHITECROSS_SMTP_URL.
type Endpoint struct {
	Host     string
	Port     int
	Security Security
	Username string // "" means no AUTH
	Password string
}

// Redacted returns the endpoint as a URL without the password, for logs.
func (e Endpoint) Redacted() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port))}
	if e.Security == ImplicitTLS {
		u.Scheme = "smtps"
	}
	if e.Security == STARTTLSRequired {
		u.RawQuery = "starttls=required"
	}
	if e.Username != "" {
		u.User = url.User(e.Username)
	}
	return u.String()
}

// String is Redacted, so printing an Endpoint never shows the password.
func (e Endpoint) String() string { return e.Redacted() }

// ParseURL parses WHITECROSS_SMTP_URL. Errors are EINVALID and never
// repeat the URL (it may hold the password).
func ParseURL(raw string) (*Endpoint, error) {
	invalid := func(format string, args ...any) error {
		return whitecross.Errorf(whitecross.EINVALID, "WHITECROSS_SMTP_URL "+format, args...)
	}
	if strings.TrimSpace(raw) == "" {
		return nil, invalid("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		return nil, invalid("is not a valid URL (expected smtp://user:pass@host:port)")
	}
	ep := &Endpoint{}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		ep.Port = DefaultPort
	case "smtps":
		ep.Port, ep.Security = DefaultTLSPort, ImplicitTLS
	default:
		return nil, invalid("must start with smtp:// or smtps://")
	}
	ep.Host = u.Hostname()
	if ep.Host == "" {
		return nil, invalid("has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, invalid("has an invalid port")
		}
		ep.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, invalid("must not have a path")
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, invalid("has an invalid query")
	}
	for key, vals := range query {
		switch {
		case key == "starttls" && len(vals) == 1 && vals[0] == "required":
			if ep.Security == ImplicitTLS {
				return nil, invalid("starttls=required is for smtp:// (smtps:// is always TLS)")
			}
			ep.Security = STARTTLSRequired
		case key == "starttls":
			return nil, invalid("starttls accepts only \"required\"")
		default:
			// The name is not repeated: a mistyped URL may put a secret there.
			return nil, invalid("accepts only the parameter starttls=required")
		}
	}
	if u.User != nil {
		ep.Username = u.User.Username()
		ep.Password, _ = u.User.Password()
		if ep.Username == "" && ep.Password != "" {
			return nil, invalid("has a password but no user")
		}
	}
	return ep, nil
}

// parseFrom parses WHITECROSS_EMAIL_FROM.
func parseFrom(raw string) (*mail.Address, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, whitecross.Errorf(whitecross.EINVALID, "WHITECROSS_EMAIL_FROM is required for email")
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil {
		return nil, whitecross.Errorf(whitecross.EINVALID,
			"WHITECROSS_EMAIL_FROM must be an address or \"Name <address>\"")
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 0 || at == len(addr.Address)-1 {
		return nil, whitecross.Errorf(whitecross.EINVALID, "WHITECROSS_EMAIL_FROM must have a domain")
	}
	return addr, nil
}

// isLoopback reports whether host is this machine, where credentials may
// travel without TLS (a local relay or a test server).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s Security) String() string {
	switch s {
	case STARTTLSRequired:
		return "starttls-required"
	case ImplicitTLS:
		return "implicit-tls"
	default:
		return "starttls-opportunistic"
	}
}

var _ fmt.Stringer = Security(0)
