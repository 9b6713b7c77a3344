package store

import (
	"context"
	"fmt"
	"slices"

	"whitecross"
)

// placeNearNonCustodial guards a user update that gives a non-custodial
// contact of a student a staff role near that student: staff reach the
// families of the students in their scope, so it would let a parent whom a
// court keeps from a child message the custodial parent and read the
// child's record. It looks only at what the update adds (every location
// when a guardian becomes staff, the new locations otherwise, the whole
// tenant when someone becomes ADMIN); a location is near a student when it
// lies above, at or below the student's location (reach.go's tree rules).
//
// It returns the ids of the students whose non-custodial link an ADMIN
// (or the system) overrides, for the audit event; a SCHOOL_ADMIN is refused
// with EFORBIDDEN naming body.location_ids.
func (s *Store) placeNearNonCustodial(ctx context.Context, q Querier, a *whitecross.Actor, old, next *whitecross.User) ([]string, error) {
	if next.Role == whitecross.RoleGuardian {
		return nil, nil
	}
	everywhere := next.Role == whitecross.RoleAdmin && old.Role != whitecross.RoleAdmin
	added := next.LocationIDs
	if old.Role != whitecross.RoleGuardian {
		added = slices.DeleteFunc(slices.Clone(next.LocationIDs), func(id string) bool { return slices.Contains(old.LocationIDs, id) })
	}
	if !everywhere && len(added) == 0 {
		return nil, nil
	}
	students, err := nonCustodialNear(ctx, q, next.TenantID, next.ID, added, everywhere)
	if err != nil || len(students) == 0 {
		return nil, err
	}
	if a.System || a.Role == whitecross.RoleAdmin {
		return students, nil
	}
	return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.location_ids", nil,
		"This person is a non-custodial contact of a student at or near one of these locations; only a district ADMIN may place them there.")
}

// custodyNearNonCustodial guards a new student's custodial links the way
// placeNearNonCustodial guards a staff placement: custody of a student
// places the guardian at the student's location, in its staff's reach and
// its audiences, so custody near a student of whom they are a
// non-custodial contact would lead them to that student's school. It
// returns, for the audit event, the guardians whose link an ADMIN (or the
// system) overrides; a SCHOOL_ADMIN is refused with EFORBIDDEN naming
// body.guardians[i].custody. At most maxGuardians lookups.
func custodyNearNonCustodial(ctx context.Context, q Querier, a *whitecross.Actor, locationID string, guardians []whitecross.Guardianship) ([]string, error) {
	var overridden []string
	for i, g := range guardians {
		if !g.Custody {
			continue
		}
		students, err := nonCustodialNear(ctx, q, a.TenantID, g.UserID, []string{locationID}, false)
		if err != nil {
			return nil, err
		}
		if len(students) == 0 {
			continue
		}
		if !a.System && a.Role != whitecross.RoleAdmin {
			return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, fmt.Sprintf("body.guardians[%d].custody", i), nil,
				"This guardian is a non-custodial contact of a student at or near this location; only a district ADMIN may give them custody here.")
		}
		overridden = append(overridden, g.UserID)
	}
	return overridden, nil
}

// nonCustodialNear returns, ordered, the students of whom the user is a
// non-custodial contact and whose location is above, at or below one of
// locations (any location when everywhere).
func nonCustodialNear(ctx context.Context, q Querier, tenantID, userID string, locations []string, everywhere bool) ([]string, error) {
	with, near := ``, `1 = 1`
	args := []any{tenantID, userID}
	if !everywhere {
		with = `WITH RECURSIVE placed_below(id) AS (
	SELECT id FROM locations WHERE tenant_id = $1 AND id IN (` + placeholders(3, len(locations)) + `)
	UNION SELECT l.id FROM locations l JOIN placed_below pb ON l.parent_id = pb.id WHERE l.tenant_id = $1),
placed_above(id) AS (
	SELECT id FROM locations WHERE tenant_id = $1 AND id IN (` + placeholders(3, len(locations)) + `)
	UNION SELECT l.parent_id FROM locations l JOIN placed_above pa ON l.id = pa.id WHERE l.parent_id IS NOT NULL)
`
		near = `(st.location_id IN (SELECT id FROM placed_below) OR st.location_id IN (SELECT id FROM placed_above))`
		args = append(args, anySlice(locations)...)
	}
	rows, err := q.Query(ctx, with+`SELECT DISTINCT st.id FROM guardianships g JOIN students st ON st.id = g.student_id
		WHERE g.tenant_id = $1 AND g.user_id = $2 AND NOT g.custody AND st.deactivated_at IS NULL AND `+near+` ORDER BY st.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("non-custodial links: %w", err)
	}
	out, err := collect(rows, scanLowerID)
	if err != nil {
		return nil, fmt.Errorf("non-custodial links: %w", err)
	}
	return out, nil
}
