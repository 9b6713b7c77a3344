package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"whitecross"
	"whitecross/audit"
	"whitecross/auth"
)

// open validates the configuration of a non-serve verb, whose flags are
// parsed, and opens the database. When schema is true it also requires every
// migration to be applied.
func (p *program) open(ctx context.Context, sf *settingFlags, schema bool) (*app, error) {
	cfg, err := p.config(sf)
	if err != nil {
		return nil, err
	}
	return p.openWith(ctx, cfg, schema)
}

// openTenant opens the app with its schema and finds the tenant of slug;
// the caller closes the app.
func (p *program) openTenant(ctx context.Context, sf *settingFlags, slug string) (*app, *whitecross.Tenant, error) {
	a, err := p.open(ctx, sf, true)
	if err != nil {
		return nil, nil, err
	}
	t, err := a.tenant(ctx, slug)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, t, nil
}

// openWith is open with the configuration already loaded.
func (p *program) openWith(ctx context.Context, cfg *Config, schema bool) (*app, error) {
	a, err := openApp(ctx, cfg, p.logger(cfg))
	if err != nil {
		return nil, err
	}
	if schema {
		if err := a.requireSchema(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// verbHelp returns the help printer of a non-serve verb.
func verbHelp(usage, about string, fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprintf(w, "Usage: whitecross %s\n\n%s\n\nFlags:\n", usage, about)
		writeFlagsHelp(w, fs)
		fmt.Fprintf(w, "\nDATABASE_URL, WHITECROSS_DATA_DIR and the other settings apply as for serve (whitecross serve --help).\n")
	}
}

// migrate applies pending migrations (up) or lists them (status).
func (p *program) migrate(ctx context.Context, sub string, args []string) error {
	fs, sf := p.newFlagSet("migrate", false)
	about := "up applies every pending migration, each in its own transaction; status lists them."
	if err := p.parseFlags(fs, args, verbHelp("migrate "+sub+" [flags]", about, fs)); err != nil {
		return err
	}
	a, err := p.open(ctx, sf, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "up" {
		n, err := a.db.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.stdout, "Applied %d migration(s); the %s database is up to date.\n", n, a.db.Dialect)
		return nil
	}
	st, err := a.db.MigrationStatuses(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(p.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\n", s.Version, state, s.Name)
	}
	return tw.Flush()
}

// tenant creates a tenant (school district).
func (p *program) tenant(ctx context.Context, _ string, args []string) error {
	fs, sf := p.newFlagSet("tenant create", false)
	slug := fs.String("slug", "", "short unique name used to sign in, e.g. lincoln-usd (required)")
	name := fs.String("name", "", "display name, e.g. \"Lincoln Unified School District\" (required)")
	tz := fs.String("timezone", "America/Chicago", "IANA timezone of the district")
	help := verbHelp("tenant create --slug SLUG --name NAME [--timezone America/Chicago]", "Creates a tenant (school district); its audit log starts with tenant.created.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"slug": *slug, "name": *name}); err != nil {
		return err
	}
	a, err := p.open(ctx, sf, true)
	if err != nil {
		return err
	}
	defer a.Close()
	t := &whitecross.Tenant{Slug: *slug, Name: *name, Timezone: *tz}
	if err := a.store.CreateTenant(whitecross.SystemContext(ctx, ""), t); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "Created tenant %s (id %s, timezone %s).\n", t.Slug, t.ID, t.Timezone)
	return nil
}

// locationList is a repeatable --location flag.
type locationList []string

func (l *locationList) String() string     { return strings.Join(*l, ",") }
func (l *locationList) Set(v string) error { *l = append(*l, v); return nil }

// user creates a user, reading the password from standard input, or sets
// one's password (set-password).
func (p *program) user(ctx context.Context, sub string, args []string) error {
	if sub == "set-password" {
		return p.userSetPassword(ctx, args)
	}
	fs, sf := p.newFlagSet("user create", false)
	slug := fs.String("tenant", "", "slug of the user's tenant (required)")
	email := fs.String("email", "", "email address, the sign-in name (required)")
	name := fs.String("name", "", "full name (required)")
	role := fs.String("role", "", "one of ADMIN, SCHOOL_ADMIN, NURSE, STAFF, GUARDIAN (required)")
	phone := fs.String("phone", "", "phone number in E.164 form, e.g. +15551234567")
	var locations locationList
	fs.Var(&locations, "location", "id or exact name of a location the user works at (repeatable)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input; without it the user cannot sign in yet")
	help := verbHelp("user create --tenant SLUG --email EMAIL --name NAME --role ROLE [--phone +15551234567] [--location ID|NAME]... [--password-stdin]",
		"Creates a user. The password is read from standard input so it never appears in the process list or shell history.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"tenant": *slug, "email": *email, "name": *name, "role": *role}); err != nil {
		return err
	}
	r := whitecross.Role(strings.ToUpper(*role))
	if !r.Valid() {
		return usageErrorf("--role must be one of ADMIN, SCHOOL_ADMIN, NURSE, STAFF, GUARDIAN, got %q", *role)
	}
	var password string
	if *pwStdin {
		pw, err := readPassword(p.stdin)
		if err != nil {
			return err
		}
		password = pw
	}
	a, t, err := p.openTenant(ctx, sf, *slug)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := whitecross.SystemContext(ctx, t.ID)
	locationIDs, err := resolveLocations(sys, a, locations)
	if err != nil {
		return err
	}
	u, err := a.store.CreateUser(sys, &whitecross.UserCreate{
		Email: *email, Name: *name, Role: r, Phone: *phone, LocationIDs: locationIDs, Password: password,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "Created user %s (%s) in tenant %s.\n", u.ID, u.Role, t.Slug)
	if password == "" {
		fmt.Fprintln(p.stdout, "The user has no password and cannot sign in until the operator sets one (whitecross user set-password).")
	}
	return nil
}

// userSetPassword sets a user's password as the operator, ends every
// session of theirs and lifts the account's sign-in lockout. The API lets nobody set another person's password (an
// administrator who could would sign in as them); the operator, who holds
// the database anyway, is trusted with it, for someone locked out.
func (p *program) userSetPassword(ctx context.Context, args []string) error {
	fs, sf := p.newFlagSet("user set-password", false)
	slug := fs.String("tenant", "", "slug of the user's tenant (required)")
	email := fs.String("email", "", "the user's email address (required)")
	help := verbHelp("user set-password --tenant SLUG --email EMAIL",
		"Sets a user's password, read from the first line of standard input (so it never appears in the process list or shell "+
			"history), and ends every session of theirs at once. Administrators cannot set another person's password through the API.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"tenant": *slug, "email": *email}); err != nil {
		return err
	}
	password, err := readPassword(p.stdin)
	if err != nil {
		return err
	}
	a, t, err := p.openTenant(ctx, sf, *slug)
	if err != nil {
		return err
	}
	defer a.Close()
	creds, err := a.store.FindCredentials(ctx, t.ID, *email)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return usageErrorf("no user with email %q in tenant %s", strings.ToLower(strings.TrimSpace(*email)), t.Slug)
	} else if err != nil {
		return err
	}
	if err := a.store.SetPassword(whitecross.SystemContext(ctx, t.ID), creds.User.ID, password); err != nil {
		return err
	}
	// Someone locked out by failed attempts can sign in with it at once.
	if err := a.store.Reset(ctx, auth.AccountThrottleKey(t.Slug, creds.User.Email)); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "Set the password of user %s in tenant %s; every session of theirs has ended and any sign-in lockout of the account is lifted.\n", creds.User.ID, t.Slug)
	return nil
}

// readPassword returns the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", usageErrorf("--password-stdin: nothing on standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageErrorf("--password-stdin: no password on the first line of standard input")
	}
	return pw, nil
}

// resolveLocations maps each --location value, an id or an exact
// (case-insensitive) name, to a location id of the tenant.
func resolveLocations(ctx context.Context, a *app, values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	all, err := a.store.ListLocations(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(values))
	for _, v := range values {
		var match []string
		for _, l := range all {
			if l.ID == v || strings.EqualFold(l.Name, strings.TrimSpace(v)) {
				match = append(match, l.ID)
			}
		}
		switch len(match) {
		case 0:
			return nil, usageErrorf("--location %q: no location of this tenant has that id or name", v)
		case 1:
			ids = append(ids, match[0])
		default:
			return nil, usageErrorf("--location %q: several locations have that name; give the id", v)
		}
	}
	return ids, nil
}

// audit verifies a tenant's hash-chained audit log: "OK: N events", or
// "BROKEN: reason" and exit code 1.
func (p *program) audit(ctx context.Context, _ string, args []string) error {
	fs, sf := p.newFlagSet("audit verify", false)
	slug := fs.String("tenant", "", "slug of the tenant whose log to verify (required)")
	checkpoints := fs.String("checkpoints", "", "file of signed checkpoint lines (WHITECROSS_AUDIT_CHECKPOINT_FILE, or the server's logs): the chain must still hold each of the tenant's checkpointed heads")
	help := verbHelp("audit verify --tenant SLUG [--checkpoints FILE]",
		"Links any events still pending, then walks the tenant's audit log and checks every hash link and the chain head, and with --checkpoints that the chain still holds every head checkpointed for the tenant. Prints \"OK: N events\", or \"BROKEN: <first broken link>\" and exits 1.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"tenant": *slug}); err != nil {
		return err
	}
	a, t, err := p.openTenant(ctx, sf, *slug)
	if err != nil {
		return err
	}
	defer a.Close()
	// Events a stopped server committed but had not linked yet are linked
	// first, so that the check covers every committed event.
	if _, err := a.store.LinkAudit(ctx, t.ID); err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, a.store, t.ID)
	if err != nil {
		return err
	}
	if !rep.OK {
		fmt.Fprintf(p.stdout, "BROKEN: %s (%d events verified before the break)\n", rep.Broken, rep.Events)
		return &exitCodeError{code: exitFailure}
	}
	if *checkpoints == "" {
		fmt.Fprintf(p.stdout, "OK: %d events\n", rep.Events)
		return nil
	}
	n, broken, err := checkCheckpointFile(ctx, a, t.ID, *checkpoints)
	if err != nil {
		return err
	}
	if broken != "" {
		fmt.Fprintf(p.stdout, "BROKEN: %s\n", broken)
		return &exitCodeError{code: exitFailure}
	}
	fmt.Fprintf(p.stdout, "OK: %d events, %d checkpoints\n", rep.Events, n)
	return nil
}

// checkCheckpointFile checks the tenant's chain against the checkpoints in
// path; a line not signed with this master key is a break, not an error.
func checkCheckpointFile(ctx context.Context, a *app, tenantID, path string) (n int, broken string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("--checkpoints: %w", err)
	}
	defer f.Close()
	cps, err := audit.ParseCheckpoints(f, a.auditKey)
	if err != nil {
		return 0, err.Error(), nil
	}
	return audit.CheckCheckpoints(ctx, a.store, tenantID, cps)
}

// version prints the build version.
func (p *program) version(_ context.Context, _ string, args []string) error {
	if len(args) > 0 && !isHelp(args[0]) {
		return usageErrorf("unexpected argument %q", args[0])
	}
	fmt.Fprintf(p.stdout, "whitecross %s (%s)\n", whitecross.Version, runtime.Version())
	return nil
}

// required returns a usage error naming the first missing required flag,
// in a stable order.
func required(flags map[string]string) error {
	var missing []string
	for name, v := range flags {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return usageErrorf("missing required flag(s): %s (see --help)", strings.Join(missing, ", "))
}

// tenant finds a tenant by slug for a CLI verb; an unknown slug is a usage
// error that says how to create one.
func (a *app) tenant(ctx context.Context, slug string) (*whitecross.Tenant, error) {
	t, err := a.store.FindTenantBySlug(ctx, slug)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, usageErrorf("no tenant with slug %q (create it with `whitecross tenant create`)", slug)
	}
	return t, err
}
