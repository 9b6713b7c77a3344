package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"whitecross"
	"whitecross/roster"
)

// rosterImport imports a district's OneRoster 1.1 CSV set (a directory or
// a .zip) as the system, printing the counts and the skipped rows; exit
// status 1 when a row was skipped or the import failed.
func (p *program) rosterImport(ctx context.Context, _ string, args []string) error {
	fs, sf := p.newFlagSet("roster import", false)
	slug := fs.String("tenant", "", "slug of the district to import into (required)")
	dryRun := fs.Bool("dry-run", false, "report what the import would change, and change nothing")
	help := verbHelp("roster import --tenant SLUG [--dry-run] PATH",
		"Imports a OneRoster 1.1 CSV set (a directory or a .zip of orgs.csv and users.csv, with manifest.csv) into the district: "+
			"locations, staff, guardians and students matched by sourcedId. A re-import of the same files changes nothing; a full "+
			"(bulk) users.csv deactivates the imported people it no longer lists. Bad rows are printed with file and line and skipped.", fs)
	path := ""
	if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") {
		path, args = args[n-1], args[:n-1]
	}
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	if err := required(map[string]string{"tenant": *slug}); err != nil {
		return err
	}
	if path == "" {
		return usageErrorf("give the PATH last: a directory or a .zip of OneRoster CSV files")
	}
	src, err := roster.Open(path)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer src.Close()
	set, err := roster.Read(src)
	if err != nil {
		return usageErrorf("%v", err)
	}
	a, t, err := p.openTenant(ctx, sf, *slug)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := whitecross.SystemContext(ctx, t.ID)
	imp, err := a.store.StartRosterImport(sys, *dryRun)
	if err != nil {
		return err
	}
	imp, runErr := a.store.RunRosterImport(sys, imp.ID, set)
	if imp == nil {
		return runErr
	}
	printRosterImport(p.stdout, t.Slug, imp)
	if runErr != nil && !errors.Is(runErr, roster.ErrNotOneRoster) {
		fmt.Fprintf(p.stderr, "whitecross roster import: %v\n", runErr)
	}
	if imp.Status != whitecross.RosterDone || imp.ErrorCount > 0 {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}

// printRosterImport writes an import's outcome as the CLI shows it.
func printRosterImport(w io.Writer, slug string, imp *whitecross.RosterImport) {
	verb := "Imported"
	if imp.DryRun {
		verb = "Dry run (nothing changed): would import"
	}
	c := imp.Counts
	fmt.Fprintf(w, "%s the roster of %s (import %s, %s).\n", verb, slug, imp.ID, imp.Status)
	fmt.Fprintf(w, "  locations: %d created, %d updated\n", c.Locations.Created, c.Locations.Updated)
	fmt.Fprintf(w, "  users:     %d created, %d updated, %d deactivated\n", c.Users.Created, c.Users.Updated, c.Users.Deactivated)
	fmt.Fprintf(w, "  students:  %d created, %d updated, %d deactivated\n", c.Students.Created, c.Students.Updated, c.Students.Deactivated)
	if imp.Failure != "" {
		fmt.Fprintf(w, "FAILED: %s\n", imp.Failure)
	}
	if imp.ErrorCount == 0 {
		return
	}
	fmt.Fprintf(w, "%d row(s) skipped:\n", imp.ErrorCount)
	for _, e := range imp.Errors {
		fmt.Fprintf(w, "  %s line %d: %s\n", e.File, e.Line, e.Message)
	}
	if more := imp.ErrorCount - len(imp.Errors); more > 0 {
		fmt.Fprintf(w, "  … and %d more\n", more)
	}
}
