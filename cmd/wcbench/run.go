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
	watch        int
	metricsToken string
	pids         []int
	loginSample  int
	jsonOut      string
}

func parseRun(args []string, getenv func(string) string) (*runConfig, error) {
	fs := flag.NewFlagSet("wcbench run", flag.ContinueOnError)
	cfg := &runConfig{}
	finish := cfg.flags(fs, getenv)
	fs.IntVar(&cfg.loginSample, "login-sample", 5, "users to sign in with the password, to measure what a sign-in costs")
	fs.StringVar(&cfg.jsonOut, "json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cfg, finish()
}

// flags registers the scenario's flags, shared by run and compare; the
// function returned checks them after parsing.
func (cfg *runConfig) flags(fs *flag.FlagSet, getenv func(string) string) func() error {
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
	fs.IntVar(&cfg.watch, "watch", 20, "each connection asks for the presence of this many other bench users (?presence=watch, "+
		"as the web app asks for the people on its screen); 0: presence of everyone the user may see, as a client of the first protocol")
	fs.StringVar(&cfg.metricsToken, "metrics-token", getenv("WHITECROSS_METRICS_TOKEN"), "bearer token of GET /metrics, when the server requires one")
	pids := fs.String("server-pid", "", "server process id(s), comma-separated like --server: read RSS and CPU from /proc instead of /metrics")
	return func() error {
		if err := cfg.parseServers(*servers, *pids); err != nil {
			return err
		}
		return cfg.validate()
	}
}

// parseServers reads --server and --server-pid.
func (cfg *runConfig) parseServers(servers, pids string) error {
	for s := range strings.SplitSeq(servers, ",") {
		u, err := parseServer(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		cfg.servers = append(cfg.servers, u)
	}
	if pids == "" {
		return nil
	}
	for s := range strings.SplitSeq(pids, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || pid <= 0 {
			return fmt.Errorf("--server-pid: %q is not a process id", s)
		}
		cfg.pids = append(cfg.pids, pid)
	}
	if len(cfg.pids) != len(cfg.servers) {
		return fmt.Errorf("--server-pid: give one per --server")
	}
	return nil
}

// validate bounds the scenario: a load tool must not be able to run away.
func (cfg *runConfig) validate() error {
	switch {
	case cfg.conns < 2 || cfg.conns > 1_000_000:
		return fmt.Errorf("--conns must be between 2 and 1000000")
	case cfg.duration < 0 || cfg.duration > time.Hour:
		return fmt.Errorf("--duration must be between 0 and 1h")
	case cfg.rate <= 0 || cfg.rate > 10000:
		return fmt.Errorf("--rate must be above 0 and at most 10000")
	case cfg.fanout < 0 || cfg.fanout > 10000:
		return fmt.Errorf("--fanout must be between 0 and 10000 (the API's recipient limit)")
	case cfg.fanouts < 0 || cfg.fanouts > 100:
		return fmt.Errorf("--fanouts must be between 0 and 100")
	case cfg.perProcess < 1 || cfg.dialers < 1 || cfg.refreshConc < 1:
		return fmt.Errorf("--per-process, --dialers and --refresh-concurrency must be positive")
	case cfg.settle < 0 || cfg.settle > 10*time.Minute:
		return fmt.Errorf("--settle must be between 0 and 10m")
	}
	return checkPortBudget(cfg.conns, cfg.srcAddrs, ephemeralPorts())
}

// bench is one run against one system.
type bench struct {
	cfg    *runConfig
	sys    system
	out    io.Writer
	stderr io.Writer
	t      *tracker
	rep    *report
}

// newBench is a run of cfg's scenario against sys, with a fresh tracker
// and report.
func newBench(cfg *runConfig, sys system, stdout, stderr io.Writer, limit uint64) *bench {
	return &bench{cfg: cfg, sys: sys, out: stdout, stderr: stderr, t: newTracker(),
		rep: &report{System: sys.name(), Servers: sys.servers(), Conns: cfg.conns, FileLimit: limit, LoadBefore: loadAverage()}}
}

// newHTTPClient is the client of every API call: enough idle connections
// kept for the 1:1 phase's requests in flight.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
	}}
}

// whitecrossRun is a run against whitecross: it refreshes the bench
// users' tokens first and signs a few in at the end.
type whitecrossRun struct {
	*bench
	wc   *whitecrossSystem
	file *tokensFile
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
	limit, err := checkFileLimit(cfg)
	if err != nil {
		return err
	}
	// The workers' messages and the run's progress share stderr.
	stderr = &lockedWriter{w: stderr}
	wr, err := newWhitecrossRun(cfg, cfg.servers, cfg.pids, stdout, stderr, limit)
	if err != nil {
		return err
	}
	err = wr.run(ctx)
	err = wr.finish(ctx, err)
	wr.rep.print(stdout)
	if cfg.jsonOut != "" {
		if jerr := writeJSON(cfg.jsonOut, wr.rep); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	return err
}

// checkFileLimit returns this process's open-file limit, refusing a
// --per-process above it.
func checkFileLimit(cfg *runConfig) (uint64, error) {
	limit, err := fileLimit()
	if err != nil {
		return 0, err
	}
	if uint64(cfg.perProcess)+64 > limit {
		return 0, fmt.Errorf("--per-process %d is above this process's open-file limit %d (less a margin of 64): lower it", cfg.perProcess, limit)
	}
	return limit, nil
}

// newWhitecrossRun reads the tokens file and prepares a run against the
// whitecross servers at urls (pids: read their RSS and CPU from /proc).
func newWhitecrossRun(cfg *runConfig, urls []*url.URL, pids []int, stdout, stderr io.Writer, limit uint64) (*whitecrossRun, error) {
	f, err := readTokens(cfg.tokens)
	if err != nil {
		return nil, err
	}
	if cfg.conns > len(f.Users) {
		return nil, fmt.Errorf("--conns %d: the tokens file has %d users (run `wcbench setup --users %d`)", cfg.conns, len(f.Users), cfg.conns)
	}
	wc := &whitecrossSystem{urls: urls, hc: newHTTPClient(), metricsToken: cfg.metricsToken, pids: pids, watch: cfg.watch}
	for i := range cfg.conns {
		wc.users = append(wc.users, &f.Users[i])
	}
	return &whitecrossRun{bench: newBench(cfg, wc, stdout, stderr, limit), wc: wc, file: f}, nil
}

// finish turns an interruption into a report that says how far the run
// got, and notes the load average at the end.
func (b *bench) finish(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		b.rep.Stopped, err = "interrupted", nil // the report says how far it got
	}
	b.rep.LoadAfter = loadAverage()
	return err
}

// run refreshes every token, measures, then signs a few users in.
func (b *whitecrossRun) run(ctx context.Context) (err error) {
	b.logf("refreshing %d access tokens through POST /api/v1/auth/refresh", len(b.wc.users))
	start := time.Now()
	failed, ferr := refreshAll(ctx, b.wc.hc, b.wc.base(0), b.wc.users, b.cfg.refreshConc)
	// Save the successors even when some failed: the spent tokens are
	// worthless now.
	if err := writeTokens(b.cfg.tokens, b.file); err != nil {
		return err
	}
	b.rep.Refresh = rateOf(len(b.wc.users)-failed, time.Since(start))
	if failed > 0 {
		return fmt.Errorf("%d of %d refreshes failed (run `wcbench setup` again for new sessions): %w", failed, len(b.wc.users), ferr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Stop before the first token expires: the server closes a connection
	// when its token does.
	expires := b.wc.users[0].Expires
	for _, u := range b.wc.users {
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
	if err := b.measure(ctx); err != nil {
		return err
	}
	// Last: argon2 takes 19 MiB a sign-in, which would blur the memory
	// figures taken before.
	return b.measureSignIn(ctx)
}

// measure is the scenario every system goes through: read the servers,
// connect, hold the connections for --settle, then the 1:1 messages and
// the fan-outs, and close every connection.
func (b *bench) measure(ctx context.Context) error {
	before, err := b.sys.sample(ctx)
	if err != nil {
		return err
	}
	if err := checkServerFiles(b.cfg.conns, b.sys.servers(), before); err != nil {
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
	held, err := b.sys.sample(ctx)
	if err != nil {
		return err
	}
	heldAt := time.Now()
	if err := sleep(ctx, b.cfg.settle); err != nil {
		return err
	}
	after, err := b.sys.sample(ctx)
	if err != nil {
		return err
	}
	b.rep.memory(before, held, after)
	b.rep.idle(held, after, time.Since(heldAt))
	if err := b.oneToOne(ctx); err != nil {
		return err
	}
	if err := b.fanOuts(ctx); err != nil {
		return err
	}
	end, err := b.sys.sample(ctx)
	if err != nil {
		return err
	}
	b.rep.end(after, end, b.t)
	return nil
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
func (b *whitecrossRun) measureSignIn(ctx context.Context) error {
	var l latencies
	for i := range min(b.cfg.loginSample, len(b.file.Users)) {
		u := b.file.Users[len(b.file.Users)-1-i]
		start := time.Now()
		p, err := signIn(ctx, b.wc.hc, b.wc.base(0), b.file.Tenant, u.Email, b.file.Password)
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		l = append(l, time.Since(start))
		if err := postJSON(ctx, b.wc.hc, b.wc.base(0), "/api/v1/auth/logout", p.AccessToken,
			map[string]string{"refresh_token": p.RefreshToken}, nil); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	b.rep.SignIn = l.summarize()
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "wcbench %s: "+format+"\n", append([]any{b.sys.name()}, args...)...)
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
