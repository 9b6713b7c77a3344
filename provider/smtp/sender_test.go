package smtp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/smtp"
)

const deliveryID = "0192f5d2-7a43-7c1e-9b1a-3f7d2c8e4a10"

func newSender(t *testing.T, ts *testServer, url string) *smtp.Sender {
	t.Helper()
	s, err := smtp.New(smtp.Config{
		URL:       url,
		From:      "White Cross <no-reply@district.example>",
		Timeout:   time.Minute, // cancellation and failures must not depend on it
		TLSConfig: &tls.Config{RootCAs: ts.RootCAs},
	})
	require.NoError(t, err)
	return s
}

func outbound() *whitecross.Outbound {
	return &whitecross.Outbound{
		DeliveryID: deliveryID,
		Channel:    whitecross.ChannelEmail,
		To:         "parent@families.example",
		ToName:     "María O'Neil",
		FromName:   "Lincoln Elementary",
		Subject:    "Recordatorio: vacunación",
		Text:       "Please check the app.\nGracias.",
		HTML:       "<p>Please check the <b>app</b>.</p>",
	}
}

func providerError(t *testing.T, err error) *whitecross.ProviderError {
	t.Helper()
	var pe *whitecross.ProviderError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "smtp", pe.Provider)
	return pe
}

// onlyTransaction returns the one transaction the server saw, parsed.
func onlyTransaction(t *testing.T, ts *testServer) (transaction, *netmail.Message) {
	t.Helper()
	txs := ts.Transactions()
	require.Len(t, txs, 1)
	msg, err := netmail.ReadMessage(bytes.NewReader(txs[0].Data))
	require.NoError(t, err)
	return txs[0], msg
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	require.NoError(t, err)
	return s
}

func TestSendDeliversBothBodies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, "smtp://"+ts.Addr())

	res, err := s.Send(context.Background(), outbound())
	require.NoError(t, err)
	require.Equal(t, whitecross.DeliverySent, res.Status)
	require.Equal(t, "<"+deliveryID+"@district.example>", res.ProviderID)

	tx, msg := onlyTransaction(t, ts)
	require.Equal(t, "no-reply@district.example", tx.From)
	require.Equal(t, []string{"parent@families.example"}, tx.To)
	require.False(t, tx.TLS, "the server offered no STARTTLS")

	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Name: "Lincoln Elementary", Address: "no-reply@district.example"}}, from)
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Name: "María O'Neil", Address: "parent@families.example"}}, to)
	require.Equal(t, "Recordatorio: vacunación", decodeHeader(t, msg.Header.Get("Subject")))
	require.Equal(t, res.ProviderID, msg.Header.Get("Message-ID"))
	require.Equal(t, deliveryID, msg.Header.Get("X-Whitecross-Delivery"))
	require.Equal(t, "auto-generated", msg.Header.Get("Auto-Submitted"))
	require.NotEmpty(t, msg.Header.Get("Date"))

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	require.Equal(t, map[string]string{
		"text/plain": "Please check the app.\nGracias.",
		"text/html":  "<p>Please check the <b>app</b>.</p>",
	}, parts)
}

func TestSendTextOnlyWithConfiguredName(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, "smtp://"+ts.Addr())
	out := outbound()
	out.HTML, out.FromName, out.ToName = "", "", ""
	out.Subject = "Hello\r\nBcc: attacker@evil.example"

	_, err := s.Send(context.Background(), out)
	require.NoError(t, err)

	tx, msg := onlyTransaction(t, ts)
	require.Equal(t, []string{"parent@families.example"}, tx.To)
	require.Empty(t, msg.Header.Get("Bcc"), "a line break in the subject must not add a header")
	require.Equal(t, "Hello  Bcc: attacker@evil.example", decodeHeader(t, msg.Header.Get("Subject")))
	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, "White Cross", from[0].Name, "WHITECROSS_EMAIL_FROM's name when the Outbound has none")
	mediaType, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "text/plain", mediaType)
}

func TestSendUsesSTARTTLSWhenOffered(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{startTLS: true})
	s := newSender(t, ts, "smtp://"+ts.Addr())

	_, err := s.Send(context.Background(), outbound())
	require.NoError(t, err)
	tx, _ := onlyTransaction(t, ts)
	require.True(t, tx.TLS)
}

func TestSendStartTLSRequired(t *testing.T) {
	t.Parallel()

	t.Run("OfferedWorks", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{startTLS: true})
		_, err := newSender(t, ts, "smtp://"+ts.Addr()+"?starttls=required").Send(context.Background(), outbound())
		require.NoError(t, err)
		tx, _ := onlyTransaction(t, ts)
		require.True(t, tx.TLS)
	})

	t.Run("NotOfferedFails", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{})
		_, err := newSender(t, ts, "smtp://"+ts.Addr()+"?starttls=required").Send(context.Background(), outbound())
		pe := providerError(t, err)
		require.False(t, pe.Permanent)
		require.Equal(t, smtp.CodeSTARTTLS, pe.Code)
		require.Empty(t, ts.Transactions(), "nothing may be sent in clear")
	})

	t.Run("UntrustedCertificateFails", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{startTLS: true})
		s, err := smtp.New(smtp.Config{URL: "smtp://" + ts.Addr(), From: "no-reply@district.example"})
		require.NoError(t, err)
		_, err = s.Send(context.Background(), outbound())
		pe := providerError(t, err)
		require.False(t, pe.Permanent)
		require.Equal(t, smtp.CodeTLS, pe.Code)
		require.Empty(t, ts.Transactions())
	})
}

func TestSendImplicitTLS(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{implicitTLS: true, authUser: "nurse", authPass: "s3cret"})
	s := newSender(t, ts, "smtps://nurse:s3cret@"+ts.Addr())

	_, err := s.Send(context.Background(), outbound())
	require.NoError(t, err)
	tx, _ := onlyTransaction(t, ts)
	require.True(t, tx.TLS)
	require.Equal(t, "nurse", tx.AuthUser)
}

func TestSendAuth(t *testing.T) {
	t.Parallel()

	t.Run("CredentialsReachServer", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{startTLS: true, authUser: "nurse@district.example", authPass: "p@ss:w/rd"})
		s := newSender(t, ts, "smtp://nurse%40district.example:p%40ss%3Aw%2Frd@"+ts.Addr())
		_, err := s.Send(context.Background(), outbound())
		require.NoError(t, err)
		tx, _ := onlyTransaction(t, ts)
		require.True(t, tx.TLS)
		require.Equal(t, "nurse@district.example", tx.AuthUser)
		require.Equal(t, "p@ss:w/rd", tx.AuthPass)
	})

	t.Run("WrongPasswordIsTemporary", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{startTLS: true, authUser: "nurse", authPass: "right"})
		_, err := newSender(t, ts, "smtp://nurse:wrong-secret@"+ts.Addr()).Send(context.Background(), outbound())
		pe := providerError(t, err)
		require.False(t, pe.Permanent, "bad credentials are our configuration, not the recipient")
		require.Equal(t, "535", pe.Code)
		require.NotContains(t, err.Error(), "wrong-secret")
		require.Empty(t, ts.Transactions())
	})

	t.Run("NoCredentialsNoAuth", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{authUser: "nurse", authPass: "right"})
		_, err := newSender(t, ts, "smtp://"+ts.Addr()).Send(context.Background(), outbound())
		pe := providerError(t, err)
		require.Equal(t, "502", pe.Code, "the server demands AUTH at MAIL FROM")
	})
}

func TestSendRecipientRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		reply     *gosmtp.SMTPError
		permanent bool
		code      string
		// recipient: this address's problem, not the relay's (issue 11:
		// it must not count toward the SMTP circuit breaker).
		recipient bool
	}{
		{"MailboxUnavailable550", &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user parent@families.example"}, true, "550", true},
		{"BadAddress553", &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 1, 3}, Message: "bad address"}, true, "553", true},
		{"Greylisted451", &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "try later"}, false, "451", true},
		{"UnverifiedRecipient450", &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 1, 1}, Message: "unverified address"}, false, "450", true},
		{"MailboxFull452", &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}, false, "452", true},
		{"ServiceClosing421", &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}, false, "421", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, serverOptions{rejectRcpt: tc.reply})
			_, err := newSender(t, ts, "smtp://"+ts.Addr()).Send(context.Background(), outbound())
			pe := providerError(t, err)
			require.Equal(t, tc.permanent, pe.Permanent)
			require.Equal(t, tc.code, pe.Code)
			require.Equal(t, tc.recipient, pe.Recipient)
			require.Contains(t, pe.Message, "recipient rejected")
			require.NotContains(t, err.Error(), "parent@families.example")
			require.NotContains(t, err.Error(), "vacunación")
		})
	}
}

// TestSendThrottlingRepliesAreThrottled: a relay saying we send too fast
// (Amazon SES's own words at DATA, a 421 at RCPT TO) is Throttled, so the
// pipeline slows down; a mailbox's temporary refusal is not.
func TestSendThrottlingRepliesAreThrottled(t *testing.T) {
	t.Parallel()
	ses := &gosmtp.SMTPError{Code: 454, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0}, Message: "Throttling failure: Maximum sending rate exceeded."}
	for _, tc := range []struct {
		name      string
		opts      serverOptions
		code      string
		throttled bool
	}{
		{"SESAtData454", serverOptions{rejectData: ses}, "454", true},
		{"TooManyAtRcpt421", serverOptions{rejectRcpt: &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, slow down"}}, "421", true},
		{"Greylisted451", serverOptions{rejectRcpt: &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "try later"}}, "451", false},
		{"MailboxReceivingTooFast450", serverOptions{rejectRcpt: &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "receiving mail at a rate that prevents additional messages; rate limit"}}, "450", false},
		{"RejectedData554", serverOptions{rejectData: &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "too many spam reports"}}, "554", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, tc.opts)
			_, err := newSender(t, ts, "smtp://"+ts.Addr()).Send(context.Background(), outbound())
			pe := providerError(t, err)
			require.Equal(t, tc.code, pe.Code)
			require.Equal(t, tc.throttled, pe.Throttled)
			require.NotContains(t, pe.Message, "Throttling", "the relay's text is read, not kept")
		})
	}
}

func TestSendInvalidRecipientIsPermanent(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, "smtp://"+ts.Addr())
	for _, to := range []string{"", "not an address", "parent@", "a@b.example\r\nBcc: x@y.example", "a@b.example, c@d.example"} {
		out := outbound()
		out.To = to
		_, err := s.Send(context.Background(), out)
		pe := providerError(t, err)
		require.True(t, pe.Permanent, to)
		require.Equal(t, smtp.CodeAddress, pe.Code)
	}
	require.Empty(t, ts.Transactions())
}

func TestSendServerDownIsTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	s, err := smtp.New(smtp.Config{URL: "smtp://" + addr, From: "no-reply@district.example"})
	require.NoError(t, err)
	_, err = s.Send(context.Background(), outbound())
	pe := providerError(t, err)
	require.False(t, pe.Permanent)
	require.Equal(t, smtp.CodeConnect, pe.Code)
}

func TestSendHonoursContext(t *testing.T) {
	t.Parallel()

	t.Run("CanceledMidSession", func(t *testing.T) {
		t.Parallel()
		entered := make(chan struct{})
		ts := startServer(t, serverOptions{rcptEntered: entered})
		s := newSender(t, ts, "smtp://"+ts.Addr())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		errc := make(chan error, 1)
		go func() {
			_, err := s.Send(ctx, outbound())
			errc <- err
		}()
		<-entered // the server holds the RCPT reply; only cancellation can end Send
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second): // failsafe; the Timeout is a minute
			t.Fatal("Send ignored cancellation")
		}
	})

	t.Run("AlreadyCanceled", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newSender(t, ts, "smtp://"+ts.Addr()).Send(ctx, outbound())
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, ts.Transactions())
	})
}
