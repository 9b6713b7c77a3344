package store

import (
	"context"
	"fmt"

	"whitecross"
	"whitecross/roster"
)

type rosterCountsT = whitecross.RosterCounts

// Imported people that a full (bulk) users.csv no longer lists: their rows
// are gone, and no bad row stands for them.
const (
	missingUsers = `FROM users u WHERE u.tenant_id = $1 AND u.external_id <> '' AND u.deactivated_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM roster_rows r WHERE r.import_id = $2 AND r.kind = 'user' AND (NOT r.student OR r.skipped)
			AND r.sourced_id = u.external_id)`
	missingStudents = `FROM students st WHERE st.tenant_id = $1 AND st.external_id <> '' AND st.deactivated_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM roster_rows r WHERE r.import_id = $2 AND r.kind = 'user' AND (r.student OR r.skipped)
			AND r.sourced_id = st.external_id)`
)

// count adds up the staged actions and, for a full import, the people it
// no longer lists.
func (r *rosterRun) count(ctx context.Context) (rosterCountsT, error) {
	var c rosterCountsT
	rows, err := r.s.db.Reader().Query(ctx, `SELECT kind, student, action, COUNT(*) FROM roster_rows
		WHERE `+scoped+` AND action <> '' GROUP BY kind, student, action`, r.tenantID, r.importID)
	if err != nil {
		return c, fmt.Errorf("roster count: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, action string
		var student bool
		var n int
		if err := rows.Scan(&kind, &student, &action, &n); err != nil {
			return c, fmt.Errorf("roster count: %w", err)
		}
		addCount(&c, kind, student, action, n)
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("roster count: %w", err)
	}
	if r.set.Manifest.Users != roster.Bulk {
		return c, nil
	}
	for _, m := range []struct {
		from string
		dst  *int
	}{{missingUsers, &c.Users.Deactivated}, {missingStudents, &c.Students.Deactivated}} {
		var n int
		if err := r.s.db.Reader().QueryRow(ctx, `SELECT COUNT(*) `+m.from, r.tenantID, r.importID).Scan(&n); err != nil {
			return c, fmt.Errorf("roster count missing: %w", err)
		}
		*m.dst += n
	}
	return c, nil
}

// addCount adds n rows of one kind and action to c.
func addCount(c *rosterCountsT, kind string, student bool, action string, n int) {
	if kind == "org" {
		switch action {
		case "create":
			c.Locations.Created += n
		case "update":
			c.Locations.Updated += n
		}
		return
	}
	p := &c.Users
	if student {
		p = &c.Students
	}
	switch action {
	case "create":
		p.Created += n
	case "update":
		p.Updated += n
	case "deactivate":
		p.Deactivated += n
	}
}
