package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// serverHost is the only host wcbench talks to: it opens tens of thousands
// of connections and must never be pointed at someone else's server.
const serverHost = "127.0.0.1"

// parseServer checks that raw is an http URL of 127.0.0.1 (with a port)
// and returns it without a trailing slash. Any other host is refused,
// "localhost" included (it may resolve to ::1 or elsewhere).
func parseServer(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("server %q: only http://%s:PORT is allowed (loopback, no TLS)", raw, serverHost)
	}
	if u.Hostname() != serverHost {
		return nil, fmt.Errorf("server %q: wcbench talks to %s only, not %q", raw, serverHost, u.Hostname())
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("server %q: a port is required", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("server %q: give only http://%s:PORT", raw, serverHost)
	}
	u.Path = ""
	return u, nil
}

// wsURL is the gateway's address on server u.
func wsURL(u *url.URL) string { return "ws://" + u.Host + "/api/v1/ws" }

// sourceAddrs returns n loopback source addresses starting at 127.0.0.2.
// A connection is named by (source, source port, destination,
// destination port), and a source address has only the ephemeral port
// range (about 28,000 ports) to give, so spreading connections over
// several sources lets one destination take more than that.
func sourceAddrs(n int) ([]net.IP, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("source addresses: %d is not between 1 and 250", n)
	}
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, 0, byte(2+i))
	}
	return out, nil
}

// sourceFor is the source address of connection i: round-robin, so every
// source carries at most ceil(conns/len(srcs)) connections.
func sourceFor(srcs []net.IP, i int) net.IP { return srcs[i%len(srcs)] }

// checkPortBudget fails when conns connections over srcs sources and
// servers destinations would need more ephemeral ports per source than
// the range has. Binding a source address before connecting takes a port
// that is then busy for every destination, so servers do not multiply
// the budget; ports still in TIME_WAIT from a previous run also count,
// which the margin of one quarter leaves room for.
func checkPortBudget(conns, srcs, ports int) error {
	per := (conns + srcs - 1) / srcs
	if limit := ports * 3 / 4; per > limit {
		need := (conns + limit - 1) / limit
		return fmt.Errorf("%d connections over %d source addresses is %d per address, more than %d of its %d ephemeral ports: use --source-addrs %d or more",
			conns, srcs, per, limit, ports, need)
	}
	return nil
}

// ephemeralPorts returns the size of the kernel's ephemeral port range
// (net.ipv4.ip_local_port_range), or Linux's default when unreadable.
func ephemeralPorts() int {
	const linuxDefault = 60999 - 32768 + 1
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	return parsePortRange(string(b), linuxDefault)
}

// parsePortRange reads "low high" and returns the number of ports, or def
// when the text is not a range.
func parsePortRange(s string, def int) int {
	f := strings.Fields(s)
	if len(f) != 2 {
		return def
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return def
	}
	return hi - lo + 1
}

// fileLimit is this process's open-file limit (every connection is a file
// descriptor). Go raises the soft limit to the hard limit when a program
// starts (since Go 1.19), so this is the hard limit; raising that needs
// CAP_SYS_RESOURCE (root outside a container, or `ulimit -Hn` before
// starting).
func fileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("read open-file limit: %w", err)
	}
	return l.Cur, nil
}
