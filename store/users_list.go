package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"whitecross"
)

// The user directory's listing. Who may be listed at all is the reach rule
// (reach.go); this file filters and pages within it.

// ListUsers implements whitecross.UserService: one page of the active users
// the caller may message, ordered by lower-cased name then id. Query matches
// a substring of the name or email (case-insensitive for ASCII), Role one
// role, LocationID users at that location or below it (guardians count as at
// the locations of their students; for anyone but a district ADMIN only of
// those they have custody of). The cursor is a keyset over (name, id), so
// pages never skip or repeat a user. EINVALID for a limit outside 1..100
// (query.limit), a bad cursor (query.cursor), role (query.role), location
// id (query.location_id) or an over-long search (query.q).
func (s *Store) ListUsers(ctx context.Context, f whitecross.UserFilter) (*whitecross.UserPage, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f.Status = ""
	return s.listUsers(ctx, a, f, reach{a}.messageable("u"))
}

// ListAdministeredUsers implements whitecross.UserService: one page of the
// users the caller administers (reach.administers: the whole district for
// an ADMIN; for a SCHOOL_ADMIN the non-ADMIN users at their locations and
// the guardians of their students), active and deactivated alike unless
// f.Status names one, themselves included, with the ordering, search,
// filters and errors of ListUsers (and query.status for an unknown
// status). EFORBIDDEN for a caller who administers nobody.
func (s *Store) ListAdministeredUsers(ctx context.Context, f whitecross.UserFilter) (*whitecross.UserPage, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r := reach{a}
	if !r.all() && a.Role != whitecross.RoleSchoolAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only administrators list the people they administer.")
	}
	cond := r.administers("u")
	switch f.Status {
	case "":
	case whitecross.UserActive:
		cond += ` AND u.deactivated_at IS NULL`
	case whitecross.UserDeactivated:
		cond += ` AND u.deactivated_at IS NOT NULL`
	default:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.status", string(f.Status), "Status must be ACTIVE or DEACTIVATED.")
	}
	return s.listUsers(ctx, a, f, cond)
}

// listUsers is one keyset page of the tenant's users that meet who (a
// condition on the users row aliased u, over reachWith) and the filter.
func (s *Store) listUsers(ctx context.Context, a *whitecross.Actor, f whitecross.UserFilter, who string) (*whitecross.UserPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	r := reach{a}
	args := queryArgs(r.args())
	with, filters, err := userFilterWhere(a, f, &args)
	if err != nil {
		return nil, err
	}
	where := append([]string{`u.tenant_id = $1`, who}, filters...)
	if f.Cursor != "" {
		name, id, err := decodeUserCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		n, i := args.add(name), args.add(id)
		// The first condition is implied by the second; it lets the index
		// on (tenant_id, LOWER(name), id) start at the cursor.
		where = append(where, `LOWER(u.name) >= `+n, `(LOWER(u.name) > `+n+` OR u.id > `+i+`)`)
	}
	listed, err := queryAll(ctx, s.db.Reader(), scanListedUser, reachWith+with+`SELECT `+userColumns+`, LOWER(u.name)
		FROM users u WHERE `+strings.Join(where, ` AND `)+`
		ORDER BY LOWER(u.name), u.id LIMIT `+args.add(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	page := &whitecross.UserPage{Items: []*whitecross.User{}}
	listed, page.NextCursor = keysetPage(listed, limit, func(last listedUser) string {
		return encodeUserCursor(last.lowerName, last.user.ID)
	})
	for _, l := range listed {
		page.Items = append(page.Items, l.user)
	}
	if err := s.loadLocationIDs(ctx, s.db.Reader(), page.Items); err != nil {
		return nil, err
	}
	return page, nil
}

// userFilterWhere returns the conditions of the filter's search, role and
// location, adding their values to args, and the WITH clauses they need
// (appended to reachWith). EINVALID naming the query parameter at fault.
func userFilterWhere(a *whitecross.Actor, f whitecross.UserFilter, args *queryArgs) (with string, where []string, err error) {
	if q := strings.TrimSpace(f.Query); q != "" {
		if utf8.RuneCountInString(q) > maxQueryLength {
			return "", nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.q", nil, "Search must be at most %d characters.", maxQueryLength)
		}
		p := args.add("%" + likeEscaper.Replace(strings.ToLower(q)) + "%")
		where = append(where, `(LOWER(u.name) LIKE `+p+` ESCAPE '\' OR u.email LIKE `+p+` ESCAPE '\')`)
	}
	if f.Role != "" {
		role := whitecross.Role(strings.ToUpper(strings.TrimSpace(string(f.Role))))
		if err := validRole("query.role", role); err != nil {
			return "", nil, err
		}
		where = append(where, `u.role = `+args.add(string(role)))
	}
	if f.LocationID != "" {
		loc, ok := parseID(f.LocationID)
		if !ok {
			return "", nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.location_id", f.LocationID, "Location not found.")
		}
		var cond string
		with, cond = userLocationFilter(a, args.add(loc))
		where = append(where, cond)
	}
	return with, where, nil
}

// userLocationFilter is the WITH clause and condition that keep users at
// the location whose id is placeholder loc, or below it: staff by their
// own locations, guardians by their students'.
func userLocationFilter(a *whitecross.Actor, loc string) (with, cond string) {
	with = `, reach_filter(id) AS (
	SELECT id FROM locations WHERE tenant_id = $1 AND id = ` + loc + `
	UNION SELECT l.id FROM locations l JOIN reach_filter rf ON l.parent_id = rf.id WHERE l.tenant_id = $1)
`
	// Only a district ADMIN, who administers every link, finds a
	// non-custodial contact at their child's school; anyone else could
	// learn where a restricted parent's child goes.
	custody := ` AND fg.custody`
	if a.Role == whitecross.RoleAdmin || a.System {
		custody = ``
	}
	cond = `(EXISTS (SELECT 1 FROM user_locations fl WHERE fl.user_id = u.id AND fl.location_id IN (SELECT id FROM reach_filter))
		OR (u.role = 'GUARDIAN' AND EXISTS (SELECT 1 FROM guardianships fg JOIN students fs ON fs.id = fg.student_id
			WHERE fg.user_id = u.id` + custody + ` AND fs.deactivated_at IS NULL AND fs.location_id IN (SELECT id FROM reach_filter))))`
	return with, cond
}

// listedUser is a row of ListUsers with the lower-cased name its cursor
// keys on (LOWER in SQL, which may differ from Go's for non-ASCII names).
type listedUser struct {
	user      *whitecross.User
	lowerName string
}

// scanListedUser scans userColumns followed by LOWER(u.name).
func scanListedUser(r Row) (listedUser, error) {
	var l listedUser
	var err error
	l.user, err = scanUser(r, &l.lowerName)
	return l, err
}

// likeEscaper escapes LIKE wildcards in a search with the ESCAPE '\' clause.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// encodeUserCursor makes the opaque cursor after the user (lowerName, id).
func encodeUserCursor(lowerName, id string) string { return encodePairCursor(lowerName, id) }

// decodeUserCursor reverses encodeUserCursor. EINVALID (query.cursor) for
// anything it did not make.
func decodeUserCursor(c string) (name, id string, err error) {
	name, id, ok := decodePairCursor(c, 2048)
	if !ok {
		return "", "", whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", nil, "Cursor is not valid; start again without it.")
	}
	return name, id, nil
}
