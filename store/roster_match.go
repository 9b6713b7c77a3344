package store

import (
	"context"
	"fmt"
)

// do runs the import's steps; the counts are what it changes (or, for a
// dry run, would change).
func (r *rosterRun) do(ctx context.Context) (counts rosterCountsT, err error) {
	steps := []func(context.Context) error{r.stage, r.analyze, r.match, r.adoptDistrict, r.checkPeople, r.wantPairs, r.analyze, r.classify}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return counts, err
		}
	}
	if counts, err = r.count(ctx); err != nil || r.dryRun {
		return counts, err
	}
	return counts, r.apply(ctx)
}

// Staged rows by what they stand for, as SQL conditions on roster_rows:
// always of import $2, which must be tenant $1's.
const (
	scoped         = `roster_rows.import_id = $2 AND EXISTS (SELECT 1 FROM roster_imports ri WHERE ri.id = $2 AND ri.tenant_id = $1)`
	stagedOrgs     = scoped + ` AND roster_rows.kind = 'org'`
	stagedPeople   = scoped + ` AND roster_rows.kind = 'user'`
	stagedUsers    = stagedPeople + ` AND NOT roster_rows.student`
	stagedStudents = stagedPeople + ` AND roster_rows.student`
	// live rows are applied: not reported bad, not marked for deletion.
	live = ` AND NOT roster_rows.skipped AND NOT roster_rows.deleted`
)

// match finds the existing record of every staged row by external_id.
func (r *rosterRun) match(ctx context.Context) error {
	if _, err := r.exec(ctx, "match locations", `UPDATE roster_rows SET match_id =
		(SELECT l.id FROM locations l WHERE l.tenant_id = $1 AND l.external_id = roster_rows.sourced_id AND l.external_id <> '')
		WHERE `+stagedOrgs, r.tenantID, r.importID); err != nil {
		return err
	}
	return r.eachRange(ctx, func(tx *Tx, args []any) error {
		for _, q := range []string{
			`UPDATE roster_rows SET match_id = (SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.external_id = roster_rows.sourced_id AND u.external_id <> '')
			WHERE ` + stagedUsers + rangeCond,
			`UPDATE roster_rows SET match_id = (SELECT st.id FROM students st WHERE st.tenant_id = $1 AND st.external_id = roster_rows.sourced_id AND st.external_id <> '')
			WHERE ` + stagedStudents + rangeCond,
		} {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("roster match people: %w", err)
			}
		}
		return nil
	})
}

// adoptDistrict makes the district's own root location the staged
// district's record on the first import: a district made at sign-up is
// the one its roster describes, not a second one beside it. Only when
// there is no doubt: one new staged district, one root district made by
// hand, and no imported district yet.
func (r *rosterRun) adoptDistrict(ctx context.Context) error {
	_, err := r.exec(ctx, "adopt district", `UPDATE roster_rows SET match_id =
		(SELECT l.id FROM locations l WHERE l.tenant_id = $1 AND l.kind = 'DISTRICT' AND l.parent_id IS NULL AND l.external_id = '')
		WHERE `+stagedOrgs+live+` AND roster_rows.location_kind = 'DISTRICT' AND roster_rows.match_id IS NULL
		AND (SELECT COUNT(*) FROM roster_rows d WHERE d.import_id = $2 AND d.kind = 'org' AND d.location_kind = 'DISTRICT'
			AND NOT d.skipped AND NOT d.deleted) = 1
		AND (SELECT COUNT(*) FROM locations l WHERE l.tenant_id = $1 AND l.kind = 'DISTRICT' AND l.parent_id IS NULL AND l.external_id = '') = 1
		AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.tenant_id = $1 AND l.kind = 'DISTRICT' AND l.external_id <> '')`,
		r.tenantID, r.importID)
	return err
}

// orgRef is the SQL of the location id an org sourcedId (the SQL
// expression sid) stands for: a live staged org's record (existing or
// new), else an existing imported location; NULL when neither.
func orgRef(sid string) string {
	return `COALESCE((SELECT COALESCE(o.match_id, o.new_id) FROM roster_rows o WHERE o.import_id = $2 AND o.kind = 'org'
		AND o.sourced_id = ` + sid + ` AND NOT o.skipped AND NOT o.deleted),
		(SELECT l.id FROM locations l WHERE l.tenant_id = $1 AND l.external_id = ` + sid + ` AND l.external_id <> ''))`
}

// recordID is the SQL of a staged row's record id (existing or new).
func recordID(alias string) string { return `COALESCE(` + alias + `.match_id, ` + alias + `.new_id)` }

// analyze refreshes PostgreSQL's statistics of the staging tables once
// they are filled: planned as the empty tables autovacuum last saw, a
// join over 100,000 staged rows becomes a scan per row.
func (r *rosterRun) analyze(ctx context.Context) error {
	if r.s.db.pool == nil {
		return nil // SQLite plans by its indexes without statistics
	}
	_, err := r.s.db.pool.Exec(ctx, `ANALYZE roster_rows, roster_links, roster_pairs`)
	if err != nil {
		return fmt.Errorf("roster analyze: %w", err)
	}
	return nil
}
