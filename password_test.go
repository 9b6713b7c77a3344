package whitecross_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

func TestPasswordPolicy(t *testing.T) {
	const email, name = "maria.lopez@springfield.example", "Maria Lopez"
	for _, tc := range []struct {
		pw      string
		refused string // a word of the message, "" when accepted
	}{
		{"correct horse battery staple", ""},
		{"lunchbox violin 47 harbor", ""},
		{"short pass", "12 to 128"},
		{strings.Repeat("x", 129), "12 to 128"},
		{"MARIA.LOPEZ@springfield.example", "email"},
		{"maria.lopez", "12 to 128"}, // the length speaks first
		{"Maria Lopez!", "too easy"},
		{"password1234", "too easy"},
		{"qwertyuiop123", "too easy"},
		{"maria.lopez2026", "too easy"},
		{"whitecross2026!", "too easy"},
		{"123456789012", "too easy"},
	} {
		err := whitecross.CheckPassword("body.new_password", tc.pw, email, name)
		if tc.refused == "" {
			require.NoError(t, err, tc.pw)
			continue
		}
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), tc.pw)
		var e *whitecross.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "body.new_password", e.Field, tc.pw)
		require.Contains(t, err.Error(), tc.refused, tc.pw)
	}
}
