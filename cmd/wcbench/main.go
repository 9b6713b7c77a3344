// Command wcbench is the realtime load tool of docs/performance.md: it
// opens many authenticated WebSocket connections to a whitecross server on
// 127.0.0.1 and measures the connect rate, the server's memory per
// connection, and publish-to-receive latency of 1:1 messages and of one
// message to 10,000 connected recipients.
//
//	wcbench setup --users 20000            # bench tenant, users, sessions -> wcbench-tokens.json
//	wcbench run --conns 20000 --duration 1m
//	wcbench logins --server http://127.0.0.1:8080 --pid PID --n 40   # sign-in bursts
//	wcbench compare --whitecross-bin bin/whitecross --centrifugo-bin bin/centrifugo --conns 5000
//
// compare runs run's scenario against whitecross and against a Centrifugo
// v6 it starts (built from the tools/centrifugo module, never a
// dependency of whitecross), rounds interleaved, and prints both columns
// with their ratios.
//
// setup writes into the server's database (the same DATABASE_URL or data
// dir as `whitecross serve`); run talks to the server over HTTP only, and
// only to 127.0.0.1. Run `wcbench setup -h` and `wcbench run -h` for every
// flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  wcbench setup [flags]   create the bench tenant, its users and sessions (writes the tokens file)
  wcbench run [flags]     connect, measure, report
  wcbench logins [flags]  bursts of parallel sign-ins: answers and the server's peak memory
  wcbench compare [flags] the run's scenario against whitecross and a Centrifugo it starts, side by side
`

// run is the program with its surroundings passed in; it returns the exit
// code (0 done, 1 failed or refused, 2 no such verb).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "setup":
		err = setup(ctx, args[1:], getenv, stdout)
	case "run":
		err = runBench(ctx, args[1:], getenv, stdout, stderr)
	case "compare":
		err = runCompare(ctx, args[1:], getenv, stdout, stderr)
	case "logins":
		err = runLogins(ctx, args[1:], stdout)
	case "worker":
		// A child of run: it stops when run says so (or its input ends),
		// not on the terminal's Ctrl-C, so its connections close cleanly.
		signal.Ignore(syscall.SIGINT)
		fs := flag.NewFlagSet("wcbench worker", flag.ContinueOnError)
		dialers := fs.Int("dialers", 16, "connections dialed at once")
		if err = fs.Parse(args[1:]); err == nil {
			err = runWorker(context.Background(), stdin, stdout, *dialers)
		}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "wcbench: %v\n", err)
		return 1
	}
	return 0
}
