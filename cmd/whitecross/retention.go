package main

import (
	"context"
	"fmt"
	"io"

	"whitecross/store"
)

// retention runs the purge that the daily job runs, now: for operators
// who want to see what a retention setting removes (--dry-run) or to
// apply it at once. It prints the counts per district.
func (p *program) retention(ctx context.Context, _ string, args []string) error {
	fs, sf := p.newFlagSet("retention run", false)
	slug := fs.String("tenant", "", "slug of one district (default: every district with retention_days set)")
	dryRun := fs.Bool("dry-run", false, "count what would be deleted, and delete nothing")
	help := verbHelp("retention run [--tenant SLUG] [--dry-run]",
		"Deletes the messages older than each district's retention_days (0 keeps everything) with their recipients, deliveries, "+
			"events and idempotency keys, except those under a legal hold, in short batches; each district's run is audited "+
			"(retention.purged). The server does the same every day at 07:00 UTC.", fs)
	if err := p.parseFlags(fs, args, help); err != nil {
		return err
	}
	a, err := p.open(ctx, sf, true)
	if err != nil {
		return err
	}
	defer a.Close()
	runs, err := a.store.PurgeExpired(ctx, store.PurgeOptions{TenantSlug: *slug, DryRun: *dryRun})
	printPurgeRuns(p.stdout, runs, *dryRun)
	return err
}

// printPurgeRuns writes the counts of each district's run.
func printPurgeRuns(w io.Writer, runs []*store.PurgeRun, dry bool) {
	verb := "Purged"
	if dry {
		verb = "Dry run (nothing deleted): would purge"
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "No district has retention_days set: nothing to purge.")
	}
	for _, r := range runs {
		fmt.Fprintf(w, "%s %s: messages before %s (%d days)\n", verb, r.TenantSlug, r.Before.Format("2006-01-02 15:04 MST"), r.RetentionDays)
		fmt.Fprintf(w, "  messages: %d, recipients: %d, deliveries: %d, delivery events: %d, idempotency keys: %d, events: %d\n",
			r.Messages, r.Recipients, r.Deliveries, r.DeliveryEvents, r.IdempotencyKeys, r.Events)
		fmt.Fprintf(w, "  kept under a legal hold: %d\n", r.Held)
	}
}
