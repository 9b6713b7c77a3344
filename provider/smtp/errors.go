package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail"

	"whitecross"
)

// Codes of failures that are not an SMTP reply (an SMTP reply's code is its
// three digits, e.g. "550").
const (
	CodeAddress  = "address"  // recipient address is not valid syntax (permanent)
	CodeMessage  = "message"  // the Outbound itself is unusable (permanent)
	CodeConnect  = "connect"  // server unreachable / connection lost
	CodeTimeout  = "timeout"  // no answer within Timeout
	CodeTLS      = "tls"      // TLS handshake or certificate failure
	CodeSTARTTLS = "starttls" // starttls=required but the server does not offer it
	CodeAuth     = "auth"     // credentials refused or cannot be sent safely
	CodeSession  = "session"  // any other failure before the message was offered
)

func permanent(code, message string) *whitecross.ProviderError {
	return &whitecross.ProviderError{Provider: ProviderName, Permanent: true, Code: code, Message: message}
}

func temporary(code, message string) *whitecross.ProviderError {
	return &whitecross.ProviderError{Provider: ProviderName, Code: code, Message: message}
}

// sessionError classifies a failure while connecting, greeting, upgrading
// to TLS or authenticating. All are temporary: they concern our relay, not
// this recipient, so retrying (and the breaker) is right, and a 5xx here
// (e.g. 535 bad credentials) would otherwise fail every delivery for good.
func (s *Sender) sessionError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("send email: %w", ctx.Err())
	}
	var reply *textproto.Error
	switch {
	case errors.Is(err, errCleartextAuth):
		return temporary(CodeAuth, "refusing to send SMTP credentials without TLS")
	case errors.Is(err, errNoAuthMechanism):
		return temporary(CodeAuth, "SMTP server offers no PLAIN or LOGIN authentication")
	case s.endpoint.Security == STARTTLSRequired && strings.Contains(err.Error(), "does not support STARTTLS"):
		// go-mail has no sentinel for this; the text is from its tls().
		return temporary(CodeSTARTTLS, "SMTP server does not offer STARTTLS (starttls=required)")
	case errors.As(err, &reply):
		if strings.Contains(err.Error(), "SMTP AUTH failed") || reply.Code == 535 || reply.Code == 534 || reply.Code == 530 {
			return temporary(strconv.Itoa(reply.Code), "SMTP authentication failed")
		}
		pe := temporary(strconv.Itoa(reply.Code), "SMTP server refused the session")
		pe.Throttled = throttled(reply.Code, reply.Msg)
		return pe
	case isTLSError(err):
		return temporary(CodeTLS, "TLS with the SMTP server failed")
	}
	return networkError(err, CodeSession, "SMTP session failed")
}

// sendError classifies a failure after the session was ready: the
// server's reply code decides (5xx permanent, 4xx temporary); a refused
// recipient is marked Recipient.
func sendError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("send email: %w", ctx.Err())
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		return networkError(err, CodeConnect, "SMTP connection lost")
	}
	var what string
	switch se.Reason {
	case mail.ErrSMTPMailFrom:
		what = "sender rejected"
	case mail.ErrSMTPRcptTo:
		what = "recipient rejected"
	case mail.ErrSMTPData, mail.ErrSMTPDataClose, mail.ErrWriteContent:
		what = "message rejected"
	case mail.ErrGetSender, mail.ErrGetRcpts:
		return permanent(CodeAddress, "invalid address")
	default:
		what = "SMTP transaction failed"
	}
	code := se.ErrorCode()
	if code < 400 || code > 599 {
		return networkError(err, CodeConnect, "SMTP connection lost")
	}
	if esc := se.EnhancedStatusCode(); esc != "" {
		what += " (" + esc + ")" // e.g. 5.1.1: a code, never an address
	}
	// A reply to RCPT TO is about that mailbox (unknown, full, greylisted,
	// unverified), except 421: the relay closing the session. Marked
	// Recipient, it never counts toward the breaker, so one family's bad
	// address cannot stop every district's email (issue 11).
	recipient := se.Reason == mail.ErrSMTPRcptTo && code != 421
	var pe *whitecross.ProviderError
	if code >= 500 {
		pe = permanent(strconv.Itoa(code), what)
	} else {
		pe = temporary(strconv.Itoa(code), what)
	}
	pe.Recipient = recipient
	// A relay's "too fast" concerns all our mail, not this mailbox (a
	// mailbox that receives too fast, Gmail's 4.2.1 at RCPT TO, stays the
	// recipient's temporary failure).
	pe.Throttled = !recipient && throttled(code, se.Error())
	return pe
}

// throttleWords are how relays say we send faster than they take: Amazon
// SES "454 Throttling failure: Maximum sending rate exceeded", Gmail "421
// 4.7.0 ... rate limited", Postfix policy servers "450 4.7.1 too many
// messages". Only 4xx replies are read for them.
var throttleWords = []string{"throttl", "rate limit", "rate exceeded", "sending rate", "too many"}

// throttled reports whether a temporary reply's text says we send too fast
// (ProviderError.Throttled). The text is only read, never kept: it may
// name an address.
func throttled(code int, text string) bool {
	if code < 400 || code > 499 {
		return false
	}
	text = strings.ToLower(text)
	return slices.ContainsFunc(throttleWords, func(w string) bool { return strings.Contains(text, w) })
}

// networkError classifies transport failures, all temporary.
func networkError(err error, code, message string) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return temporary(CodeTimeout, "SMTP server timed out")
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return temporary(CodeConnect, "cannot connect to SMTP server")
	}
	return temporary(code, message)
}

func isTLSError(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host)
}
