package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/netguard"
)

// mapResolver resolves the names it holds; any other name does not exist.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "100.64.0.1", "100.127.255.255", "224.0.0.1",
		"239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7",
		"203.0.113.9", "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "ff05::2",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a00:1",
		"2002:a00:1::1", "2001::1", "2001:db8::1", "fec0::1", "100::1",
	} {
		require.False(t, netguard.Public(netip.MustParseAddr(s)), s)
	}
	for _, s := range []string{"142.250.74.10", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2a00:1450:4001:80b::200a", "2606:4700::1111", "::ffff:8.8.8.8"} {
		require.True(t, netguard.Public(netip.MustParseAddr(s)), s)
	}
	require.False(t, netguard.Public(netip.Addr{}), "the zero Addr")
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := &netguard.Guard{Resolver: mapResolver{
		"localhost":            {netip.MustParseAddr("127.0.0.1")},
		"fcm.googleapis.com":   {netip.MustParseAddr("142.250.74.10"), netip.MustParseAddr("2a00:1450:4001:80b::200a")},
		"rebind.attacker.test": {netip.MustParseAddr("142.250.74.10"), netip.MustParseAddr("10.0.0.7")},
	}}
	require.NoError(t, g.CheckHost(ctx, "fcm.googleapis.com"))
	require.NoError(t, g.CheckHost(ctx, "8.8.8.8"))
	require.NoError(t, g.CheckHost(ctx, "[2606:4700::1111]"))
	for _, host := range []string{"localhost", "rebind.attacker.test", "nowhere.invalid", "", "127.0.0.1", "[::1]", "[fe80::1]", "169.254.169.254", "0.0.0.0"} {
		err := g.CheckHost(ctx, host)
		require.ErrorIs(t, err, netguard.ErrRefused, host)
		require.NotContains(t, err.Error(), "10.0.0.7", "the server's view of its network is not told")
	}

	// A lookup that fails for another reason is not a refusal: retry.
	broken := &netguard.Guard{Resolver: failingResolver{}}
	err := broken.CheckHost(ctx, "fcm.googleapis.com")
	require.Error(t, err)
	require.False(t, errors.Is(err, netguard.ErrRefused))

	// Hosts: the host and its subdomains only.
	g.Hosts = []string{"googleapis.com", "push.services.mozilla.com"}
	require.NoError(t, g.CheckHost(ctx, "fcm.googleapis.com"))
	require.True(t, g.HostAllowed("updates.push.services.mozilla.com"))
	require.True(t, g.HostAllowed("FCM.GoogleAPIs.com."))
	require.False(t, g.HostAllowed("evilgoogleapis.com"))
	require.False(t, g.HostAllowed("8.8.8.8"))
	require.ErrorIs(t, g.CheckHost(ctx, "8.8.8.8"), netguard.ErrRefused)
}

type failingResolver struct{}

func (failingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}
}

func TestControlAndAllow(t *testing.T) {
	t.Parallel()
	var strict netguard.Guard
	for _, a := range []string{"127.0.0.1:443", "[::1]:443", "10.1.2.3:443", "[::ffff:169.254.169.254]:443", "[fe80::1%eth0]:443", "not-an-address"} {
		require.ErrorIs(t, strict.Control("tcp", a, nil), netguard.ErrRefused, a)
	}
	require.NoError(t, strict.Control("tcp4", "142.250.74.10:443", nil))
	https := netguard.Guard{Ports: []uint16{443}}
	require.NoError(t, https.Control("tcp4", "142.250.74.10:443", nil))
	require.ErrorIs(t, https.Control("tcp4", "142.250.74.10:22", nil), netguard.ErrRefused, "only the allowed ports")
	require.ErrorIs(t, https.Control("tcp4", "127.0.0.1:443", nil), netguard.ErrRefused)
	loopback := netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	require.NoError(t, loopback.Control("tcp4", "127.0.0.1:8443", nil))
	require.ErrorIs(t, loopback.Control("tcp6", "[::1]:8443", nil), netguard.ErrRefused)
}
