package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// compareConfig is what `wcbench compare` takes: the scenario of run,
// the rounds, and the servers to start.
type compareConfig struct {
	run           *runConfig
	rounds        int
	whitecrossBin string
	centrifugoBin string
	centrifugoMod string
	workDir       string
	readyTimeout  time.Duration
	jsonOut       string
}

func parseCompare(args []string, getenv func(string) string) (*compareConfig, error) {
	fs := flag.NewFlagSet("wcbench compare", flag.ContinueOnError)
	cfg := &compareConfig{run: &runConfig{}}
	finish := cfg.run.flags(fs, getenv)
	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds, each whitecross then Centrifugo; the table shows each figure's median")
	fs.StringVar(&cfg.whitecrossBin, "whitecross-bin", "", "whitecross binary to start fresh each round on --server's address (its settings from this environment: WHITECROSS_DATA_DIR or DATABASE_URL as for setup); empty: use the server already running at --server")
	fs.StringVar(&cfg.centrifugoBin, "centrifugo-bin", getenv("WCBENCH_CENTRIFUGO"), "Centrifugo binary (default $WCBENCH_CENTRIFUGO); empty: build it from --centrifugo-module")
	fs.StringVar(&cfg.centrifugoMod, "centrifugo-module", "tools/centrifugo", "the tools module that pins Centrifugo, to build it from")
	fs.StringVar(&cfg.workDir, "work-dir", "", "where the servers' configuration and logs go (default: a new temporary directory)")
	fs.DurationVar(&cfg.readyTimeout, "ready-timeout", time.Minute, "how long a started server may take to answer")
	fs.StringVar(&cfg.jsonOut, "json", "", "also write every round's report and the table as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	switch {
	case cfg.rounds < 1 || cfg.rounds > 9:
		return nil, fmt.Errorf("--rounds must be between 1 and 9")
	case cfg.whitecrossBin != "" && len(cfg.run.servers) != 1:
		return nil, fmt.Errorf("--whitecross-bin starts one server: give one --server address")
	}
	return cfg, nil
}

// comparison is the state of one `wcbench compare`.
type comparison struct {
	cfg    *compareConfig
	out    io.Writer
	stderr io.Writer
	limit  uint64
	rounds []*report // in the order run: whitecross, centrifugo, whitecross, …
}

// runCompare runs the scenario against whitecross and against a
// Centrifugo it starts, --rounds times interleaved, and prints both
// columns with their ratios.
func runCompare(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseCompare(args, getenv)
	if err != nil {
		return err
	}
	limit, err := checkFileLimit(cfg.run)
	if err != nil {
		return err
	}
	if cfg.workDir == "" {
		cfg.workDir, err = os.MkdirTemp("", "wcbench-compare-")
	} else {
		err = os.MkdirAll(cfg.workDir, 0o755)
	}
	if err != nil {
		return err
	}
	c := &comparison{cfg: cfg, out: stdout, stderr: &lockedWriter{w: stderr}, limit: limit}
	if cfg.centrifugoBin == "" {
		if cfg.centrifugoBin, err = c.buildCentrifugo(ctx); err != nil {
			return err
		}
	}
	err = c.runRounds(ctx)
	if len(c.rounds) == 0 {
		return err
	}
	t := buildTable(c.rounds)
	t.print(stdout)
	if cfg.jsonOut != "" {
		out := map[string]any{"rounds": c.rounds, "table": t}
		err = errors.Join(err, writeJSON(cfg.jsonOut, out))
	}
	return err
}

// runRounds runs whitecross then Centrifugo, --rounds times, printing
// each report as it comes; an interrupted round ends the comparison.
func (c *comparison) runRounds(ctx context.Context) error {
	sides := []func(context.Context, int) (*report, error){c.whitecrossRound, c.centrifugoRound}
	for r := range c.cfg.rounds {
		for _, side := range sides {
			rep, err := side(ctx, r)
			if rep != nil {
				rep.print(c.out)
				c.rounds = append(c.rounds, rep)
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	return nil
}

// whitecrossRound measures whitecross once, on a fresh server when
// --whitecross-bin is given.
func (c *comparison) whitecrossRound(ctx context.Context, round int) (*report, error) {
	cfg := *c.cfg.run
	cfg.loginSample = 0 // a sign-in is not part of the comparison
	pids := cfg.pids
	if c.cfg.whitecrossBin != "" {
		addr := cfg.servers[0].Host
		env := []string{"WHITECROSS_ADDR=" + addr}
		if os.Getenv("WHITECROSS_LOG_LEVEL") == "" {
			env = append(env, "WHITECROSS_LOG_LEVEL=warn")
		}
		p, err := c.start(ctx, "whitecross", round, c.cfg.whitecrossBin, []string{"serve"}, env,
			cfg.servers[0].String()+"/readyz")
		if err != nil {
			return nil, err
		}
		defer c.stop(p)
		pids = []int{p.pid()}
	}
	wr, err := newWhitecrossRun(&cfg, cfg.servers, pids, c.out, c.stderr, c.limit)
	if err != nil {
		return nil, err
	}
	err = wr.finish(ctx, wr.run(ctx))
	return wr.rep, err
}

// centrifugoRound measures a fresh Centrifugo once, with a generated
// configuration on a free port of 127.0.0.1.
func (c *comparison) centrifugoRound(ctx context.Context, round int) (*report, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	secrets := newCentrifugoSecrets()
	conf, err := centrifugoConfig(port, secrets)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(c.cfg.workDir, fmt.Sprintf("centrifugo-%d.json", round+1))
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		return nil, err
	}
	base, err := parseServer("http://" + serverHost + ":" + strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	p, err := c.start(ctx, "centrifugo", round, c.cfg.centrifugoBin, []string{"--config", confPath}, nil,
		base.String()+"/health")
	if err != nil {
		return nil, err
	}
	defer c.stop(p)
	sys := &centrifugoSystem{base: base, secrets: secrets, pid: p.pid(), hc: newHTTPClient(),
		expires: time.Now().Add(c.cfg.run.duration + c.cfg.run.settle + 2*time.Hour)}
	b := newBench(c.cfg.run, sys, c.out, c.stderr, c.limit)
	err = b.finish(ctx, b.measure(ctx))
	return b.rep, err
}

// start starts a server for a round, logging to the work dir, and waits
// until readyURL answers.
func (c *comparison) start(ctx context.Context, name string, round int, bin string, args, env []string, readyURL string) (*serverProc, error) {
	logPath := filepath.Join(c.cfg.workDir, fmt.Sprintf("%s-%d.log", name, round+1))
	fmt.Fprintf(c.stderr, "wcbench compare: round %d: starting %s (log %s)\n", round+1, name, logPath)
	p, err := startServer(name, bin, args, env, logPath)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, newHTTPClient(), readyURL, c.cfg.readyTimeout); err != nil {
		_ = p.stop(10 * time.Second)
		return nil, err
	}
	return p, nil
}

func (c *comparison) stop(p *serverProc) {
	if err := p.stop(30 * time.Second); err != nil {
		fmt.Fprintf(c.stderr, "wcbench compare: %v\n", err)
	}
}

// buildCentrifugo builds the Centrifugo the tools module pins into the
// work dir (Go's build cache makes every build after the first quick).
func (c *comparison) buildCentrifugo(ctx context.Context) (string, error) {
	bin := filepath.Join(c.cfg.workDir, "centrifugo")
	fmt.Fprintf(c.stderr, "wcbench compare: building Centrifugo from %s\n", c.cfg.centrifugoMod)
	cmd := exec.CommandContext(ctx, "go", "-C", c.cfg.centrifugoMod, "build", "-ldflags", centrifugoLDFlags, "-o", bin, centrifugoPackage)
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build Centrifugo (run from the repository's root, or give --centrifugo-bin): %w", err)
	}
	return bin, nil
}

// centrifugoPackage is the main package the tools module pins.
const centrifugoPackage = "github.com/centrifugal/centrifugo/v6"

// centrifugoLDFlags stamps the pinned version, which Centrifugo's own
// release build sets (else `centrifugo version` says 0.0.0).
const centrifugoLDFlags = "-X " + centrifugoPackage + "/internal/build.Version=6.9.1"
