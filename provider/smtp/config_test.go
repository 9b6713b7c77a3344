package smtp_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/smtp"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want smtp.Endpoint
	}{
		{"smtp://mail.district.example", smtp.Endpoint{Host: "mail.district.example", Port: 587}},
		{"smtp://relay:25", smtp.Endpoint{Host: "relay", Port: 25}},
		{"smtps://mail.district.example", smtp.Endpoint{Host: "mail.district.example", Port: 465, Security: smtp.ImplicitTLS}},
		{"smtp://u:p@h:2525?starttls=required", smtp.Endpoint{Host: "h", Port: 2525, Security: smtp.STARTTLSRequired, Username: "u", Password: "p"}},
		{"SMTP://apikey@[::1]:1025", smtp.Endpoint{Host: "::1", Port: 1025, Username: "apikey"}},
	} {
		got, err := smtp.ParseURL(tc.raw)
		require.NoError(t, err, tc.raw)
		require.Equal(t, tc.want, *got, tc.raw)
	}
}

func TestParseURLErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"",
		"http://u:s3cret@h",
		"smtp://u:s3cret@h:99999",
		"smtp://u:s3cret@h:port",
		"smtp://u:s3cret@ho st",
		"smtp://u:s3cret@%zz",
		"smtp://:s3cret@h",
		"smtp://u:s3cret@h/path",
		"smtp://u:s3cret@h?starttls=maybe",
		"smtp://u:s3cret@h?s3cret=1",
		"smtps://u:s3cret@h?starttls=required",
		"smtp://u:s3cret@",
	} {
		_, err := smtp.ParseURL(raw)
		require.Error(t, err, raw)
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), raw)
		require.NotContains(t, err.Error(), "s3cret", raw)
	}
}

func TestRedactedHidesPassword(t *testing.T) {
	t.Parallel()
	ep, err := smtp.ParseURL("smtp://nurse:s3cret@mail.example?starttls=required")
	require.NoError(t, err)
	require.Equal(t, "smtp://nurse@mail.example:587?starttls=required", ep.Redacted())
	require.NotContains(t, fmt.Sprintf("%v %+v %s", ep, *ep, ep), "s3cret")
}

func TestNewValidatesFrom(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"", "no-reply", "White Cross <no-reply@>", "a@b.example, c@d.example"} {
		_, err := smtp.New(smtp.Config{URL: "smtp://h", From: from})
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), from)
	}
	_, err := smtp.New(smtp.Config{URL: "smtp://h", From: "no-reply@district.example"})
	require.NoError(t, err)
}
