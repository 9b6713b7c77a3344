package store

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // timezone validation must not depend on the host's zoneinfo
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// Limits of the directory: the domain's, which the OpenAPI spec documents.
const (
	maxNameLength    = whitecross.MaxNameLength
	maxGradeLength   = whitecross.MaxGradeLength
	maxEmailLength   = whitecross.MaxEmailLength
	maxUserLocations = whitecross.MaxUserLocations
	maxGuardians     = whitecross.MaxGuardians
	maxGroupMembers  = whitecross.MaxGroupMembers
	maxQueryLength   = whitecross.MaxQueryLength
	defaultPageLimit = whitecross.DefaultPageLimit
	maxPageLimit     = whitecross.MaxPageLimit
	defaultTimezone  = "America/Chicago"
	defaultLocale    = "en"
	// idBatch is how many ids go into one IN list, far below both dialects'
	// parameter limits.
	idBatch = 500
)

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	phonePattern  = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	localePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	clockPattern  = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

// validName trims s and checks it is 1..maxNameLength characters without
// control characters. The value is never echoed: names are personal data.
func validName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, field, nil, "Name is required.")
	}
	if n > maxNameLength || !utf8.ValidString(s) {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, field, nil, "Name must be at most %d characters.", maxNameLength)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, field, nil, "Name must not contain control characters.")
	}
	return s, nil
}

// normalizeEmail returns the trimmed, lower-cased address.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validEmail checks a normalised address: one @, something on both sides, a
// dot-free-or-dotted domain, no spaces, at most maxEmailLength bytes.
func validEmail(email string) error {
	local, domain, ok := strings.Cut(email, "@")
	switch {
	case email == "":
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.email", nil, "Email is required.")
	case len(email) > maxEmailLength:
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.email", nil, "Email must be at most %d characters.", maxEmailLength)
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.IndexFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || !utf8.ValidString(email):
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.email", nil, "Email must be an address like name@example.org.")
	}
	return nil
}

// validPhone checks an optional E.164 number.
func validPhone(phone string) error {
	if phone != "" && !phonePattern.MatchString(phone) {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.phone", nil, "Phone must be in E.164 format, like +15551234567.")
	}
	return nil
}

// validLocale checks a BCP 47-like tag such as "en" or "es-MX".
func validLocale(field, locale string) error {
	if !localePattern.MatchString(locale) {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, locale, "Locale must be a language tag like en or es-MX.")
	}
	return nil
}

// validTimezone checks an IANA zone name such as "America/Chicago".
func validTimezone(field, tz string) error {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, tz, "Timezone must be an IANA zone like America/Chicago.")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, tz, "Timezone must be an IANA zone like America/Chicago.")
	}
	return nil
}

// validRole checks r is one of whitecross.Roles.
func validRole(field string, r whitecross.Role) error {
	if !r.Valid() {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, string(r), "Role must be one of ADMIN, SCHOOL_ADMIN, NURSE, STAFF, GUARDIAN.")
	}
	return nil
}

// dedupe returns ids without repeats, keeping the first occurrence's order,
// and for each kept id the index it had in the input (for error fields).
func dedupe(ids []string) (out []string, index []int) {
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		index = append(index, i)
	}
	return out, index
}

// batches splits ids into slices of at most idBatch.
func batches(ids []string) [][]string {
	var out [][]string
	for len(ids) > idBatch {
		out = append(out, ids[:idBatch])
		ids = ids[idBatch:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// checkUserLocations validates the location_ids of a user with role: each a
// location of the tenant (EINVALID body.location_ids[i]), at least one for
// SCHOOL_ADMIN, NURSE and STAFF (EINVALID body.location_ids), and for a
// SCHOOL_ADMIN caller every location added or removed (relative to old) in
// their scope (EFORBIDDEN). It returns the canonical ids without repeats.
func (s *Store) checkUserLocations(ctx context.Context, q Querier, a *whitecross.Actor, role whitecross.Role, old, ids []string) ([]string, error) {
	if len(ids) > maxUserLocations {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.location_ids", len(ids), "A user can have at most %d locations.", maxUserLocations)
	}
	canon := make([]string, len(ids))
	for i, id := range ids {
		c, ok := parseID(id)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.location_ids[%d]", i), id, "Location not found.")
		}
		canon[i] = c
	}
	locs, index := dedupe(canon)
	if role.IsStaff() && len(locs) == 0 {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.location_ids", nil, "A %s needs at least one location.", role)
	}
	if len(locs) > 0 {
		found := map[string]bool{}
		rows, err := q.Query(ctx, `SELECT id FROM locations WHERE tenant_id = $1 AND id IN (`+placeholders(2, len(locs))+`)`,
			append([]any{a.TenantID}, anySlice(locs)...)...)
		if err != nil {
			return nil, fmt.Errorf("check locations: %w", err)
		}
		got, err := collect(rows, scanLowerID)
		if err != nil {
			return nil, fmt.Errorf("check locations: %w", err)
		}
		for _, id := range got {
			found[id] = true
		}
		for j, id := range locs {
			if !found[id] {
				return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.location_ids[%d]", index[j]), ids[index[j]], "Location not found.")
			}
		}
	}
	sc, err := s.scopeOf(ctx, q, a)
	if err != nil {
		return nil, err
	}
	for j, id := range locs {
		if !sc.has(id) && !slices.Contains(old, id) {
			return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, fmt.Sprintf("body.location_ids[%d]", index[j]), ids[index[j]], "You do not administer this location.")
		}
	}
	for _, id := range old {
		if !sc.has(id) && !slices.Contains(locs, id) {
			return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.location_ids", nil, "You may not remove a location you do not administer.")
		}
	}
	return locs, nil
}

// pageLimit returns the page size of a listing: 0 means the default (50);
// anything outside 1..100 is EINVALID naming query.limit.
func pageLimit(n int) (int, error) {
	if n == 0 {
		return defaultPageLimit, nil
	}
	if n < 1 || n > maxPageLimit {
		return 0, whitecross.FieldErrorf(whitecross.EINVALID, "query.limit", n, "Limit must be 1 to %d.", maxPageLimit)
	}
	return n, nil
}
