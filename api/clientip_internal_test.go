package api

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")
	require.NoError(t, err)
	s := New(Config{TrustedProxies: proxies}, Deps{})
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "203.0.113.1:5000", nil, "203.0.113.1"},
		{"untrusted peer's header ignored", "203.0.113.1:5000", []string{"198.51.100.1"}, "203.0.113.1"},
		{"trusted peer", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left part ignored", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"198.51.100.1, 192.0.2.7, 10.9.9.9"}, "198.51.100.1"},
		{"several header lines are one list", "10.1.2.3:5000", []string{"1.1.1.1", "198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"only proxies", "10.1.2.3:5000", []string{"10.0.0.2"}, "10.1.2.3"},
		{"garbage leaves the peer", "10.1.2.3:5000", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv6", "[2001:db8::1]:5000", []string{"2001:db9::5"}, "2001:db9::5"},
	} {
		r := httptest.NewRequest("GET", "/api/v1/me", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		require.Equal(t, tc.want, s.clientIP(r), tc.name)
	}
	_, err = ParseTrustedProxies("10.0.0.0/33")
	require.ErrorContains(t, err, `"10.0.0.0/33" is not a CIDR`)
}

func TestAddressKeyGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	require.Equal(t, "198.51.100.1", addressKey("198.51.100.1"))
	require.Equal(t, "2001:db8:1:2::/64", addressKey("2001:db8:1:2:aaaa::1"))
	require.Equal(t, addressKey("2001:db8:1:2::1"), addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"))
}
