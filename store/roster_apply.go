package store

import (
	"cmp"
	"context"
	"fmt"

	"whitecross/roster"
)

// apply writes the staged actions: locations first (one transaction: a
// district has hundreds, not thousands), then people range by range, then
// guardianships (both ends exist by then), then, for a full import, the
// deactivation of those it no longer lists.
func (r *rosterRun) apply(ctx context.Context) error {
	if err := r.applyLocations(ctx); err != nil {
		return err
	}
	t, err := r.s.findTenant(ctx, r.s.db.Reader(), `id = $1`, r.tenantID)
	if err != nil {
		return err
	}
	locale := cmp.Or(t.Settings.DefaultLocale, defaultLocale)
	now := r.s.db.now()
	extra := []any{now, locale, t.Timezone}
	for _, statements := range [][]rosterStmt{applyPeople, applyGuardians} {
		if err := r.eachRange(ctx, func(tx *Tx, args []any) error { return runAll(ctx, tx, statements, args, extra) }); err != nil {
			return err
		}
	}
	if r.set.Manifest.Users != roster.Bulk {
		return nil
	}
	return r.deactivateMissing(ctx, now)
}

// rosterStmt is a statement over one range: its args are the range's
// ($1–$4: tenant, import, range) and the first extras of now ($5), the
// district's locale ($6) and time zone ($7) for new users.
type rosterStmt struct {
	q      string
	extras int
}

// runAll runs statements in order in tx.
func runAll(ctx context.Context, tx *Tx, statements []rosterStmt, args, extra []any) error {
	for i, st := range statements {
		if _, err := tx.Exec(ctx, st.q, append(args[:4:4], extra[:st.extras]...)...); err != nil {
			return fmt.Errorf("roster apply (%d): %w", i, err)
		}
	}
	return nil
}

// applyLocations creates and updates locations, then hangs each from its
// parent (created in the same step, so parents come last).
func (r *rosterRun) applyLocations(ctx context.Context) error {
	root, err := r.districtRoot(ctx)
	if err != nil {
		return err
	}
	now := r.s.db.now()
	return r.s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO locations (id, tenant_id, name, kind, parent_id, created_at, external_id)
			SELECT new_id, $1, name, location_kind, NULL, $3, sourced_id FROM roster_rows WHERE `+stagedOrgs+` AND action = 'create'`,
			r.tenantID, r.importID, now); err != nil {
			return fmt.Errorf("roster create locations: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE locations SET name = roster_rows.name, kind = roster_rows.location_kind,
			external_id = roster_rows.sourced_id FROM roster_rows
			WHERE `+stagedOrgs+` AND roster_rows.action = 'update' AND locations.id = roster_rows.match_id`,
			r.tenantID, r.importID); err != nil {
			return fmt.Errorf("roster update locations: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE locations SET parent_id = `+orgParent+` FROM roster_rows
			WHERE `+stagedOrgs+` AND roster_rows.action IN ('create', 'update') AND locations.id = `+recordID("roster_rows"),
			r.tenantID, r.importID, root); err != nil {
			return fmt.Errorf("roster locate locations: %w", err)
		}
		return nil
	})
}

// Rows of one range whose record the import writes.
const (
	writtenUsers    = stagedUsers + rangeCond + ` AND roster_rows.action IN ('create', 'update')`
	writtenStudents = stagedStudents + rangeCond + ` AND roster_rows.action IN ('create', 'update')`
)

// applyPeople are the statements of one range of people; args: tenant,
// import, range ($3, $4), now ($5), the district's locale ($6) and time
// zone ($7) for new users.
var applyPeople = []rosterStmt{
	{`INSERT INTO users (id, tenant_id, email, name, role, phone, locale, timezone, password_hash, created_at, updated_at, external_id)
	SELECT new_id, $1, email, name, role, phone, $6, $7, '', $5, $5, sourced_id FROM roster_rows
	WHERE ` + stagedUsers + rangeCond + ` AND roster_rows.action = 'create'`, 3},
	{`UPDATE users SET name = roster_rows.name, email = roster_rows.email, role = roster_rows.role, phone = roster_rows.phone,
		deactivated_at = CASE WHEN roster_rows.enabled THEN NULL ELSE COALESCE(users.deactivated_at, $5) END, updated_at = $5
	FROM roster_rows WHERE ` + stagedUsers + rangeCond + ` AND roster_rows.action = 'update' AND users.id = roster_rows.match_id`, 1},
	{`UPDATE users SET deactivated_at = $5, updated_at = $5 FROM roster_rows
	WHERE ` + stagedUsers + rangeCond + ` AND roster_rows.action = 'deactivate' AND users.id = roster_rows.match_id`, 1},
	// A deactivated person is signed out everywhere.
	{`UPDATE sessions SET revoked_at = $5 WHERE revoked_at IS NULL AND user_id IN (SELECT roster_rows.match_id FROM roster_rows
	WHERE ` + stagedUsers + rangeCond + ` AND (roster_rows.action = 'deactivate' OR (roster_rows.action = 'update' AND NOT roster_rows.enabled)))`, 1},
	// Contact points follow the user's email and phone; unchanged ones
	// keep their verification and opt-out.
	{`DELETE FROM contact_points WHERE kind IN ('EMAIL', 'PHONE') AND user_id IN (SELECT ` + recordID("roster_rows") + ` FROM roster_rows
	WHERE ` + writtenUsers + `) AND address <> (SELECT CASE contact_points.kind WHEN 'EMAIL' THEN u.email ELSE u.phone END
		FROM users u WHERE u.id = contact_points.user_id)`, 0},
	{`INSERT INTO contact_points (id, tenant_id, user_id, kind, address, created_at)
	SELECT email_point_id, $1, ` + recordID("roster_rows") + `, 'EMAIL', email, $5 FROM roster_rows WHERE ` + writtenUsers + ` AND email <> ''
	ON CONFLICT (user_id, kind, address) DO NOTHING`, 1},
	{`INSERT INTO contact_points (id, tenant_id, user_id, kind, address, created_at)
	SELECT phone_point_id, $1, ` + recordID("roster_rows") + `, 'PHONE', phone, $5 FROM roster_rows WHERE ` + writtenUsers + ` AND phone <> ''
	ON CONFLICT (user_id, kind, address) DO NOTHING`, 1},
	// Staff are where the roster says; guardians are where their students are.
	{`DELETE FROM user_locations WHERE user_id IN (SELECT ` + recordID("roster_rows") + ` FROM roster_rows WHERE ` + writtenUsers + `)`, 0},
	{`INSERT INTO user_locations (tenant_id, user_id, location_id) SELECT $1, p.left_id, p.right_id
	FROM roster_pairs p JOIN roster_rows ON p.import_id = roster_rows.import_id AND p.kind = 'location' AND p.left_id = ` + recordID("roster_rows") + `
	WHERE ` + writtenUsers + ` AND roster_rows.role <> 'GUARDIAN'`, 0},
	{`INSERT INTO students (id, tenant_id, name, location_id, grade, created_at, external_id)
	SELECT new_id, $1, name, ` + studentSchoolSQL + `, grade, $5, sourced_id FROM roster_rows
	WHERE ` + stagedStudents + rangeCond + ` AND roster_rows.action = 'create'`, 1},
	{`UPDATE students SET name = roster_rows.name, grade = roster_rows.grade, location_id = ` + studentSchoolSQL + `,
		deactivated_at = CASE WHEN roster_rows.enabled THEN NULL ELSE COALESCE(students.deactivated_at, $5) END
	FROM roster_rows WHERE ` + stagedStudents + rangeCond + ` AND roster_rows.action = 'update' AND students.id = roster_rows.match_id`, 1},
	{`UPDATE students SET deactivated_at = $5 FROM roster_rows
	WHERE ` + stagedStudents + rangeCond + ` AND roster_rows.action = 'deactivate' AND students.id = roster_rows.match_id`, 1},
}

// studentSchoolSQL is a staged student's school.
var studentSchoolSQL = orgRef("roster_rows.parent_sourced_id")

// applyGuardians replace the imported guardianships of the students of one
// range with the wanted ones; links made by hand stay, and so do links to
// a guardian whose row was bad this time.
var applyGuardians = []rosterStmt{
	{`DELETE FROM guardianships WHERE imported AND student_id IN (SELECT roster_rows.match_id FROM roster_rows WHERE ` + writtenStudents + `)
	AND NOT EXISTS (SELECT 1 FROM roster_rows g WHERE g.import_id = $2 AND g.kind = 'user' AND g.skipped AND g.match_id = guardianships.user_id)`, 0},
	{`INSERT INTO guardianships (tenant_id, student_id, user_id, custody, imported) SELECT $1, p.left_id, p.right_id, p.custody, TRUE
	FROM roster_pairs p JOIN roster_rows ON p.import_id = roster_rows.import_id AND p.kind = 'guardian' AND p.left_id = ` + recordID("roster_rows") + `
	WHERE ` + writtenStudents + `
	ON CONFLICT (student_id, user_id) DO UPDATE SET custody = excluded.custody, imported = TRUE`, 0},
}

// deactivateMissing deactivates, rosterRange at a time, the imported
// people a full import no longer lists, and signs them out.
func (r *rosterRun) deactivateMissing(ctx context.Context, now any) error {
	for _, step := range []string{
		`UPDATE sessions SET revoked_at = $3 WHERE revoked_at IS NULL AND user_id IN (SELECT u.id ` + missingUsers + `)`,
		`UPDATE users SET deactivated_at = $3, updated_at = $3 WHERE id IN (SELECT u.id ` + missingUsers + ` ORDER BY u.id LIMIT ` + fmt.Sprint(rosterRange) + `)`,
		`UPDATE students SET deactivated_at = $3 WHERE id IN (SELECT st.id ` + missingStudents + ` ORDER BY st.id LIMIT ` + fmt.Sprint(rosterRange) + `)`,
	} {
		for {
			n, err := r.exec(ctx, "deactivate", step, r.tenantID, r.importID, now)
			if err != nil {
				return err
			}
			if err := r.heartbeat(ctx); err != nil {
				return err
			}
			if n < rosterRange {
				break
			}
		}
	}
	return nil
}
