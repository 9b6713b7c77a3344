// Package netguard decides whether the server may connect to a host that a
// user supplied (a Web Push endpoint today; webhooks and attachment URLs
// later): never to loopback, private, link-local, multicast, unspecified or
// other special-purpose addresses, so a user cannot make the server reach
// its own network (SSRF). It is checked twice: when the address is given
// (CheckHost resolves the name), and when connecting (Control sees the
// address actually dialed, so DNS rebinding cannot get around it).
//
// It imports only the standard library.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// ErrRefused is wrapped by every refusal: an address that is not public, a
// name that resolves to one or does not resolve, a host outside Hosts.
var ErrRefused = errors.New("netguard: address refused")

// Resolver looks names up; *net.Resolver implements it, tests plug in a
// map.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard is the policy. The zero value is strict: public addresses only,
// any host, names resolved by net.DefaultResolver. It is safe for
// concurrent use once built.
type Guard struct {
	// Resolver resolves names in CheckHost; nil means net.DefaultResolver.
	Resolver Resolver
	// Hosts, when not empty, are the only hosts allowed: each entry allows
	// that host and its subdomains ("push.apple.com" allows
	// "web.push.apple.com"). Entries are lower case, without a port.
	Hosts []string
	// Ports, when not empty, are the only ports Control lets the server
	// connect to (push services listen on 443), so a stored address cannot
	// aim it at another service of a public host.
	Ports []uint16
	// Allow are exceptions to the public-address and port rules. Tests use
	// it for an httptest server on 127.0.0.1; production leaves it empty.
	Allow []netip.Prefix
}

// notPublic are special-purpose ranges (IANA's IPv4 and IPv6
// special-purpose registries) that netip's predicates do not cover. Ranges
// that embed an IPv4 address (NAT64, 6to4, Teredo) are refused whole: the
// embedded address could be a private one.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, ...)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("3fff::/20"),       // documentation
}

// globalIPv6 is where public IPv6 unicast addresses are (2000::/3); the
// rest of the IPv6 space is special (loopback, IPv4-compatible,
// unique-local, link-local, site-local, multicast) or unassigned.
var globalIPv6 = netip.MustParsePrefix("2000::/3")

// Public reports whether addr is a public unicast address. An IPv4-mapped
// IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it maps.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	switch {
	case !addr.IsValid(), addr.IsUnspecified(), addr.IsLoopback(), addr.IsPrivate(),
		addr.IsLinkLocalUnicast(), addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return false
	case addr.Is6() && !globalIPv6.Contains(addr):
		return false
	}
	for _, p := range notPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// Permitted reports whether the guard lets the server connect to addr: a
// public address, or one of Allow.
func (g *Guard) Permitted(addr netip.Addr) bool {
	return g.allowed(addr) || Public(addr)
}

// allowed reports whether addr is one of the Allow exceptions.
func (g *Guard) allowed(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range g.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// HostAllowed reports whether host (a name or an IP literal, without port)
// is allowed by Hosts: always when Hosts is empty.
func (g *Guard) HostAllowed(host string) bool {
	if len(g.Hosts) == 0 {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range g.Hosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// CheckHost checks a host a user supplied (a name or an IP literal, with
// or without IPv6 brackets, no port): it must be allowed by Hosts, and it
// and every address it resolves to must be permitted. A refusal wraps
// ErrRefused, also for a name that does not exist; a lookup that failed
// for another reason (a DNS timeout) is returned as it is, to retry. The
// error never quotes the resolved addresses: they are the server's view of
// its network.
func (g *Guard) CheckHost(ctx context.Context, host string) error {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return fmt.Errorf("%w: no host", ErrRefused)
	}
	if !g.HostAllowed(host) {
		return fmt.Errorf("%w: host is not an allowed one", ErrRefused)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if !g.Permitted(addr) {
			return fmt.Errorf("%w: not a public address", ErrRefused)
		}
		return nil
	}
	var r Resolver = net.DefaultResolver
	if g.Resolver != nil {
		r = g.Resolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound, err == nil && len(addrs) == 0:
		return fmt.Errorf("%w: name does not resolve", ErrRefused)
	case err != nil:
		return fmt.Errorf("resolve host: %w", err)
	}
	for _, a := range addrs {
		if !g.Permitted(a) {
			return fmt.Errorf("%w: name resolves to an address that is not public", ErrRefused)
		}
	}
	return nil
}

// Control is a net.Dialer Control function: it refuses to connect to an
// address that is not permitted, or on a port not among Ports. It runs
// after name resolution, on the address actually dialed, for every
// connection attempt. Its error wraps ErrRefused.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the dialed address", ErrRefused)
	}
	switch {
	case g.allowed(ap.Addr()):
		return nil
	case !Public(ap.Addr()):
		return fmt.Errorf("%w: not a public address", ErrRefused)
	case len(g.Ports) > 0 && !slices.Contains(g.Ports, ap.Port()):
		return fmt.Errorf("%w: port %d is not an allowed one", ErrRefused, ap.Port())
	}
	return nil
}
