// Command whitecross is the White Cross messaging server and its operator
// tools: serve, migrate, tenant, user, audit, keys and version. Run
// `whitecross help` for the verbs and `whitecross serve --help` for every
// setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // tenant timezones validate on machines without a zoneinfo database

	"whitecross"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (database down, audit chain broken, conflict)
	exitUsage   = 2 // bad arguments or configuration: nothing was done
)

// run is the whole program with its surroundings passed in, so tests run
// the real thing. It returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, os.Getenv, args, stdin, stdout, stderr)
}

// program is one run: its arguments' surroundings and environment.
type program struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one verb of the command line.
type command struct {
	name    string
	sub     []string // required sub-verbs, e.g. "up", "status"
	summary string
	run     func(p *program, ctx context.Context, sub string, args []string) error
}

// commands lists the verbs in the order `whitecross help` shows them.
func commands() []command {
	return []command{
		{"serve", nil, "run the HTTP server (--demo seeds demo districts)", (*program).serve},
		{"migrate", []string{"up", "status"}, "apply pending database migrations, or list them", (*program).migrate},
		{"tenant", []string{"create"}, "create a tenant (school district)", (*program).tenant},
		{"user", []string{"create", "set-password"}, "create a user in a tenant, or set their password as the operator", (*program).user},
		{"roster", []string{"import"}, "import a district's roster from OneRoster 1.1 CSV files", (*program).rosterImport},
		{"retention", []string{"run"}, "delete messages older than the districts' retention, except under a legal hold", (*program).retention},
		{"audit", []string{"verify"}, "verify a tenant's hash-chained audit log", (*program).audit},
		{"keys", []string{"rotate", "rotate-data", "rotate-master", "status"}, "rotate the token signing key, a tenant's data key or the master key; show data keys", (*program).keys},
		{"version", nil, "print the version", (*program).version},
	}
}

// runWith is run with the environment given as a lookup function.
func runWith(ctx context.Context, getenv func(string) string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p := &program{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		p.usage(stderr)
		return exitUsage
	}
	verb := args[0]
	switch verb {
	case "help", "-h", "-help", "--help":
		p.usage(stdout)
		return exitOK
	case "-v", "--version":
		verb = "version"
	}
	for _, c := range commands() {
		if c.name != verb {
			continue
		}
		rest, sub := args[1:], ""
		name := c.name
		if len(c.sub) > 0 {
			if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
				if len(rest) > 0 && isHelp(rest[0]) {
					fmt.Fprintf(stdout, "Usage: whitecross %s %s [flags]\n\n%s. Run `whitecross %s %s --help` for its flags.\n", c.name, strings.Join(c.sub, "|"), capitalize(c.summary), c.name, c.sub[0])
					return exitOK
				}
				return p.fail(fmt.Sprintf("whitecross %s", c.name), usageErrorf("missing sub-command: want one of %s", strings.Join(c.sub, ", ")))
			}
			sub, rest = rest[0], rest[1:]
			name += " " + sub
			if !contains(c.sub, sub) {
				return p.fail("whitecross "+c.name, usageErrorf("unknown sub-command %q: want one of %s", sub, strings.Join(c.sub, ", ")))
			}
		}
		return p.fail("whitecross "+name, c.run(p, ctx, sub, rest))
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "whitecross: unknown command %q; commands: %s (whitecross help)\n", verb, strings.Join(names, ", "))
	return exitUsage
}

// usage writes the list of verbs.
func (p *program) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: whitecross <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		name := c.name
		if len(c.sub) > 0 {
			name += " " + strings.Join(c.sub, "|")
		}
		fmt.Fprintf(w, "  %-22s %s\n", name, c.summary)
	}
	fmt.Fprintf(w, "\nRun `whitecross <command> --help` for its flags and `whitecross serve --help` for every setting.\n")
}

// usageError is a bad argument or flag: exit code 2, nothing was done.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCodeError ends the program with a code after the command has already
// said why (audit verify prints BROKEN: ... itself).
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// fail prints err as one line per problem on stderr and returns the exit
// code: 2 for usage, configuration and validation errors, 1 otherwise.
func (p *program) fail(prefix string, err error) int {
	var (
		ue   *usageError
		ce   configError
		exit *exitCodeError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &ce):
		for _, line := range ce {
			fmt.Fprintf(p.stderr, "%s: %s\n", prefix, oneLine(line))
		}
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(p.stderr, "%s: %s\n", prefix, oneLine(ue.msg))
		return exitUsage
	}
	msg := err.Error()
	var de *whitecross.Error
	if errors.As(err, &de) {
		msg = de.Message
		if de.Field != "" {
			msg = fmt.Sprintf("%s (%s)", de.Message, strings.TrimPrefix(de.Field, "body."))
		}
	}
	fmt.Fprintf(p.stderr, "%s: %s\n", prefix, oneLine(msg))
	if whitecross.ErrorCode(err) == whitecross.EINVALID {
		return exitUsage
	}
	return exitFailure
}

// newFlagSet returns a flag set that reports errors to us rather than
// printing them, with the every-verb settings (--data-dir, --log-level)
// bound; serve also binds its own.
func (p *program) newFlagSet(name string, serve bool) (*flag.FlagSet, *settingFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, bindSettings(fs, serve)
}

// parseFlags parses args into fs, printing help on --help and turning any
// other flag error or stray argument into a one-line usage error.
func (p *program) parseFlags(fs *flag.FlagSet, args []string, help func(w io.Writer)) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(p.stdout)
			return flag.ErrHelp
		}
		return usageErrorf("%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return nil
}

// writeFlagsHelp writes the defaults of a verb's own flags.
func writeFlagsHelp(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
