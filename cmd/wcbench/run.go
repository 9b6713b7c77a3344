package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runConfig is what `wcbench run` takes.
type runConfig struct {
	servers      []*url.URL
	tokens       string
	conns        int
	duration     time.Duration
	rate         float64
	fanout       int
	fanouts      int
	srcAddrs     int
	perProcess   int
	dialers      int
	refreshConc  int
	settle       time.Duration
	metricsToken string
	pids         []int
	loginSample  int
	jsonOut      string
}

func parseRun(args []string, getenv func(string) string) (*runConfig, error) {
	fs := flag.NewFlagSet("wcbench run", flag.ContinueOnError)
	cfg := &runConfig{}
	servers := fs.String("server", "http://127.0.0.1:8080", "the whitecross server(s), comma-separated; 127.0.0.1 only. Connection i goes to server i mod n")
	fs.StringVar(&cfg.tokens, "tokens", "wcbench-tokens.json", "tokens file written by 'wcbench setup' (rewritten: refresh tokens are single use)")
	fs.IntVar(&cfg.conns, "conns", 1000, "WebSocket connections to open, one per bench user (at most the users set up)")
	fs.DurationVar(&cfg.duration, "duration", time.Minute, "how long to send 1:1 messages")
	fs.Float64Var(&cfg.rate, "rate", 20, "1:1 messages per second")
	fs.IntVar(&cfg.fanout, "fanout", 10000, "recipients of each fan-out message (connected users; 0: no fan-out)")
	fs.IntVar(&cfg.fanouts, "fanouts", 3, "fan-out messages to send, one after the other")
	fs.IntVar(&cfg.srcAddrs, "source-addrs", 8, "loopback source addresses to spread connections over (127.0.0.2 ...)")
	fs.IntVar(&cfg.perProcess, "per-process", 15000, "connections per worker process (keep under the open-file limit)")
	fs.IntVar(&cfg.dialers, "dialers", 16, "connections each worker dials at once")
	fs.IntVar(&cfg.refreshConc, "refresh-concurrency", 4, "token refreshes at once")
	fs.DurationVar(&cfg.settle, "settle", 10*time.Second, "wait after connecting before reading the servers' memory")
	fs.StringVar(&cfg.metricsToken, "metrics-token", getenv("WHITECROSS_METRICS_TOKEN"), "bearer token of GET /metrics, when the server requires one")
	pids := fs.String("server-pid", "", "server process id(s), comma-separated like --server: read RSS from /proc instead of /metrics")
	fs.IntVar(&cfg.loginSample, "login-sample", 5, "users to sign in with the password, to measure what a sign-in costs")
	fs.StringVar(&cfg.jsonOut, "json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for s := range strings.SplitSeq(*servers, ",") {
		u, err := parseServer(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		cfg.servers = append(cfg.servers, u)
	}
	if *pids != "" {
		for s := range strings.SplitSeq(*pids, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("--server-pid: %q is not a process id", s)
			}
			cfg.pids = append(cfg.pids, pid)
		}
		if len(cfg.pids) != len(cfg.servers) {
			return nil, fmt.Errorf("--server-pid: give one per --server")
		}
	}
	switch {
	case cfg.conns < 2 || cfg.conns > 1_000_000:
		return nil, fmt.Errorf("--conns must be between 2 and 1000000")
	case cfg.duration < 0 || cfg.duration > time.Hour:
		return nil, fmt.Errorf("--duration must be between 0 and 1h")
	case cfg.rate <= 0 || cfg.rate > 10000:
		return nil, fmt.Errorf("--rate must be above 0 and at most 10000")
	case cfg.fanout < 0 || cfg.fanout > 10000:
		return nil, fmt.Errorf("--fanout must be between 0 and 10000 (the API's recipient limit)")
	case cfg.fanouts < 0 || cfg.fanouts > 100:
		return nil, fmt.Errorf("--fanouts must be between 0 and 100")
	case cfg.perProcess < 1 || cfg.dialers < 1 || cfg.refreshConc < 1:
		return nil, fmt.Errorf("--per-process, --dialers and --refresh-concurrency must be positive")
	}
	if err := checkPortBudget(cfg.conns, cfg.srcAddrs, ephemeralPorts()); err != nil {
		return nil, err
	}
	return cfg, nil
}

// bench is one run.
type bench struct {
	cfg    *runConfig
	hc     *http.Client
	out    io.Writer
	stderr io.Writer
	file   *tokensFile
	users  []*benchUser // the first cfg.conns users: connection i is user i
	t      *tracker
	rep    *report
}

// runBench runs the whole measurement: refresh tokens, connect, read the
// servers' memory, send 1:1 messages for --duration, then the fan-outs,
// and close everything. SIGINT stops it early, cleanly, with a report of
// what was measured. Every phase also stops when the first access token is
// about to expire (the server would close that connection).
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseRun(args, getenv)
	if err != nil {
		return err
	}
	limit, err := fileLimit()
	if err != nil {
		return err
	}
	// The workers' messages and the run's progress share stderr.
	stderr = &lockedWriter{w: stderr}
	if uint64(cfg.perProcess)+64 > limit {
		return fmt.Errorf("--per-process %d is above this process's open-file limit %d (less a margin of 64): lower it", cfg.perProcess, limit)
	}
	f, err := readTokens(cfg.tokens)
	if err != nil {
		return err
	}
	if cfg.conns > len(f.Users) {
		return fmt.Errorf("--conns %d: the tokens file has %d users (run `wcbench setup --users %d`)", cfg.conns, len(f.Users), cfg.conns)
	}
	b := &bench{cfg: cfg, out: stdout, stderr: stderr, file: f, t: newTracker(),
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
		}},
		rep: &report{Servers: len(cfg.servers), Conns: cfg.conns, FileLimit: limit, LoadBefore: loadAverage()}}
	for i := range cfg.conns {
		b.users = append(b.users, &f.Users[i])
	}
	err = b.run(ctx)
	if ctx.Err() != nil {
		b.rep.Stopped, err = "interrupted", nil // the report says how far it got
	}
	b.rep.LoadAfter = loadAverage()
	b.rep.print(stdout)
	if cfg.jsonOut != "" {
		if jerr := writeJSON(cfg.jsonOut, b.rep); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	return err
}

func (b *bench) run(ctx context.Context) (err error) {
	b.logf("refreshing %d access tokens through POST /api/v1/auth/refresh", len(b.users))
	start := time.Now()
	failed, ferr := refreshAll(ctx, b.hc, b.base(0), b.users, b.cfg.refreshConc)
	// Save the successors even when some failed: the spent tokens are
	// worthless now.
	if err := writeTokens(b.cfg.tokens, b.file); err != nil {
		return err
	}
	b.rep.Refresh = rateOf(len(b.users)-failed, time.Since(start))
	if failed > 0 {
		return fmt.Errorf("%d of %d refreshes failed (run `wcbench setup` again for new sessions): %w", failed, len(b.users), ferr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Stop before the first token expires: the server closes a connection
	// when its token does.
	expires := b.users[0].Expires
	for _, u := range b.users {
		if u.Expires.Before(expires) {
			expires = u.Expires
		}
	}
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, expires.Add(-30*time.Second))
	defer cancel()
	defer func() {
		if ctx.Err() != nil && parent.Err() == nil {
			b.rep.Stopped, err = "the first access token was about to expire (lower --duration or --conns)", nil
		}
	}()

	before, err := b.sampleAll(ctx)
	if err != nil {
		return err
	}
	if err := checkServerFiles(b.cfg.conns, len(b.cfg.servers), before); err != nil {
		return err
	}
	workers := (b.cfg.conns + b.cfg.perProcess - 1) / b.cfg.perProcess
	p, err := startPool(workers, b.cfg.dialers, b.t, b.stderr)
	if err != nil {
		return err
	}
	defer func() {
		b.logf("closing %d connections", len(b.t.upConns()))
		if err := p.stop(time.Minute); err != nil {
			b.logf("workers: %v", err)
		}
	}()
	if err := b.connect(ctx, p); err != nil {
		return err
	}
	b.logf("connected %d; waiting %s before reading the servers' memory", b.rep.Connected, b.cfg.settle)
	held, err := b.sampleAll(ctx)
	if err != nil {
		return err
	}
	heldAt := time.Now()
	if err := sleep(ctx, b.cfg.settle); err != nil {
		return err
	}
	after, err := b.sampleAll(ctx)
	if err != nil {
		return err
	}
	b.rep.memory(before, after)
	b.rep.idle(held, after, time.Since(heldAt))
	if err := b.oneToOne(ctx); err != nil {
		return err
	}
	if err := b.fanOuts(ctx); err != nil {
		return err
	}
	end, err := b.sampleAll(ctx)
	if err != nil {
		return err
	}
	b.rep.end(after, end, b.t)
	// Last: argon2 takes 19 MiB a sign-in, which would blur the memory
	// figures taken before.
	return b.measureSignIn(ctx)
}

// base is the HTTP address of server i mod n.
func (b *bench) base(i int) string {
	u := b.cfg.servers[i%len(b.cfg.servers)]
	return u.String()
}

// sampleAll reads every server's memory and load and sums them.
func (b *bench) sampleAll(ctx context.Context) (serverSample, error) {
	var sum serverSample
	for i, u := range b.cfg.servers {
		pid := 0
		if len(b.cfg.pids) > 0 {
			pid = b.cfg.pids[i]
		}
		s, err := sampleServer(ctx, b.hc, u.String(), b.cfg.metricsToken, pid)
		if err != nil {
			return sum, err
		}
		sum.RSS += s.RSS
		sum.HeapInuse += s.HeapInuse
		sum.StackInuse += s.StackInuse
		sum.Goroutines += s.Goroutines
		sum.CPUSeconds += s.CPUSeconds
		sum.OpenFDs += s.OpenFDs
		if sum.MaxFDs == 0 || s.MaxFDs < sum.MaxFDs {
			sum.MaxFDs = s.MaxFDs
		}
	}
	return sum, nil
}

// checkServerFiles fails when the connections each server gets would not
// fit under its open-file limit (process_max_fds; 0 when unknown).
func checkServerFiles(conns, servers int, s serverSample) error {
	per := (conns + servers - 1) / servers
	open := int(s.OpenFDs) / servers
	if s.MaxFDs > 0 && per+open > int(s.MaxFDs) {
		return fmt.Errorf("%d connections per server and the %d files each has open exceed its open-file limit of %.0f: raise the server's `ulimit -n`, add servers, or lower --conns",
			per, open, s.MaxFDs)
	}
	return nil
}

// measureSignIn signs a few users in with the password and out again:
// what a sign-in costs says how long signing every bench user in would
// take, which is why setup opens sessions directly instead.
func (b *bench) measureSignIn(ctx context.Context) error {
	var l latencies
	for i := range min(b.cfg.loginSample, len(b.file.Users)) {
		u := b.file.Users[len(b.file.Users)-1-i]
		start := time.Now()
		p, err := signIn(ctx, b.hc, b.base(0), b.file.Tenant, u.Email, b.file.Password)
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		l = append(l, time.Since(start))
		if err := postJSON(ctx, b.hc, b.base(0), "/api/v1/auth/logout", p.AccessToken,
			map[string]string{"refresh_token": p.RefreshToken}, nil); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	b.rep.SignIn = l.summarize()
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "wcbench: "+format+"\n", args...)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
