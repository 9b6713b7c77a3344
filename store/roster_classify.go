package store

import (
	"context"
	"fmt"
)

// Conditions under which a staged row changes its existing record (the
// record aliased l, u or st; the staged row roster_rows).
var (
	orgDiffers = `(l.name <> roster_rows.name OR l.kind <> roster_rows.location_kind OR l.external_id <> roster_rows.sourced_id
		OR l.parent_id IS DISTINCT FROM ` + orgParent + `)`
	userDiffers = `(u.name <> roster_rows.name OR u.email <> roster_rows.email OR u.role <> roster_rows.role
		OR u.phone <> roster_rows.phone OR (u.deactivated_at IS NULL) <> roster_rows.enabled OR ` + locationsDiffer + `)`
	studentDiffers = `(st.name <> roster_rows.name OR st.grade <> roster_rows.grade
		OR st.location_id <> ` + studentSchool + ` OR (st.deactivated_at IS NULL) <> roster_rows.enabled OR ` + guardiansDiffer + `)`
)

// orgParent is a staged org's parent location: the org it names, else
// (for a school) the district root $3.
var orgParent = `CASE WHEN roster_rows.location_kind = 'DISTRICT' THEN ` + orgParentRef + ` ELSE COALESCE(` + orgParentRef + `, $3) END`

var (
	orgParentRef  = orgRef("roster_rows.parent_sourced_id")
	studentSchool = orgRef("roster_rows.parent_sourced_id") // the school of a student's row
)

// locationsDiffer: a staff member's imported locations are not the
// wanted ones (guardians have none: they are where their students are).
const locationsDiffer = `(roster_rows.role <> 'GUARDIAN' AND (
	EXISTS (SELECT 1 FROM roster_pairs p WHERE p.import_id = $2 AND p.kind = 'location' AND p.left_id = u.id
		AND NOT EXISTS (SELECT 1 FROM user_locations ul WHERE ul.user_id = u.id AND ul.location_id = p.right_id))
	OR EXISTS (SELECT 1 FROM user_locations ul WHERE ul.user_id = u.id
		AND NOT EXISTS (SELECT 1 FROM roster_pairs p WHERE p.import_id = $2 AND p.kind = 'location' AND p.left_id = u.id AND p.right_id = ul.location_id))))`

// guardiansDiffer: a student's imported guardianships are not the wanted
// ones (links made by hand are left alone).
const guardiansDiffer = `(
	EXISTS (SELECT 1 FROM roster_pairs p WHERE p.import_id = $2 AND p.kind = 'guardian' AND p.left_id = st.id
		AND NOT EXISTS (SELECT 1 FROM guardianships g WHERE g.student_id = st.id AND g.user_id = p.right_id AND g.custody = p.custody))
	OR EXISTS (SELECT 1 FROM guardianships g WHERE g.student_id = st.id AND g.imported
		AND NOT EXISTS (SELECT 1 FROM roster_pairs p WHERE p.import_id = $2 AND p.kind = 'guardian' AND p.left_id = st.id AND p.right_id = g.user_id)))`

// classify sets each staged row's action.
func (r *rosterRun) classify(ctx context.Context) error {
	root, err := r.districtRoot(ctx)
	if err != nil {
		return err
	}
	if _, err := r.exec(ctx, "classify locations", `UPDATE roster_rows SET action = 'create' WHERE `+stagedOrgs+live+
		` AND match_id IS NULL`, r.tenantID, r.importID); err != nil {
		return err
	}
	if _, err := r.exec(ctx, "classify locations", `UPDATE roster_rows SET action = 'update' WHERE `+stagedOrgs+live+
		` AND EXISTS (SELECT 1 FROM locations l WHERE l.id = roster_rows.match_id AND `+orgDiffers+`)`,
		r.tenantID, r.importID, root); err != nil {
		return err
	}
	return r.eachRange(ctx, func(tx *Tx, args []any) error {
		for _, q := range classifyPeople {
			if _, err := tx.Exec(ctx, q+rangeCond, args...); err != nil {
				return fmt.Errorf("roster classify people: %w", err)
			}
		}
		return nil
	})
}

// classifyPeople are the statements that set the actions of staged users
// and students (each completed by rangeCond). A new person who is not
// enabled is not created.
var classifyPeople = []string{
	`UPDATE roster_rows SET action = 'create' WHERE ` + stagedPeople + live + ` AND roster_rows.enabled AND roster_rows.match_id IS NULL`,
	`UPDATE roster_rows SET action = 'update' WHERE ` + stagedUsers + live +
		` AND EXISTS (SELECT 1 FROM users u WHERE u.id = roster_rows.match_id AND ` + userDiffers + `)`,
	`UPDATE roster_rows SET action = 'update' WHERE ` + stagedStudents + live +
		` AND EXISTS (SELECT 1 FROM students st WHERE st.id = roster_rows.match_id AND ` + studentDiffers + `)`,
	`UPDATE roster_rows SET action = 'deactivate' WHERE ` + stagedUsers + ` AND roster_rows.deleted
		AND EXISTS (SELECT 1 FROM users u WHERE u.id = roster_rows.match_id AND u.deactivated_at IS NULL)`,
	`UPDATE roster_rows SET action = 'deactivate' WHERE ` + stagedStudents + ` AND roster_rows.deleted
		AND EXISTS (SELECT 1 FROM students st WHERE st.id = roster_rows.match_id AND st.deactivated_at IS NULL)`,
}

// districtRoot is the location a school hangs from when its parent is not
// imported: the import's one district, else the district's first root.
func (r *rosterRun) districtRoot(ctx context.Context) (*string, error) {
	var root *string
	err := r.s.db.Reader().QueryRow(ctx, `SELECT COALESCE(
		(SELECT `+recordID("d")+` FROM roster_rows d WHERE d.import_id = $2 AND d.kind = 'org' AND d.location_kind = 'DISTRICT'
			AND NOT d.skipped AND NOT d.deleted ORDER BY d.line LIMIT 1),
		(SELECT l.id FROM locations l WHERE l.tenant_id = $1 AND l.kind = 'DISTRICT' AND l.parent_id IS NULL ORDER BY l.created_at, l.id LIMIT 1))`,
		r.tenantID, r.importID).Scan(&root)
	if err != nil {
		return nil, fmt.Errorf("roster district root: %w", err)
	}
	return root, nil
}
