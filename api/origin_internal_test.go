package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOriginSet is the origin rule: a loopback public URL (the default and
// the demo) also accepts the listen address and its loopback names; a real
// host accepts its own origin only, whatever the server listens on.
func TestOriginSet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, publicURL, listen string
		allowed, refused        []string
	}{
		{"demo on 127.0.0.1", "http://localhost:41234", "127.0.0.1:41234",
			[]string{"http://localhost:41234", "http://127.0.0.1:41234", "HTTP://LOCALHOST:41234"},
			[]string{"http://[::1]:41234", "http://127.0.0.1:41235", "https://127.0.0.1:41234", "http://evil.example", ""}},
		{"default on every interface", "http://localhost:8080", "[::]:8080",
			[]string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"},
			[]string{"http://192.168.1.5:8080", "http://localhost:8081", "null"}},
		{"loopback IPv6", "http://localhost:8080", "[::1]:8080",
			[]string{"http://[::1]:8080", "http://localhost:8080"},
			[]string{"http://127.0.0.1:8080"}},
		{"demo on a LAN address", "http://192.168.1.5:8080", "192.168.1.5:8080",
			[]string{"http://192.168.1.5:8080"},
			[]string{"http://localhost:8080", "http://127.0.0.1:8080"}},
		{"loopback public URL behind a local TLS proxy", "https://localhost:8443", "127.0.0.1:8080",
			[]string{"https://localhost:8443", "http://127.0.0.1:8080", "http://localhost:8080"},
			[]string{"http://localhost:8443"}},
		{"real deployment", "https://messages.district.example", "[::]:8080",
			[]string{"https://messages.district.example", "https://Messages.District.Example"},
			[]string{"http://localhost:8080", "http://127.0.0.1:8080", "http://messages.district.example"}},
		{"real deployment on a loopback listener", "https://messages.district.example", "127.0.0.1:8080",
			[]string{"https://messages.district.example"},
			[]string{"http://127.0.0.1:8080", "http://localhost:8080"}},
		{"listen address not known yet", "http://localhost:8080", ":0",
			[]string{"http://localhost:8080"},
			[]string{"http://127.0.0.1:8080", "http://localhost:0"}},
		{"no public URL", "", "127.0.0.1:8080",
			nil,
			[]string{"http://127.0.0.1:8080", "http://localhost:8080"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			set := newOriginSet(c.publicURL, c.listen)
			for _, o := range c.allowed {
				require.True(t, set.allows(o), "%q must be allowed", o)
			}
			for _, o := range c.refused {
				require.False(t, set.allows(o), "%q must be refused", o)
			}
		})
	}
}
