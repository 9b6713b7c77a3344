package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestCentrifugoConfigListensOnLoopbackAndSendsNothingOut(t *testing.T) {
	t.Parallel()
	s := centrifugoSecrets{TokenKey: "token-key", APIKey: "api-key"}
	b, err := centrifugoConfig(18123, s)
	require.NoError(t, err)
	var cfg struct {
		HTTPServer struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
		} `json:"http_server"`
		Client struct {
			Token struct {
				HMACSecretKey string `json:"hmac_secret_key"`
			} `json:"token"`
		} `json:"client"`
		Channel struct {
			WithoutNamespace struct {
				UserLimited bool `json:"allow_user_limited_channels"`
			} `json:"without_namespace"`
		} `json:"channel"`
		HTTPAPI struct {
			Key string `json:"key"`
		} `json:"http_api"`
		Prometheus struct{ Enabled bool }  `json:"prometheus"`
		Health     struct{ Enabled bool }  `json:"health"`
		UsageStats struct{ Disabled bool } `json:"usage_stats"`
	}
	require.NoError(t, json.Unmarshal(b, &cfg))
	require.Equal(t, "127.0.0.1", cfg.HTTPServer.Address)
	require.Equal(t, 18123, cfg.HTTPServer.Port)
	require.Equal(t, "token-key", cfg.Client.Token.HMACSecretKey)
	require.Equal(t, "api-key", cfg.HTTPAPI.Key)
	require.True(t, cfg.Channel.WithoutNamespace.UserLimited, "#user channels are the personal channels")
	require.True(t, cfg.Prometheus.Enabled)
	require.True(t, cfg.Health.Enabled)
	require.True(t, cfg.UsageStats.Disabled, "no statistics sent off this machine")

	a, b2 := newCentrifugoSecrets(), newCentrifugoSecrets()
	require.Len(t, a.TokenKey, 64)
	require.NotEqual(t, a, b2, "every server gets its own secrets")
}

func TestCentrifugoTokenIsAnHS256JWTOfTheUser(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok := centrifugoToken("k3y", centrifugoUser(7), exp)
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte("k3y"), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	require.NoError(t, err)
	sub, _ := claims.GetSubject()
	require.Equal(t, "u7", sub)
	got, _ := claims.GetExpirationTime()
	require.True(t, exp.Equal(got.Time))
	require.Equal(t, "#u7", centrifugoChannel(7))

	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("other"), nil })
	require.ErrorIs(t, err, jwt.ErrSignatureInvalid)
}

func TestCentrifugoRepliesOneALine(t *testing.T) {
	t.Parallel()
	frame := []byte(`{"id":1,"connect":{"client":"c","ping":25,"pong":true}}` + "\n{}\n" +
		`{"push":{"channel":"#u1","pub":{"data":{"subject":"wcbench f:2","body":"x"},"offset":3}}}` + "\n" +
		`{"push":{"channel":"#u1","pub":{"data":{"subject":"someone else's"}}}}` + "\n" +
		`{"id":2,"error":{"code":103,"message":"permission denied"}}` + "\n")
	replies, err := decodeReplies(frame)
	require.NoError(t, err)
	require.Len(t, replies, 5)
	require.False(t, replies[0].isPing())
	require.True(t, replies[1].isPing())
	require.Equal(t, "f:2", replies[2].nonce())
	require.Empty(t, replies[3].nonce(), "not a wcbench message")
	require.EqualError(t, replies[4].Error, "centrifugo error 103: permission denied")

	_, err = decodeReplies([]byte("{\"id\":1}\nnot json"))
	require.Error(t, err)

	b, err := json.Marshal(cfCommand{ID: 2, Subscribe: &cfSubscribe{Channel: "#u1"}})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":2,"subscribe":{"channel":"#u1"}}`, string(b))
}

func TestCentrifugoAPIRepliesAreChecked(t *testing.T) {
	t.Parallel()
	var out struct{}
	require.NoError(t, decodeAPIReply("publish", []byte(`{"result":{}}`), &out))
	require.NoError(t, decodeAPIReply("publish", []byte(`{}`), &out))
	err := decodeAPIReply("publish", []byte(`{"error":{"code":102,"message":"unknown channel"}}`), &out)
	require.EqualError(t, err, "centrifugo publish: centrifugo error 102: unknown channel")
}

// TestCentrifugoScenarioAgainstAFakeServer runs the harness's Centrifugo
// side — worker processes speaking the client protocol, publish and
// broadcast through the HTTP API, the server read from /metrics and
// /proc — against a server speaking Centrifugo's wire formats: every
// connection subscribes to its own channel, answers pings, and receives
// every 1:1 and fan-out message.
func TestCentrifugoScenarioAgainstAFakeServer(t *testing.T) {
	t.Parallel()
	fake, ts := newFakeCentrifugo(t)
	base, err := parseServer(ts.URL)
	require.NoError(t, err)
	sys := &centrifugoSystem{base: base, secrets: fake.secrets, pid: os.Getpid(), hc: newHTTPClient(),
		expires: time.Now().Add(time.Hour)}
	cfg := &runConfig{conns: 4, duration: time.Second, rate: 5, fanout: 3, fanouts: 2, srcAddrs: 2,
		perProcess: 3, dialers: 2}
	var stderr bytes.Buffer
	b := newBench(cfg, sys, &bytes.Buffer{}, &lockedWriter{w: &stderr}, 1024)
	require.NoError(t, b.measure(t.Context()), stderr.String())

	r := b.rep
	require.Equal(t, "centrifugo", r.System)
	require.Equal(t, 4, r.Connected)
	require.Positive(t, r.OneToOne.Sent)
	require.Zero(t, r.OneToOne.Errors)
	require.Zero(t, r.OneToOne.Lost)
	require.Equal(t, r.OneToOne.Sent, r.OneToOne.Latency.Count, "every 1:1 message reached its recipient")
	require.Len(t, r.FanOuts, 2)
	for _, f := range r.FanOuts {
		require.Equal(t, 3, f.Latency.Count)
		require.Zero(t, f.Lost)
	}
	require.NotNil(t, r.Memory)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	require.Equal(t, 4, fake.pongs, "every connection answered the server's ping")

	// A token signed with another key is refused, and the dial fails.
	sys.secrets.TokenKey = "wrong"
	b = newBench(cfg, sys, &bytes.Buffer{}, &lockedWriter{w: &stderr}, 1024)
	require.ErrorContains(t, b.measure(t.Context()), "only 0 connections came up")
	require.Contains(t, b.rep.FirstConnectError, "centrifugo error 109")
}

// reportOf is a report with the figures the table reads.
func reportOf(system string, rss, p99 float64, lost int) *report {
	return &report{System: system, Connected: 100, LoadBefore: 1.5,
		Memory:   &memoryReport{RSSPerConn: rss, CPUPerConnect: 0.5},
		OneToOne: &oneToOneReport{Latency: summary{Count: 10, P50ms: 1, P99ms: p99}, Lost: lost},
		FanOuts: []*fanOutReport{
			{Accept: 400, Latency: summary{Count: 5, MinMs: 10, MaxMs: 500}},
			{Accept: 100, Latency: summary{Count: 5, MinMs: 10, MaxMs: 900}},
			{Error: "HTTP 500", Accept: 9},
		}}
}

func TestTableShowsMediansRangesAndRatios(t *testing.T) {
	t.Parallel()
	reports := []*report{
		reportOf("whitecross", 22000, 150, 0), reportOf("centrifugo", 50000, 4, 0),
		reportOf("whitecross", 24000, 100, 1), reportOf("centrifugo", 56000, 5, 0),
		reportOf("whitecross", 21000, 2000, 0), reportOf("centrifugo", 51000, 3, 0),
	}
	tab := buildTable(reports)
	require.Equal(t, 3, tab.Rounds)
	rows := map[string]tableRow{}
	for _, r := range tab.Rows {
		rows[r.Key] = r
	}
	rss := rows["rss_kb_per_conn"]
	require.Equal(t, []float64{22, 24, 21}, rss.Whitecross.Values, "in round order")
	require.Equal(t, 22.0, rss.Whitecross.Median)
	require.Equal(t, 21.0, rss.Whitecross.Min)
	require.Equal(t, 24.0, rss.Whitecross.Max)
	require.Equal(t, 51.0, rss.Centrifugo.Median)
	require.InDelta(t, 22.0/51, *rss.Ratio, 1e-9)

	require.Equal(t, 150.0, rows["one_to_one_p99_ms"].Whitecross.Median)
	// The fan-outs of a round: (500-400, 900-100) -> median 450; the
	// failed one is left out.
	require.Equal(t, 450.0, rows["fanout_last_after_send_ms"].Whitecross.Median)
	require.Equal(t, 250.0, rows["fanout_send_ms"].Centrifugo.Median)
	require.Nil(t, rows["lost"].Ratio, "Centrifugo lost none: no ratio")
	require.Equal(t, 1.0, rows["lost"].Whitecross.Max)
	require.Nil(t, rows["load_average"].Ratio)
	require.Nil(t, rows["heap_stack_kb_per_conn"].Ratio, "zero for Centrifugo: no ratio")

	var out bytes.Buffer
	tab.print(&out)
	require.Contains(t, out.String(), "| server memory per connection (RSS), KB | 22 (21–24) | 51 (50–56) | 0.43× |")
	require.Contains(t, out.String(), "| 1:1 publish → receive p99, ms | 150 (100–2,000) | 4 (3–5) | 37.5× |")

	for _, r := range buildTable([]*report{{System: "whitecross"}}).Rows {
		if r.Key == "one_to_one_sent" {
			require.Nil(t, r.Whitecross, "no 1:1 phase: no figure")
		}
	}

	// A side that measured nothing shows a dash.
	tab = buildTable(reports[:1])
	tab.print(&out)
	require.Contains(t, out.String(), "| server memory per connection (RSS), KB | 22 | — | — |")
}

func TestMedianOfOddAndEvenCounts(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	require.Equal(t, 0.0, median(nil))
	require.Equal(t, "1,234,568", formatFigure(1234567.8))
	require.Equal(t, "-12,000", formatFigure(-12000))
	require.Equal(t, "0.43", formatFigure(0.4321))
}

func TestProcStatCPUCountsUserAndSystemTime(t *testing.T) {
	t.Parallel()
	// The command name may hold spaces and parentheses.
	stat := "4242 (cent (rifugo) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 130 0 0 20 0 12 0 100 0 0\n"
	cpu, err := parseStatCPU(stat)
	require.NoError(t, err)
	require.Equal(t, 3.8, cpu)
	_, err = parseStatCPU("garbage")
	require.Error(t, err)

	self, err := procCPU(os.Getpid())
	require.NoError(t, err)
	require.GreaterOrEqual(t, self, 0.0)
}

func TestCompareRefusesOtherHostsAndUnboundedRounds(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	for _, args := range [][]string{
		{"--server", "http://192.0.2.1:8080"},
		{"--rounds", "0"},
		{"--rounds", "10"},
		{"--whitecross-bin", "bin/whitecross", "--server", "http://127.0.0.1:8080,http://127.0.0.1:8081"},
		{"--settle", "1h"},
	} {
		_, err := parseCompare(args, env)
		require.Error(t, err, args)
	}
	cfg, err := parseCompare([]string{"--conns", "2000", "--fanout", "1000"},
		func(k string) string { return map[string]string{"WCBENCH_CENTRIFUGO": "/opt/centrifugo"}[k] })
	require.NoError(t, err)
	require.Equal(t, 3, cfg.rounds)
	require.Equal(t, "/opt/centrifugo", cfg.centrifugoBin)
	require.Equal(t, []*url.URL{{Scheme: "http", Host: "127.0.0.1:8080"}}, cfg.run.servers)
}

func TestStartedServerIsStoppedOrReportedDead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := startServer("sleeper", "/bin/sh", []string{"-c", "exec sleep 60"}, nil, dir+"/sleeper.log")
	require.NoError(t, err)
	require.NoError(t, p.stop(10*time.Second), "SIGTERM ends it")

	p, err = startServer("quitter", "/bin/sh", []string{"-c", "echo bye; exit 3"}, nil, dir+"/quitter.log")
	require.NoError(t, err)
	err = p.waitReady(t.Context(), newHTTPClient(), "http://127.0.0.1:1/", time.Minute)
	require.ErrorContains(t, err, "quitter exited before it was ready")
	log, err := os.ReadFile(dir + "/quitter.log")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(log), "bye"))
	require.Error(t, p.stop(time.Second), "it had exited")
}
