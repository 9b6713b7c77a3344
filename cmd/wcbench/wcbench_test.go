package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/auth"
	"whitecross/realtime"
	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// TestMain lets the test binary stand in for wcbench's worker processes:
// run re-executes its own program with the verb "worker".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var l latencies
	for i := 100; i >= 1; i-- { // unsorted on purpose
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	s := l.summarize()
	require.Equal(t, 100, s.Count)
	require.Equal(t, time.Millisecond, s.Min)
	require.Equal(t, 50*time.Millisecond, s.P50)
	require.Equal(t, 99*time.Millisecond, s.P99)
	require.Equal(t, 100*time.Millisecond, s.Max)
	require.Equal(t, 100*time.Millisecond, l[0], "summarize sorts a copy")

	// With fewer than 100 samples p99 is the largest.
	s = latencies{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}.summarize()
	require.Equal(t, 2*time.Millisecond, s.P50)
	require.Equal(t, 3*time.Millisecond, s.P99)
	require.Equal(t, summary{}, latencies(nil).summarize())
	require.Equal(t, "no samples", latencies(nil).summarize().String())
}

func TestSourceAddressesSpreadConnectionsEvenly(t *testing.T) {
	t.Parallel()
	srcs, err := sourceAddrs(8)
	require.NoError(t, err)
	perAddr := map[string]int{}
	for i := range 50_000 {
		ip := sourceFor(srcs, i)
		require.True(t, ip.IsLoopback(), ip.String())
		require.False(t, ip.Equal(net.IPv4(127, 0, 0, 1)), "127.0.0.1 is the server's")
		perAddr[ip.String()]++
	}
	require.Len(t, perAddr, 8)
	require.Equal(t, 6250, perAddr["127.0.0.2"])
	require.Equal(t, 6250, perAddr["127.0.0.9"])

	_, err = sourceAddrs(0)
	require.Error(t, err)
	_, err = sourceAddrs(251)
	require.Error(t, err)
}

func TestPortBudgetNeedsEnoughSourceAddresses(t *testing.T) {
	t.Parallel()
	ports := parsePortRange("32768\t60999\n", 0)
	require.Equal(t, 28232, ports)
	err := checkPortBudget(50_000, 1, ports)
	require.ErrorContains(t, err, "--source-addrs 3")
	require.NoError(t, checkPortBudget(50_000, 3, ports))
	require.NoError(t, checkPortBudget(20_000, 1, ports))
	require.Equal(t, 7, parsePortRange("garbage", 7))
}

func TestServersMustHaveFilesForTheirConnections(t *testing.T) {
	t.Parallel()
	// Three servers with a limit of 20,000 files and 30 open each.
	s := serverSample{OpenFDs: 90, MaxFDs: 20000}
	require.NoError(t, checkServerFiles(50_000, 3, s))
	require.ErrorContains(t, checkServerFiles(50_000, 2, s), "ulimit -n")
	require.NoError(t, checkServerFiles(50_000, 1, serverSample{}), "an unknown limit is not checked")
}

func TestOnlyLoopbackServersAreAccepted(t *testing.T) {
	t.Parallel()
	u, err := parseServer("http://127.0.0.1:8080/")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080", u.String())
	require.Equal(t, "ws://127.0.0.1:8080/api/v1/ws", wsURL(u))
	for _, bad := range []string{
		"http://10.0.0.1:8080", "http://localhost:8080", "http://example.org:80", "http://[::1]:8080",
		"https://127.0.0.1:8443", "http://127.0.0.1", "http://u:p@127.0.0.1:8080", "http://127.0.0.1:8080/api",
		"http://127.0.0.2:8080", "ws://127.0.0.1:8080",
	} {
		_, err := parseServer(bad)
		require.Error(t, err, bad)
	}
	// run refuses before doing anything when any server is not loopback.
	_, err = parseRun([]string{"--server", "http://127.0.0.1:8080,http://192.0.2.1:8080"}, func(string) string { return "" })
	require.ErrorContains(t, err, "127.0.0.1 only")
}

func TestServerSampleParsing(t *testing.T) {
	t.Parallel()
	var s serverSample
	text := "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 42\n" +
		"go_memstats_heap_inuse_bytes 1.5e+06\ngo_memstats_stack_inuse_bytes 65536\n" +
		"process_resident_memory_bytes 3.2e+07\nprocess_max_fds 20000\n" +
		`go_gc_duration_seconds{quantile="0.5"} 0.001` + "\n"
	require.NoError(t, parseMetrics(strings.NewReader(text), &s))
	require.Equal(t, serverSample{RSS: 3.2e7, HeapInuse: 1.5e6, StackInuse: 65536, Goroutines: 42, MaxFDs: 20000}, s)

	rss, err := parseStatusField("Name:\twhitecross\nVmPeak:\t 900 kB\nVmRSS:\t  2048 kB\n", "VmRSS")
	require.NoError(t, err)
	require.Equal(t, float64(2048*1024), rss)
	_, err = parseStatusField("Name:\tx\n", "VmRSS")
	require.Error(t, err)
}

func TestTrackerCountsOnlyAwaitedRecipientsOnce(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	a := tr.await("f:0", []int{1, 2})
	at := a.sent.Add(5 * time.Millisecond).UnixNano()
	tr.apply(workerEvent{Ev: "msg", Conn: 0, Nonce: "f:0", At: at}) // the sender's own tab
	tr.apply(workerEvent{Ev: "msg", Conn: 1, Nonce: "f:0", At: at})
	tr.apply(workerEvent{Ev: "msg", Conn: 1, Nonce: "f:0", At: at}) // a duplicate
	select {
	case <-a.done:
		t.Fatal("done before every recipient got it")
	default:
	}
	tr.apply(workerEvent{Ev: "msg", Conn: 2, Nonce: "f:0", At: at})
	<-a.done
	got, missing := tr.forget("f:0", a)
	require.Equal(t, latencies{5 * time.Millisecond, 5 * time.Millisecond}, got)
	require.Zero(t, missing)

	tr.apply(workerEvent{Ev: "up", Conn: 3})
	tr.apply(workerEvent{Ev: "down", Conn: 3, Code: 4001})
	tr.apply(workerEvent{Ev: "down", Conn: 4, Code: 4001}) // never up: not counted
	require.Equal(t, map[int]int{4001: 1}, tr.down)
}

// server is a whitecross API with its realtime gateway and /metrics, as
// `whitecross serve` wires them, on an httptest listener (127.0.0.1).
func server(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := vault.New(key)
	require.NoError(t, err)
	st := store.New(db, auth.NewArgon2id(), v)
	keys, err := auth.LoadKeyring(ctx, st, time.Now)
	require.NoError(t, err)
	authSvc := auth.NewService(auth.DefaultConfig("http://127.0.0.1"), auth.Deps{
		Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
		Hasher: auth.NewArgon2id(), Keys: keys,
	})
	var srv *api.Server
	gw := realtime.New(realtime.Config{Store: st,
		Authenticate: func(r *http.Request) (*whitecross.Actor, time.Time, error) { return srv.AuthenticateUpgrade(r) }})
	st.SetEventNotifier(gw.Notify)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv = api.New(api.Config{PublicURL: "http://127.0.0.1"}, api.Deps{Auth: authSvc, Tenants: st, Users: st,
		Locations: st, Students: st, Groups: st, Messages: st, Realtime: gw, JWKS: keys.JWKS,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})})
	ts := httptest.NewServer(srv)
	gw.Start(ctx)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		require.NoError(t, gw.Shutdown(sctx))
		ts.Close()
	})
	return ts.URL
}

// TestSetupThenRunMeasuresEveryPhase sets up a bench tenant in the
// database, serves it, and runs the whole tool against it: the refresh
// tokens setup wrote are accepted by the server, every connection comes up
// through a worker process, every 1:1 and fan-out message reaches its
// recipients' sockets, and the successors of the spent refresh tokens are
// saved.
func TestSetupThenRunMeasuresEveryPhase(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tokens := filepath.Join(t.TempDir(), "tokens.json")
		var out bytes.Buffer
		cfg := &setupConfig{users: 4, tokens: tokens, tenant: defaultTenant, concurrency: 2}
		require.NoError(t, setupBench(ctx, db, cfg, &out))
		first, err := readTokens(tokens)
		require.NoError(t, err)
		require.Len(t, first.Users, 4)

		// A second setup keeps the users and replaces their sessions.
		require.NoError(t, setupBench(ctx, db, cfg, &out))
		second, err := readTokens(tokens)
		require.NoError(t, err)
		require.Equal(t, first.Users[3].ID, second.Users[3].ID)
		require.NotEqual(t, first.Users[3].RefreshToken, second.Users[3].RefreshToken)

		base := server(t, db)
		hc := &http.Client{Timeout: time.Minute}
		old := []*benchUser{&first.Users[0]}
		failed, err := refreshAll(ctx, hc, base, old, 1)
		require.Equal(t, 1, failed, "the previous setup's sessions are revoked")
		require.ErrorContains(t, err, "401")

		report := filepath.Join(t.TempDir(), "report.json")
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"run", "--server", base, "--tokens", tokens, "--conns", "4", "--duration", "1s",
			"--rate", "5", "--fanout", "3", "--fanouts", "2", "--settle", "0s", "--login-sample", "1",
			"--source-addrs", "2", "--per-process", "3", "--json", report},
			func(string) string { return "" }, nil, &stdout, &stderr)
		require.Zero(t, code, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)

		var r struct {
			Connected int `json:"connected"`
			OneToOne  struct {
				Sent    int     `json:"sent"`
				Latency summary `json:"publish_to_receive"`
				Lost    int     `json:"lost"`
				Errors  int     `json:"errors"`
			} `json:"one_to_one"`
			FanOuts []struct {
				Recipients int     `json:"recipients"`
				Latency    summary `json:"publish_to_receive"`
				Lost       int     `json:"lost"`
			} `json:"fan_outs"`
			SignIn summary `json:"sign_in"`
			Memory struct {
				ServerOpenFileLimit float64 `json:"server_open_file_limit"`
			} `json:"memory"`
		}
		b, err := os.ReadFile(report)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &r))
		require.Equal(t, 4, r.Connected)
		require.Positive(t, r.OneToOne.Sent)
		require.Zero(t, r.OneToOne.Errors)
		require.Zero(t, r.OneToOne.Lost)
		require.Equal(t, r.OneToOne.Sent, r.OneToOne.Latency.Count, "every 1:1 message reached its recipient")
		require.Len(t, r.FanOuts, 2)
		for _, f := range r.FanOuts {
			require.Equal(t, 3, f.Recipients)
			require.Equal(t, 3, f.Latency.Count)
			require.Zero(t, f.Lost)
		}
		require.Equal(t, 1, r.SignIn.Count)
		require.Positive(t, r.Memory.ServerOpenFileLimit)

		after, err := readTokens(tokens)
		require.NoError(t, err)
		require.NotEqual(t, second.Users[0].RefreshToken, after.Users[0].RefreshToken, "the spent token's successor is saved")
		refreshed := []*benchUser{&after.Users[0]}
		failed, err = refreshAll(ctx, hc, base, refreshed, 1)
		require.NoError(t, err)
		require.Zero(t, failed)
	})
}

func TestLoginsRefusesOtherServersAndBadCounts(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	for _, args := range [][]string{
		{"--server", "http://10.0.0.1:8080", "--pid", "1"},
		{"--server", "http://127.0.0.1:8080"},
		{"--server", "http://127.0.0.1:8080", "--pid", "1", "--n", "251"},
	} {
		require.Error(t, runLogins(t.Context(), args, &out), args)
	}
	require.Empty(t, out.String(), "nothing was sent")
	require.Equal(t, "200 x1, 401 x6, 429 x33", formatCodes(map[int]int{429: 33, 200: 1, 401: 6}))
}
