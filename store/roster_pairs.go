package store

import "context"

// wantPairs writes what the import wants linked, by record id: each
// student's guardians (from either side's agentSourcedIds: SIS exports
// fill one or the other) and each staff member's locations. Links are
// made between rows of the same import.
func (r *rosterRun) wantPairs(ctx context.Context) error {
	if _, err := r.exec(ctx, "guardians", `INSERT INTO roster_pairs (import_id, kind, left_id, right_id, custody)
		SELECT DISTINCT k.import_id, 'guardian', `+recordID("s")+`, `+recordID("g")+`, g.custody
		FROM roster_links k JOIN roster_imports ri ON ri.id = k.import_id AND ri.tenant_id = $1
		JOIN roster_rows s ON s.import_id = k.import_id AND s.kind = 'user' AND s.student
			AND s.sourced_id IN (k.sourced_id, k.target_id)
		JOIN roster_rows g ON g.import_id = k.import_id AND g.kind = 'user' AND NOT g.student AND g.role = 'GUARDIAN'
			AND g.sourced_id IN (k.sourced_id, k.target_id) AND g.sourced_id <> s.sourced_id
		WHERE k.import_id = $2 AND k.kind = 'agent'
			AND NOT s.skipped AND NOT s.deleted AND NOT g.skipped AND NOT g.deleted`,
		r.tenantID, r.importID); err != nil {
		return err
	}
	_, err := r.exec(ctx, "staff locations", `INSERT INTO roster_pairs (import_id, kind, left_id, right_id)
		SELECT DISTINCT k.import_id, 'location', `+recordID("roster_rows")+`, `+orgRef("k.target_id")+`
		FROM roster_links k JOIN roster_rows ON roster_rows.import_id = k.import_id AND roster_rows.kind = 'user'
			AND NOT roster_rows.student AND roster_rows.role <> 'GUARDIAN' AND roster_rows.sourced_id = k.sourced_id
		WHERE k.import_id = $2 AND k.kind = 'org'`+live+` AND `+orgRef("k.target_id")+` IS NOT NULL`,
		r.tenantID, r.importID)
	return err
}
