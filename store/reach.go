package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"whitecross"
)

// This file holds, in one place, who may message whom and who administers
// whom. Every rule is SQL over the caller's locations so that listings and
// permission checks of tens of thousands of users are one query each.
//
// Messaging (a location includes every location below it; only active users
// are reachable, never the caller):
//   - ADMIN and the system: anyone in the tenant.
//   - SCHOOL_ADMIN, NURSE, STAFF: non-guardian users with a location that is
//     an ancestor-or-self or a descendant-or-self of one of the caller's, and
//     guardians with custody of a student whose location is in the caller's
//     scope (the caller's locations and their descendants). A guardian's own
//     location_ids give no reach: guardians are reached through custody only.
//   - GUARDIAN: SCHOOL_ADMIN, NURSE and STAFF users with a location that is an
//     ancestor-or-self of the location of a student the guardian has custody of.
//   - Non-custodial guardianships give no reach in either direction, and
//     show the contact nothing of the student (visibleStudent).
//
// Administration:
//   - ADMIN and the system: everyone in the tenant.
//   - SCHOOL_ADMIN: non-ADMIN users with a location in their scope, and
//     guardians (any custody) of a student whose location is in their scope.
//   - everyone else: nobody.

// reachWith defines the caller's location sets. Every query built on it binds
// $1 to the tenant and $2 to the caller's user id.
const reachWith = `WITH RECURSIVE
reach_own(id) AS (
	SELECT location_id FROM user_locations WHERE tenant_id = $1 AND user_id = $2),
reach_scope(id) AS (
	SELECT id FROM reach_own
	UNION SELECT l.id FROM locations l JOIN reach_scope sc ON l.parent_id = sc.id WHERE l.tenant_id = $1),
reach_above(id) AS (
	SELECT id FROM reach_own
	UNION SELECT l.parent_id FROM locations l JOIN reach_above ab ON l.id = ab.id WHERE l.parent_id IS NOT NULL),
reach_near(id) AS (
	SELECT id FROM reach_scope UNION SELECT id FROM reach_above),
reach_custody(id) AS (
	SELECT cs.location_id FROM guardianships cg JOIN students cs ON cs.id = cg.student_id
		WHERE cg.tenant_id = $1 AND cg.user_id = $2 AND cg.custody AND cs.deactivated_at IS NULL
	UNION SELECT l.parent_id FROM locations l JOIN reach_custody cu ON l.id = cu.id WHERE l.parent_id IS NOT NULL)
`

// noUser stands in for the caller's id when the caller is the system, so
// that "never the caller" excludes nobody and $2 stays a valid uuid.
const noUser = "00000000-0000-0000-0000-000000000000"

// parseIDs returns the canonical form of each of ids that is a UUID, each
// once, in the order given; ids that are not UUIDs name nothing and are
// dropped.
func parseIDs(ids []string) []string {
	canon := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if c, ok := parseID(id); ok && !seen[c] {
			seen[c] = true
			canon = append(canon, c)
		}
	}
	return canon
}

// parseID returns the canonical (lower-case) form of a UUID, so that both
// dialects compare ids alike, and whether s was a UUID at all.
func parseID(s string) (string, bool) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// caller returns the authenticated caller in ctx. EUNAUTHORIZED without one.
func caller(ctx context.Context) (*whitecross.Actor, error) {
	a, err := whitecross.RequireActor(ctx)
	if err != nil {
		return nil, err
	}
	if !validUUID(a.TenantID) || (!a.System && !validUUID(a.UserID)) {
		return nil, whitecross.Errorf(whitecross.EUNAUTHORIZED, "authentication required")
	}
	return a, nil
}

// reach builds the SQL of the rules for one caller.
type reach struct{ a *whitecross.Actor }

// all reports whether the caller bypasses the location rules.
func (r reach) all() bool { return r.a.System || r.a.Role == whitecross.RoleAdmin }

// args returns $1 and $2 of every reach query.
func (r reach) args() []any {
	id, ok := parseID(r.a.UserID)
	if !ok {
		id = noUser
	}
	return []any{r.a.TenantID, id}
}

// messageable is a condition on the users row aliased u: the caller may
// message that user. It is written as correlated EXISTS so that a page of a
// keyset listing probes only the rows it returns (SQLite would otherwise
// build and sort the whole reachable set per page); PostgreSQL still hashes
// the subqueries when that is cheaper. Measured with 30,000 users: about
// 2-15 ms per page of 100 and 80-250 ms to filter 10,000 ids on either dialect.
func (r reach) messageable(u string) string {
	base := u + `.deactivated_at IS NULL AND ` + u + `.id <> $2`
	switch {
	case r.all():
		return `(` + base + `)`
	case r.a.Role.IsStaff():
		return `(` + base + ` AND ((` + u + `.role <> 'GUARDIAN' AND EXISTS (SELECT 1 FROM user_locations rl
			WHERE rl.user_id = ` + u + `.id AND rl.location_id IN (SELECT id FROM reach_near)))
		OR (` + u + `.role = 'GUARDIAN' AND EXISTS (SELECT 1 FROM guardianships rg JOIN students rs ON rs.id = rg.student_id
			WHERE rg.user_id = ` + u + `.id AND rg.custody AND rs.deactivated_at IS NULL AND rs.location_id IN (SELECT id FROM reach_scope)))))`
	case r.a.Role == whitecross.RoleGuardian:
		return `(` + base + ` AND ` + u + `.role IN ('SCHOOL_ADMIN', 'NURSE', 'STAFF') AND EXISTS (SELECT 1 FROM user_locations rl
			WHERE rl.user_id = ` + u + `.id AND rl.location_id IN (SELECT id FROM reach_custody)))`
	}
	return `(1 = 0)`
}

// administers is a condition on the users row aliased u: the caller may
// update and deactivate that user.
func (r reach) administers(u string) string {
	switch {
	case r.all():
		return `(1 = 1)`
	case r.a.Role == whitecross.RoleSchoolAdmin:
		return `(` + u + `.role <> 'ADMIN' AND (
		EXISTS (SELECT 1 FROM user_locations rl WHERE rl.user_id = ` + u + `.id AND rl.location_id IN (SELECT id FROM reach_scope))
		OR EXISTS (SELECT 1 FROM guardianships rg JOIN students rs ON rs.id = rg.student_id
			WHERE rg.user_id = ` + u + `.id AND rs.deactivated_at IS NULL AND rs.location_id IN (SELECT id FROM reach_scope))))`
	}
	return `(1 = 0)`
}

// visibleUser is a condition on the users row aliased u: the caller may read
// the user (themselves, or one they may message or administer).
func (r reach) visibleUser(u string) string {
	return `(` + u + `.id = $2 OR ` + r.messageable(u) + ` OR ` + r.administers(u) + `)`
}

// visibleStudent is a condition on the students row aliased s: ADMIN all;
// staff the students in their scope; guardians the children they have
// custody of. A non-custodial contact sees nothing of the student (not its
// school, grade or name): the link exists so staff know whom not to tell.
func (r reach) visibleStudent(s string) string {
	switch {
	case r.all():
		return `(1 = 1)`
	case r.a.Role.IsStaff():
		return `(` + s + `.location_id IN (SELECT id FROM reach_scope))`
	case r.a.Role == whitecross.RoleGuardian:
		return `EXISTS (SELECT 1 FROM guardianships vg WHERE vg.student_id = ` + s + `.id AND vg.user_id = $2 AND vg.custody)`
	}
	return `(1 = 0)`
}

// visibleGroup is a condition on the user_groups row aliased g: the caller
// may message the group. ADMIN all; its creator; a staff member who may
// message every active member but themselves; guardians none.
func (r reach) visibleGroup(g string) string {
	switch {
	case r.all():
		return `(1 = 1)`
	case r.a.Role.IsStaff():
		return `(` + g + `.created_by = $2 OR NOT EXISTS (SELECT 1 FROM group_members gm JOIN users mu ON mu.id = gm.user_id
			WHERE gm.group_id = ` + g + `.id AND mu.id <> $2 AND mu.deactivated_at IS NULL AND NOT ` + r.messageable("mu") + `))`
	}
	return `(1 = 0)`
}

// locationScope is the set of locations a caller administers.
type locationScope struct {
	all bool
	ids map[string]bool
}

func (sc locationScope) has(id string) bool { return sc.all || sc.ids[id] }

// scopeOf returns the locations the caller administers: every location for
// ADMIN and the system, the caller's locations and their descendants for a
// SCHOOL_ADMIN, none for anyone else.
func (s *Store) scopeOf(ctx context.Context, q Querier, a *whitecross.Actor) (locationScope, error) {
	r := reach{a}
	if r.all() {
		return locationScope{all: true}, nil
	}
	sc := locationScope{ids: map[string]bool{}}
	if a.Role != whitecross.RoleSchoolAdmin {
		return sc, nil
	}
	rows, err := q.Query(ctx, reachWith+`SELECT id FROM reach_scope`, r.args()...)
	if err != nil {
		return sc, fmt.Errorf("location scope: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return sc, fmt.Errorf("location scope: %w", err)
		}
		sc.ids[id] = true
	}
	return sc, rows.Err()
}

// FilterMessageable implements whitecross.UserService: the subset of ids
// (at most 10,000) the caller may message, keyed as given. Ids of other
// tenants, unknown or malformed ids and deactivated users are left out.
// EINVALID for more than 10,000 ids; EUNAUTHORIZED without a caller.
func (s *Store) FilterMessageable(ctx context.Context, ids []string) (map[string]bool, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.filterMessageable(ctx, s.db.Reader(), a, ids)
}

// filterMessageable checks every id in one query, whatever their number:
// the ids travel as one array parameter (no IN list to bind per id, no
// batch that evaluates the caller's locations again), each is a primary-key
// probe of users, and the reach rules are index probes of user_locations
// (user_id first) and guardianships_user on the rows found.
func (s *Store) filterMessageable(ctx context.Context, q Querier, a *whitecross.Actor, ids []string) (map[string]bool, error) {
	if len(ids) > maxGroupMembers {
		return nil, whitecross.Errorf(whitecross.EINVALID, "At most %d ids can be checked at once.", maxGroupMembers)
	}
	given := make(map[string][]string, len(ids)) // canonical id -> the spellings given
	for _, id := range ids {
		if c, ok := parseID(id); ok {
			given[c] = append(given[c], id)
		}
	}
	out := make(map[string]bool, len(given))
	canon := parseIDs(ids)
	if len(canon) == 0 {
		return out, nil
	}
	list, err := s.db.idsArg(canon)
	if err != nil {
		return nil, fmt.Errorf("filter messageable: %w", err)
	}
	r := reach{a}
	rows, err := q.Query(ctx, reachWith+`SELECT u.id FROM users u WHERE u.tenant_id = $1 AND `+
		s.db.inIDs("u.id", "$3")+` AND `+r.messageable("u"), append(r.args(), list)...)
	if err != nil {
		return nil, fmt.Errorf("filter messageable: %w", err)
	}
	got, err := collect(rows, scanLowerID)
	if err != nil {
		return nil, fmt.Errorf("filter messageable: %w", err)
	}
	for _, id := range got {
		for _, g := range given[id] {
			out[g] = true
		}
	}
	return out, nil
}
