package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// This file turns a broadcast audience into SQL. An audience is never
// loaded into Go: it is a condition on the users row (audienceSQL), counted
// by PreviewAudience and copied into message_recipients by
// resolveAudienceBatch with INSERT … SELECT, one range of user ids per
// statement.

// audienceSpec is a validated audience in canonical form: location ids
// lower-case, roles and grades upper-case, each once, sorted.
type audienceSpec struct {
	Everyone    bool     `json:"everyone"`
	LocationIDs []string `json:"location_ids"`
	Roles       []string `json:"roles"`
	Grades      []string `json:"grades"`
}

// domain returns the audience as the domain (and the wire) shows it.
func (sp *audienceSpec) domain() *whitecross.Audience {
	aud := &whitecross.Audience{Everyone: sp.Everyone, LocationIDs: slices.Clone(sp.LocationIDs), Grades: slices.Clone(sp.Grades)}
	for _, r := range sp.Roles {
		aud.Roles = append(aud.Roles, whitecross.Role(r))
	}
	return aud
}

// validAudience checks the shape of aud (nil: no audience). EINVALID naming
// the field: body.audience when it has no dimension,
// body.audience.everyone when everyone is combined with another,
// body.audience.location_ids[i], .roles[i] or .grades[i] for a bad value,
// body.audience.grades when grades are asked of roles without GUARDIAN.
func validAudience(aud *whitecross.Audience) (*audienceSpec, error) {
	if aud == nil {
		return nil, nil
	}
	hasDims := len(aud.LocationIDs) > 0 || len(aud.Roles) > 0 || len(aud.Grades) > 0
	switch {
	case aud.Everyone && hasDims:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience.everyone", true,
			"everyone means the whole of whom you may reach; it cannot be combined with location_ids, roles or grades.")
	case !aud.Everyone && !hasDims:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience", nil,
			"An audience needs everyone: true, or at least one of location_ids, roles and grades.")
	case len(aud.LocationIDs) > whitecross.MaxAudienceLocations:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience.location_ids", len(aud.LocationIDs),
			"An audience names at most %d locations.", whitecross.MaxAudienceLocations)
	case len(aud.Grades) > whitecross.MaxAudienceGrades:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience.grades", len(aud.Grades),
			"An audience names at most %d grades.", whitecross.MaxAudienceGrades)
	}
	sp := &audienceSpec{Everyone: aud.Everyone}
	for i, id := range aud.LocationIDs {
		c, ok := parseID(id)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.audience.location_ids[%d]", i), id, "Location id must be a UUID.")
		}
		sp.LocationIDs = append(sp.LocationIDs, c)
	}
	for i, r := range aud.Roles {
		if !slices.Contains(whitecross.Roles, r) {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.audience.roles[%d]", i), string(r),
				"Role must be one of %s.", joinEnum(whitecross.Roles))
		}
		sp.Roles = append(sp.Roles, string(r))
	}
	for i, g := range aud.Grades {
		g = strings.ToUpper(strings.TrimSpace(g))
		if g == "" || utf8.RuneCountInString(g) > whitecross.MaxGradeChars || strings.IndexFunc(g, unicode.IsControl) >= 0 {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.audience.grades[%d]", i), aud.Grades[i],
				"A grade is 1 to %d characters, such as K or 3.", whitecross.MaxGradeChars)
		}
		sp.Grades = append(sp.Grades, g)
	}
	if len(sp.Grades) > 0 && len(sp.Roles) > 0 && !slices.Contains(sp.Roles, string(whitecross.RoleGuardian)) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience.grades", nil,
			"Grades select guardians of students in those grades; add GUARDIAN to roles or leave grades out.")
	}
	for _, s := range []*[]string{&sp.LocationIDs, &sp.Roles, &sp.Grades} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
	return sp, nil
}

// checkAudience applies the send policy's audience column to the caller:
// a guardian never sends to an audience (EFORBIDDEN body.audience); every
// location must exist in the tenant (EINVALID) and, for anyone but an
// ADMIN, be among the caller's locations or below them (EFORBIDDEN), both
// naming body.audience.location_ids[i] of the request.
func (s *Store) checkAudience(ctx context.Context, q Querier, a *whitecross.Actor, aud *whitecross.Audience, sp *audienceSpec) error {
	r := reach{a}
	if !r.all() && !whitecross.SendPolicyFor(a.Role).Audience {
		return whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.audience", nil,
			"Guardians message the staff of their children's schools; only district and school staff send to an audience.")
	}
	if len(sp.LocationIDs) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, reachWith+`SELECT l.id, l.id IN (SELECT id FROM reach_scope) FROM locations l
		WHERE l.tenant_id = $1 AND l.id IN (`+placeholders(3, len(sp.LocationIDs))+`)`,
		append(r.args(), anySlice(sp.LocationIDs)...)...)
	if err != nil {
		return fmt.Errorf("check audience locations: %w", err)
	}
	inScope := map[string]bool{}
	exists := map[string]bool{}
	for rows.Next() {
		var id string
		var in bool
		if err := rows.Scan(&id, &in); err != nil {
			rows.Close()
			return fmt.Errorf("check audience locations: %w", err)
		}
		exists[strings.ToLower(id)], inScope[strings.ToLower(id)] = true, in
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check audience locations: %w", err)
	}
	for i, id := range aud.LocationIDs {
		c, _ := parseID(id)
		field := fmt.Sprintf("body.audience.location_ids[%d]", i)
		if !exists[c] {
			return whitecross.FieldErrorf(whitecross.EINVALID, field, id, "No such location.")
		}
		if !r.all() && !inScope[c] {
			return whitecross.FieldErrorf(whitecross.EFORBIDDEN, field, id,
				"This location is outside yours: you may send to your own locations and those below them.")
		}
	}
	return nil
}

// audienceSQL returns the WITH clause and the condition on the users row u
// that select the audience sp of sender a. args must start as reach{a}.args()
// ($1 tenant, $2 sender); the audience's values are appended to it.
func audienceSQL(a *whitecross.Actor, sp *audienceSpec, args *queryArgs) (with, where string) {
	with = reachWith
	locs, grades := len(sp.LocationIDs) > 0, len(sp.Grades) > 0
	if locs {
		with += `, aud_loc(id) AS (
	SELECT id FROM locations WHERE tenant_id = $1 AND id IN (` + args.list(sp.LocationIDs) + `)
	UNION SELECT l.id FROM locations l JOIN aud_loc al ON l.parent_id = al.id WHERE l.tenant_id = $1)
`
	}
	// A guardian belongs through a student they have custody of, which
	// must itself match every dimension given (location and grade).
	student := `ag.user_id = u.id AND ag.custody AND ast.deactivated_at IS NULL`
	if locs {
		student += ` AND ast.location_id IN (SELECT id FROM aud_loc)`
	}
	if grades {
		student += ` AND UPPER(ast.grade) IN (` + args.list(sp.Grades) + `)`
	}
	guardian := `u.role = 'GUARDIAN' AND EXISTS (SELECT 1 FROM guardianships ag JOIN students ast ON ast.id = ag.student_id WHERE ` + student + `)`
	other := `u.role <> 'GUARDIAN'`
	switch {
	case grades:
		other = `1 = 0` // grades select guardians only
	case locs:
		other += ` AND EXISTS (SELECT 1 FROM user_locations aul WHERE aul.user_id = u.id AND aul.location_id IN (SELECT id FROM aud_loc))`
	}
	where = `u.tenant_id = $1 AND ` + reach{a}.messageable("u") + ` AND ((` + guardian + `) OR (` + other + `))`
	if len(sp.Roles) > 0 {
		where += ` AND u.role IN (` + args.list(sp.Roles) + `)`
	}
	return with, where
}

// audienceSpecFrom validates aud and checks it against the caller.
func (s *Store) audienceSpecFrom(ctx context.Context, a *whitecross.Actor, aud *whitecross.Audience) (*audienceSpec, error) {
	sp, err := validAudience(aud)
	if err != nil || sp == nil {
		return nil, err
	}
	if err := s.checkAudience(ctx, s.db.Reader(), a, aud, sp); err != nil {
		return nil, err
	}
	return sp, nil
}

// encodeAudience is the stored form of sp (NULL for none).
func encodeAudience(sp *audienceSpec) (*string, error) {
	if sp == nil {
		return nil, nil
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, fmt.Errorf("encode audience: %w", err)
	}
	s := string(raw)
	return &s, nil
}

// decodeAudience reads messages.audience.
func decodeAudience(raw *string) (*audienceSpec, error) {
	if raw == nil || *raw == "" {
		return nil, nil
	}
	var sp audienceSpec
	if err := json.Unmarshal([]byte(*raw), &sp); err != nil {
		return nil, fmt.Errorf("decode audience: %w", err)
	}
	return &sp, nil
}
