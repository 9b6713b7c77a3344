package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// loginsConfig is what `wcbench logins` measures: the sign-in lockout and
// the bound on password hashing (docs/security.md), against a server that
// runs `serve --demo` on 127.0.0.1.
type loginsConfig struct {
	server   string
	pid      int
	n        int
	tenant   string
	email    string
	password string
}

// runLogins sends two bursts of n sign-ins at once and reports the answers
// and the server's peak memory (VmHWM) before and after each:
//   - n unknown accounts, each from its own loopback source address, so no
//     throttle key is shared and only the hashing bound holds memory down;
//   - n attempts on one account from one address, the right password last:
//     at most the account's limit may be checked, the rest are 429.
func runLogins(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("wcbench logins", flag.ContinueOnError)
	var c loginsConfig
	fs.StringVar(&c.server, "server", "http://127.0.0.1:8080", "the server, http://127.0.0.1:PORT only")
	fs.IntVar(&c.pid, "pid", 0, "the server's process id, to read its peak memory (required)")
	fs.IntVar(&c.n, "n", 40, "sign-ins per burst, 1 to 250")
	fs.StringVar(&c.tenant, "tenant", "demo", "tenant slug of the attacked account")
	fs.StringVar(&c.email, "email", "nurse.lincoln@demo.example", "the attacked account")
	fs.StringVar(&c.password, "password", "whitecross demo day", "its right password, sent last in the second burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := parseServer(c.server)
	if err != nil {
		return err
	}
	if c.pid <= 0 || c.n < 1 || c.n > 250 {
		return fmt.Errorf("logins: --pid is required and --n must be 1 to 250")
	}
	report := func(label string, codes map[int]int) error {
		peak, err := procMemory(c.pid, "VmHWM")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-44s peak %4.0f MB  %s\n", label, peak/1e6, formatCodes(codes))
		return nil
	}
	if err := report("idle", nil); err != nil {
		return err
	}
	codes := loginBurst(ctx, u.String(), c.n, func(i int) (loginAttempt, net.IP) {
		return loginAttempt{c.tenant, fmt.Sprintf("nobody-%d@wcbench.invalid", i), "a wrong guess"}, net.IPv4(127, 0, 1, byte(1+i))
	})
	if err := report(fmt.Sprintf("%d unknown accounts, %d addresses", c.n, c.n), codes); err != nil {
		return err
	}
	codes = loginBurst(ctx, u.String(), c.n, func(i int) (loginAttempt, net.IP) {
		pw := fmt.Sprintf("wrong guess %d", i)
		if i == c.n-1 {
			pw = c.password
		}
		return loginAttempt{c.tenant, c.email, pw}, net.IPv4(127, 0, 2, 1)
	})
	return report(fmt.Sprintf("%d on one account from one address", c.n), codes)
}

// loginAttempt is the body of POST /api/v1/auth/login.
type loginAttempt struct {
	Tenant   string `json:"tenant"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// loginBurst sends n sign-ins released at the same moment and counts the
// answers by status (-1 for a transport error).
func loginBurst(ctx context.Context, base string, n int, attempt func(int) (loginAttempt, net.IP)) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		body, source := attempt(i)
		b, _ := json.Marshal(body)
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
		client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: dialer.DialContext}}
		wg.Go(func() {
			<-start
			code := -1
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/login", bytes.NewReader(b))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				var res *http.Response
				if res, err = client.Do(req); err == nil {
					code = res.StatusCode
					res.Body.Close()
				}
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// formatCodes writes answers as "200 x1, 429 x35" in status order.
func formatCodes(codes map[int]int) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		parts = append(parts, fmt.Sprintf("%d x%d", code, codes[code]))
	}
	return strings.Join(parts, ", ")
}
