package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the networks of the reverse proxies in front of the
// server (WHITECROSS_TRUSTED_PROXIES). Only a request whose direct peer is
// in them has its X-Forwarded-For believed.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of CIDRs or single
// addresses ("10.0.0.0/8, 192.0.2.7").
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the caller's address, the one every part of the server uses
// (logs, audit events, sign-in throttling, rate limits): the TCP peer,
// unless the peer is a trusted proxy; then the rightmost address of
// X-Forwarded-For that is not itself a trusted proxy, since everything left
// of it was written by the client and may be forged. A header naming only
// trusted proxies or garbage leaves the peer.
func (s *Server) clientIP(r *http.Request) string {
	peer := peerAddr(r)
	if !peer.IsValid() || !s.cfg.TrustedProxies.trusts(peer) {
		if peer.IsValid() {
			return peer.String()
		}
		return r.RemoteAddr
	}
	hops := forwardedHops(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		if !s.cfg.TrustedProxies.trusts(a) {
			return a.Unmap().String()
		}
	}
	return peer.String()
}

// peerAddr is the TCP peer's address; invalid when RemoteAddr is not an
// address (tests, unix sockets).
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedHops splits every X-Forwarded-For line into its addresses, in
// order (several header lines are one list).
func forwardedHops(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for _, h := range strings.Split(l, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}
