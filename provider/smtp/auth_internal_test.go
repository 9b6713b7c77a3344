package smtp

import (
	"testing"

	"github.com/stretchr/testify/require"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

func TestCredentialsNeverCrossCleartextToAnotherHost(t *testing.T) {
	t.Parallel()
	a := &credentialsAuth{username: "nurse", password: "s3cret", host: "mail.district.example"}
	_, resp, err := a.Start(&gosmtp.ServerInfo{Name: "mail.district.example", TLS: false, Auth: []string{"PLAIN"}})
	require.ErrorIs(t, err, errCleartextAuth)
	require.Nil(t, resp)

	_, resp, err = a.Start(&gosmtp.ServerInfo{Name: "mail.district.example", TLS: true, Auth: []string{"PLAIN"}})
	require.NoError(t, err)
	require.Equal(t, "\x00nurse\x00s3cret", string(resp))

	loopback := &credentialsAuth{username: "nurse", password: "s3cret", host: "127.0.0.1"}
	mech, _, err := loopback.Start(&gosmtp.ServerInfo{Name: "127.0.0.1", Auth: []string{"LOGIN"}})
	require.NoError(t, err)
	require.Equal(t, "LOGIN", mech)

	_, _, err = a.Start(&gosmtp.ServerInfo{Name: "mail.district.example", TLS: true, Auth: []string{"CRAM-MD5"}})
	require.ErrorIs(t, err, errNoAuthMechanism)
}
