package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"whitecross"
)

// ProviderName is the Provider of every *whitecross.ProviderError this
// package returns.
const ProviderName = "smtp"

// Headers set on every email.
const (
	// HeaderDelivery carries the DeliveryID so bounces and replies can be
	// matched to the delivery.
	HeaderDelivery = "X-Whitecross-Delivery"
	// headerAutoSubmitted (RFC 3834) asks auto-responders not to answer.
	headerAutoSubmitted = "Auto-Submitted"
	// headerAutoResponseSuppress is Exchange's equivalent.
	headerAutoResponseSuppress = "X-Auto-Response-Suppress"
)

// Sender sends email deliveries over SMTP. It opens one connection per
// Send and holds no connection between sends, so it is safe for concurrent
// use.
type Sender struct {
	endpoint   *Endpoint
	from       *netmail.Address
	fromDomain string
	timeout    time.Duration
	tlsConfig  *tls.Config
	helo       string
}

var _ whitecross.Sender = (*Sender)(nil)

// New validates cfg and returns a Sender; it does not connect. Errors are
// EINVALID and never contain the password.
func New(cfg Config) (*Sender, error) {
	ep, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, whitecross.Errorf(whitecross.EINVALID, "SMTP timeout must not be negative")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tlsConfig := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = ep.Host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	helo := "localhost"
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
		helo = h
	}
	return &Sender{
		endpoint:   ep,
		from:       from,
		fromDomain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		timeout:    timeout,
		tlsConfig:  tlsConfig,
		helo:       helo,
	}, nil
}

// Endpoint returns the parsed WHITECROSS_SMTP_URL (use Redacted to log it).
func (s *Sender) Endpoint() Endpoint { return *s.endpoint }

// Send submits out as one email. The result's ProviderID is the
// Message-ID header we generated ("<DeliveryID@from-domain>"), Status
// DeliverySent. Failures are *whitecross.ProviderError (Provider "smtp"):
// Permanent for a 5xx reply to MAIL, RCPT or DATA and for an invalid
// recipient address; temporary for 4xx replies and for connection, TLS,
// authentication and timeout failures. When ctx ends first, the error
// wraps ctx.Err() instead.
func (s *Sender) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("send email: %w", err)
	}
	msg, providerID, perr := s.buildMessage(out)
	if perr != nil {
		return nil, perr
	}

	// conn is the raw connection, kept so cancellation can close it: go-mail
	// honours ctx only while dialing and would otherwise wait for Timeout.
	var conn net.Conn
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{}
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if s.endpoint.Security == ImplicitTLS {
			tc := tls.Client(c, s.tlsConfig)
			if err := tc.HandshakeContext(dctx); err != nil {
				_ = c.Close()
				return nil, err
			}
			c = tc // a *tls.Conn, so go-mail knows the session is encrypted
		}
		conn = c
		return c, nil
	}
	client, err := mail.NewClient(s.endpoint.Host, s.clientOptions(dial)...)
	if err != nil {
		return nil, fmt.Errorf("create smtp client: %w", err)
	}

	session, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if conn != nil {
			_ = conn.Close() // go-mail leaves it open when EHLO, TLS or AUTH fail
		}
		return nil, s.sessionError(ctx, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()

	if err := client.SendWithSMTPClient(session, msg); err != nil {
		return nil, sendError(ctx, err)
	}
	// The server accepted the message with its reply to DATA; a failed QUIT
	// changes nothing.
	_ = client.CloseWithSMTPClient(session)
	return &whitecross.SendResult{ProviderID: providerID, Status: whitecross.DeliverySent}, nil
}

func (s *Sender) clientOptions(dial mail.DialContextFunc) []mail.Option {
	opts := []mail.Option{
		mail.WithDialContextFunc(dial),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConfig),
		mail.WithHELO(s.helo),
		mail.WithoutNoop(), // a fresh connection needs no liveness check
	}
	switch s.endpoint.Security {
	case ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case STARTTLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if s.endpoint.Username != "" {
		opts = append(opts, mail.WithSMTPAuthCustom(&credentialsAuth{
			username: s.endpoint.Username,
			password: s.endpoint.Password,
			host:     s.endpoint.Host,
		}))
	}
	// Last, so nothing above resets it.
	return append(opts, mail.WithPort(s.endpoint.Port))
}
