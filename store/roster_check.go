package store

import (
	"context"
	"fmt"

	"whitecross"
)

// peopleCheck is a rule over staged people that the rows of a file cannot
// check alone: cond selects the rows that break it (SQL over roster_rows),
// message says why for one of them.
type peopleCheck struct {
	cond    string
	message func(email string) string
}

var peopleChecks = []peopleCheck{
	{cond: stagedUsers + live + ` AND roster_rows.email <> '' AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = $1
		AND u.email = roster_rows.email AND u.email <> '' AND (roster_rows.match_id IS NULL OR u.id <> roster_rows.match_id))`,
		message: func(email string) string {
			return fmt.Sprintf("email %s already belongs to another user (made by hand, or imported with another sourcedId); this row is skipped", email)
		}},
	{cond: stagedUsers + live + ` AND roster_rows.email <> '' AND EXISTS (SELECT 1 FROM roster_rows e WHERE e.import_id = $2
		AND e.kind = 'user' AND NOT e.student AND NOT e.skipped AND NOT e.deleted AND e.email = roster_rows.email AND e.line < roster_rows.line)`,
		message: func(email string) string {
			return fmt.Sprintf("email %s is on an earlier row of users.csv too; this row is skipped", email)
		}},
	{cond: stagedStudents + live + ` AND ` + orgRef("roster_rows.parent_sourced_id") + ` IS NULL`,
		message: func(string) string {
			return "orgSourcedIds names no school of orgs.csv or of an earlier import; this row is skipped"
		}},
}

// checkPeople marks the staged people that break a peopleCheck skipped and
// reports them.
func (r *rosterRun) checkPeople(ctx context.Context) error {
	for _, c := range peopleChecks {
		if err := r.skipWhere(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// skipWhere reports the first rows breaking c (as many as the report
// keeps), then marks them all skipped and counts them.
func (r *rosterRun) skipWhere(ctx context.Context, c peopleCheck) error {
	room := max(whitecross.MaxRosterRowErrors-len(r.errs.list), 0)
	rows, err := r.s.db.Reader().Query(ctx, `SELECT line, email FROM roster_rows WHERE `+c.cond+` ORDER BY line LIMIT $3`,
		r.tenantID, r.importID, room)
	if err != nil {
		return fmt.Errorf("roster check: %w", err)
	}
	listed := 0
	for rows.Next() {
		var e whitecross.RosterRowError
		var email string
		if err := rows.Scan(&e.Line, &email); err != nil {
			rows.Close()
			return fmt.Errorf("roster check: %w", err)
		}
		e.File, e.Message = "users.csv", c.message(email)
		r.errs.add(e)
		listed++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("roster check: %w", err)
	}
	n, err := r.exec(ctx, "check", `UPDATE roster_rows SET skipped = TRUE WHERE `+c.cond, r.tenantID, r.importID)
	r.errs.count += int(n) - listed
	return err
}
