package api

import (
	"net"
	"net/url"
	"strings"
)

// originSet is the browser origins whose pages are this server's own: the
// only ones whose cookie-authenticated requests (state changes and
// WebSocket upgrades) are accepted. Its zero value knows no origin (no
// PublicURL): callers then fall back to the request's own host.
type originSet map[string]bool

// loopbackNames are the names a browser on this machine reaches a server
// listening on every interface by.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

// newOriginSet holds PublicURL's origin. When PublicURL is a loopback URL
// (the default and the demo: the server and the browser share a machine)
// it also holds the listen address and its loopback names, so the app
// works at the address the server listens on as well as the one it
// prints: both are this very server. A deployment whose public URL names a
// real host accepts that origin only.
func newOriginSet(publicURL, listenAddr string) originSet {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	set := originSet{strings.ToLower(u.Scheme + "://" + u.Host): true}
	if !isLoopbackHost(u.Hostname()) {
		return set
	}
	for _, host := range listenHosts(listenAddr) {
		set["http://"+host] = true
	}
	return set
}

// listenHosts is the host:port pairs a local browser reaches listenAddr
// by: every loopback name for a wildcard address, the address and
// "localhost" for a loopback one, else the address itself; nil when it
// does not parse or names no port yet.
func listenHosts(listenAddr string) []string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil || port == "" || port == "0" {
		return nil
	}
	var names []string
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified():
		names = loopbackNames
	case isLoopbackHost(host):
		names = []string{"localhost", host}
	default:
		names = []string{host}
	}
	hosts := make([]string, len(names))
	for i, name := range names {
		hosts[i] = strings.ToLower(net.JoinHostPort(name, port))
	}
	return hosts
}

// isLoopbackHost reports whether host (without port or brackets) names
// this machine: localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allows reports whether origin (an Origin header) is one of the set.
func (o originSet) allows(origin string) bool {
	return o[strings.ToLower(origin)]
}
