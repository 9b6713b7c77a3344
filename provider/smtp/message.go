package smtp

import (
	netmail "net/mail"
	"strings"
	"unicode"

	"github.com/wneessen/go-mail"

	"whitecross"
)

// maxDeliveryIDLen bounds the DeliveryID, which becomes a header value and
// the local part of the Message-ID.
const maxDeliveryIDLen = 128

// buildMessage renders out as a go-mail message and returns the Message-ID
// it carries (with angle brackets, exactly as in the header).
func (s *Sender) buildMessage(out *whitecross.Outbound) (*mail.Msg, string, *whitecross.ProviderError) {
	if out == nil || !validDeliveryID(out.DeliveryID) {
		return nil, "", permanent("message", "invalid delivery id")
	}
	to, ok := parseRecipient(out.To)
	if !ok {
		return nil, "", permanent("address", "invalid recipient address")
	}

	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	fromName := s.from.Name
	if out.FromName != "" {
		fromName = out.FromName
	}
	// net/mail quotes and RFC 2047-encodes display names, so a name with
	// quotes, commas or accents cannot break the header.
	msg.FromMailAddress(&netmail.Address{Name: oneLine(fromName), Address: s.from.Address})
	msg.ToMailAddress(&netmail.Address{Name: oneLine(out.ToName), Address: to})
	msg.Subject(oneLine(out.Subject))
	msg.SetDate()

	messageID := out.DeliveryID + "@" + s.fromDomain
	msg.SetMessageIDWithValue(messageID)
	msg.SetGenHeader(mail.Header(HeaderDelivery), out.DeliveryID)
	msg.SetGenHeader(mail.Header(headerAutoSubmitted), "auto-generated")
	msg.SetGenHeader(mail.Header(headerAutoResponseSuppress), "All")

	msg.SetBodyString(mail.TypeTextPlain, out.Text)
	if out.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, out.HTML)
	}
	return msg, "<" + messageID + ">", nil
}

// validDeliveryID accepts ids that are safe both as a header value and as
// a Message-ID local part (UUIDs are).
func validDeliveryID(id string) bool {
	if id == "" || len(id) > maxDeliveryIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// parseRecipient returns the bare address of to, which must be one
// address with a domain ("Name <a@b>" is accepted; Outbound.ToName wins).
func parseRecipient(to string) (string, bool) {
	if strings.ContainsAny(to, "\r\n") {
		return "", false
	}
	addr, err := netmail.ParseAddress(strings.TrimSpace(to))
	if err != nil {
		return "", false
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at <= 0 || at == len(addr.Address)-1 {
		return "", false
	}
	return addr.Address, true
}

// oneLine turns control characters (line breaks above all) into spaces so
// a header value stays one header.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
