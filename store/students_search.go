package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"whitecross"
)

// SearchStudents implements whitecross.StudentService: one page of the
// students the caller may see (FindStudentByID's rule), ordered by
// lower-cased name then id, the cursor a keyset over both so pages never
// skip or repeat a student. Query matches a substring of the name,
// LocationID students at that location or below it, Grade one grade
// exactly. IncludeDeactivated is for ADMIN and SCHOOL_ADMIN (EFORBIDDEN
// naming query.include_deactivated for anyone else). EINVALID for a limit
// outside 1..100 (query.limit), a bad cursor (query.cursor), location
// (query.location_id), grade (query.grade) or an over-long search (query.q).
func (s *Store) SearchStudents(ctx context.Context, f whitecross.StudentFilter) (*whitecross.StudentPage, error) {
	a, limit, err := pagingCaller(ctx, f.Limit)
	if err != nil {
		return nil, err
	}
	if f.IncludeDeactivated && !administrator(a) {
		return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "query.include_deactivated", true, "Only administrators list deactivated students.")
	}
	r := reach{a}
	args := queryArgs(r.args())
	with, where, err := studentFilterWhere(f, &args)
	if err != nil {
		return nil, err
	}
	where = append([]string{`st.tenant_id = $1`, r.visibleStudent("st")}, where...)
	if f.Cursor != "" {
		name, id, ok := decodePairCursor(f.Cursor, 2048)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", nil, "Cursor is not valid; start again without it.")
		}
		n, i := args.add(name), args.add(id)
		where = append(where, `LOWER(st.name) >= `+n, `(LOWER(st.name) > `+n+` OR st.id > `+i+`)`)
	}
	q := s.db.Reader()
	listed, err := queryAll(ctx, q, scanListedStudent, reachWith+with+`SELECT `+studentColumns+`, LOWER(st.name)
		FROM students st WHERE `+strings.Join(where, ` AND `)+`
		ORDER BY LOWER(st.name), st.id LIMIT `+args.add(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("search students: %w", err)
	}
	page := &whitecross.StudentPage{Items: []*whitecross.Student{}}
	listed, page.NextCursor = keysetPage(listed, limit, func(last listedStudent) string {
		return encodePairCursor(last.lowerName, last.student.ID)
	})
	for _, l := range listed {
		page.Items = append(page.Items, l.student)
	}
	return page, s.loadGuardians(ctx, q, a, page.Items)
}

// studentFilterWhere returns the conditions of the filter, adding their
// values to args, and the WITH clause they need (appended to reachWith).
func studentFilterWhere(f whitecross.StudentFilter, args *queryArgs) (with string, where []string, err error) {
	if !f.IncludeDeactivated {
		where = append(where, `st.deactivated_at IS NULL`)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if utf8.RuneCountInString(q) > maxQueryLength {
			return "", nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.q", nil, "Search must be at most %d characters.", maxQueryLength)
		}
		where = append(where, `LOWER(st.name) LIKE `+args.add("%"+likeEscaper.Replace(strings.ToLower(q))+"%")+` ESCAPE '\'`)
	}
	if g := strings.TrimSpace(f.Grade); g != "" {
		if utf8.RuneCountInString(g) > maxGradeLength {
			return "", nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.grade", g, "Grade must be 1 to %d characters, like K or 3.", maxGradeLength)
		}
		where = append(where, `st.grade = `+args.add(g))
	}
	if f.LocationID != "" {
		loc, ok := parseID(f.LocationID)
		if !ok {
			return "", nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.location_id", f.LocationID, "Location not found.")
		}
		with = `, student_filter(id) AS (
	SELECT id FROM locations WHERE tenant_id = $1 AND id = ` + args.add(loc) + `
	UNION SELECT l.id FROM locations l JOIN student_filter sf ON l.parent_id = sf.id WHERE l.tenant_id = $1)
`
		where = append(where, `st.location_id IN (SELECT id FROM student_filter)`)
	}
	return with, where, nil
}

// listedStudent is a row of SearchStudents with the lower-cased name its
// cursor keys on (LOWER in SQL, which may differ from Go's).
type listedStudent struct {
	student   *whitecross.Student
	lowerName string
}

func scanListedStudent(r Row) (listedStudent, error) {
	var l listedStudent
	var err error
	l.student, err = scanStudentWith(r, &l.lowerName)
	return l, err
}
