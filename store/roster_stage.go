package store

import (
	"context"
	"fmt"
	"strings"

	"whitecross"
	"whitecross/roster"
)

// rosterRun is one import at work.
type rosterRun struct {
	s                  *Store
	tenantID, importID string
	set                *roster.Set
	dryRun             bool
	errs               rosterErrors
}

// rosterStageBatch is how many rows one staging statement writes (15
// values each: well under either dialect's limit on parameters).
const rosterStageBatch = 500

// stagedRow is a row of roster_rows.
type stagedRow struct {
	kind, sourcedID string
	line            int
	student         bool
	name, role      string
	locationKind    string
	parentSourcedID string
	custody         bool
	email, phone    string
	grade           string
	enabled         bool
	deleted         bool
	skipped         bool
	orgs, agents    []string
}

// stager writes a file's rows into roster_rows and roster_links in
// batches, each its own short transaction, so the file streams through.
type stager struct {
	run  *rosterRun
	rows []stagedRow
	err  error // the first failed write; the import stops on it
}

// stage reads orgs.csv then users.csv into the staging tables; bad rows
// are recorded, and staged as skipped when they name a sourcedId.
func (r *rosterRun) stage(ctx context.Context) error {
	st := &stager{run: r}
	bad := func(kind string) func(roster.RowError) {
		return func(e roster.RowError) {
			r.errs.add(e)
			if e.SourcedID != "" {
				_ = st.add(ctx, stagedRow{kind: kind, sourcedID: e.SourcedID, line: e.Line, skipped: true})
			}
		}
	}
	err := r.set.EachOrg(func(o roster.Org) error {
		return st.add(ctx, stagedRow{kind: "org", sourcedID: o.SourcedID, line: o.Line, name: o.Name,
			locationKind: string(o.Kind), parentSourcedID: o.ParentSourcedID, enabled: true, deleted: o.Deleted})
	}, bad("org"))
	if err = st.finish(ctx, err); err != nil {
		return err
	}
	err = r.set.EachUser(func(u roster.User) error {
		school := ""
		if u.Student {
			school = u.Orgs[0] // roster.User guarantees a student has one
		}
		return st.add(ctx, stagedRow{kind: "user", sourcedID: u.SourcedID, line: u.Line, student: u.Student, name: u.Name, parentSourcedID: school,
			role: string(u.Role), custody: u.Custody, email: u.Email, phone: u.Phone, grade: u.Grade,
			enabled: u.Enabled, deleted: u.Deleted, orgs: u.Orgs, agents: u.Agents})
	}, bad("user"))
	return st.finish(ctx, err)
}

// add queues a row, writing the batch when it is full. A failed write
// stops the import at the next row (the bad-row callback cannot return
// it), so add keeps the first error.
func (st *stager) add(ctx context.Context, row stagedRow) error {
	if st.err != nil {
		return st.err
	}
	st.rows = append(st.rows, row)
	if len(st.rows) >= rosterStageBatch {
		st.err = st.flush(ctx)
	}
	return st.err
}

// finish ends a file: its read's error, else a failed write, else the
// last batch written.
func (st *stager) finish(ctx context.Context, readErr error) error {
	if readErr != nil {
		return readErr
	}
	if st.err != nil {
		return st.err
	}
	return st.flush(ctx)
}

// flush writes the queued rows and their links in one transaction. A
// sourcedId already staged (the same person twice in the file) is
// reported and its later rows dropped.
func (st *stager) flush(ctx context.Context) error {
	if len(st.rows) == 0 {
		return nil
	}
	rows := st.rows
	st.rows = st.rows[:0]
	return st.run.s.db.InTx(ctx, func(tx *Tx) error {
		inserted, err := st.insertRows(ctx, tx, rows)
		if err != nil {
			return err
		}
		var links []any
		for _, row := range rows {
			if !inserted[row.sourcedID] {
				st.run.errs.add(whitecross.RosterRowError{File: rosterFile(row.kind), Line: row.line,
					Message: fmt.Sprintf("sourcedId %q is on an earlier line too; this row is skipped", row.sourcedID)})
				continue
			}
			delete(inserted, row.sourcedID) // a repeat within this batch is reported too
			links = appendLinks(links, st.run.importID, row)
		}
		return st.insertLinks(ctx, tx, links)
	})
}

// insertRows writes rows, returning the sourcedIds actually inserted
// (ON CONFLICT DO NOTHING … RETURNING: both dialects).
func (st *stager) insertRows(ctx context.Context, tx *Tx, rows []stagedRow) (map[string]bool, error) {
	const cols = 19
	args := make([]any, 0, len(rows)*cols)
	values := make([]string, len(rows))
	for i, r := range rows {
		values[i] = "(" + st.run.s.db.valuePlaceholders(i*cols+1, cols) + ")"
		args = append(args, st.run.importID, r.kind, r.sourcedID, r.line, newID(), newID(), newID(), r.student, r.name, r.role,
			r.locationKind, r.parentSourcedID, r.custody, r.email, r.phone, r.grade, r.enabled, r.deleted, r.skipped)
	}
	q := `INSERT INTO roster_rows (import_id, kind, sourced_id, line, new_id, email_point_id, phone_point_id, student, name, role,
		location_kind, parent_sourced_id, custody, email, phone, grade, enabled, deleted, skipped) VALUES ` +
		strings.Join(values, ", ") + ` ON CONFLICT DO NOTHING RETURNING sourced_id`
	res, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("stage roster rows: %w", err)
	}
	defer res.Close()
	inserted := make(map[string]bool, len(rows))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			return nil, fmt.Errorf("stage roster rows: %w", err)
		}
		inserted[id] = true
	}
	return inserted, res.Err()
}

// rosterFile is the file a staged kind comes from.
func rosterFile(kind string) string {
	if kind == "org" {
		return "orgs.csv"
	}
	return "users.csv"
}

// appendLinks adds a row's org and agent links as roster_links values.
func appendLinks(args []any, importID string, r stagedRow) []any {
	for _, org := range r.orgs {
		args = append(args, importID, "org", r.sourcedID, org)
	}
	for _, agent := range r.agents {
		args = append(args, importID, "agent", r.sourcedID, agent)
	}
	return args
}

// insertLinks writes links (4 values each) in statements of at most
// rosterStageBatch links; a link given twice is kept once.
func (st *stager) insertLinks(ctx context.Context, tx *Tx, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/4, rosterStageBatch)
		values := make([]string, n)
		for i := range n {
			values[i] = "(" + st.run.s.db.valuePlaceholders(i*4+1, 4) + ")"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO roster_links (import_id, kind, sourced_id, target_id) VALUES `+
			strings.Join(values, ", ")+` ON CONFLICT DO NOTHING`, args[:n*4]...); err != nil {
			return fmt.Errorf("stage roster links: %w", err)
		}
		args = args[n*4:]
	}
	return nil
}
