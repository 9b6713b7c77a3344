package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

var _ whitecross.StudentService = (*Store)(nil)

const studentColumns = `st.id, st.tenant_id, st.name, st.location_id, st.grade, st.created_at, st.external_id, st.deactivated_at`

// CreateStudent implements whitecross.StudentService. ADMIN (and the
// system) may create a student anywhere, a SCHOOL_ADMIN at a location in
// their scope; EFORBIDDEN otherwise (naming body.location_id when the
// location is the reason). EINVALID for a bad name or grade (1..16
// characters, like "K" or "3"), a location not in the tenant, more than 20
// guardians, or a guardian listed twice, not in the tenant or whose role is
// not GUARDIAN (naming body.guardians[i].user_id). Custody near a student
// of whom the guardian is a non-custodial contact is an ADMIN's decision
// (custodyNearNonCustodial).
func (s *Store) CreateStudent(ctx context.Context, st *whitecross.Student) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	r := reach{a}
	if !r.all() && a.Role != whitecross.RoleSchoolAdmin {
		return whitecross.Errorf(whitecross.EFORBIDDEN, "You may not create students.")
	}
	if st.Name, err = validName("body.name", st.Name); err != nil {
		return err
	}
	st.Grade = strings.TrimSpace(st.Grade)
	if n := utf8.RuneCountInString(st.Grade); n == 0 || n > maxGradeLength || strings.IndexFunc(st.Grade, unicode.IsControl) >= 0 {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.grade", st.Grade, "Grade must be 1 to %d characters, like K or 3.", maxGradeLength)
	}
	loc, ok := parseID(st.LocationID)
	if !ok {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.location_id", st.LocationID, "Location not found.")
	}
	if len(st.Guardians) > maxGuardians {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.guardians", len(st.Guardians), "A student can have at most %d guardians.", maxGuardians)
	}
	guardians := make([]whitecross.Guardianship, len(st.Guardians))
	ids := make([]string, len(st.Guardians))
	seen := map[string]bool{}
	for i, g := range st.Guardians {
		field := fmt.Sprintf("body.guardians[%d].user_id", i)
		id, ok := parseID(g.UserID)
		if !ok {
			return whitecross.FieldErrorf(whitecross.EINVALID, field, g.UserID, "Guardian not found.")
		}
		if seen[id] {
			return whitecross.FieldErrorf(whitecross.EINVALID, field, g.UserID, "Guardian is listed twice.")
		}
		seen[id] = true
		guardians[i] = whitecross.Guardianship{UserID: id, Custody: g.Custody}
		ids[i] = id
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := s.findLocation(ctx, tx, a.TenantID, loc); err != nil {
			if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
				return whitecross.FieldErrorf(whitecross.EINVALID, "body.location_id", st.LocationID, "Location not found.")
			}
			return err
		}
		sc, err := s.scopeOf(ctx, tx, a)
		if err != nil {
			return err
		}
		if !sc.has(loc) {
			return whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.location_id", st.LocationID, "You do not administer this location.")
		}
		if err := s.checkGuardians(ctx, tx, a, ids, st.Guardians); err != nil {
			return err
		}
		overrides, err := custodyNearNonCustodial(ctx, tx, a, loc, guardians)
		if err != nil {
			return err
		}
		st.ID = newID()
		st.TenantID = a.TenantID
		st.LocationID = loc
		st.Guardians = guardians
		st.CreatedAt = s.db.now()
		if _, err := tx.Exec(ctx, `INSERT INTO students (id, tenant_id, name, location_id, grade, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.ID, st.TenantID, st.Name, st.LocationID, st.Grade, st.CreatedAt); err != nil {
			return fmt.Errorf("insert student: %w", err)
		}
		for _, g := range guardians {
			if _, err := tx.Exec(ctx, `INSERT INTO guardianships (tenant_id, student_id, user_id, custody) VALUES ($1, $2, $3, $4)`,
				st.TenantID, st.ID, g.UserID, g.Custody); err != nil {
				return fmt.Errorf("insert guardianship: %w", err)
			}
		}
		detail := map[string]string{"location_id": st.LocationID}
		if len(overrides) > 0 {
			detail["overrides_non_custodial"] = strings.Join(overrides, ",")
		}
		return s.auditTx(ctx, tx, whitecross.AuditStudentCreated, "student", st.ID, detail)
	})
}

// checkGuardians reports EINVALID for the first id that is not a GUARDIAN
// user of the tenant whom the caller may see (FindUserByID's rule). A
// guardian the caller may not see is "not found" like an unknown id: a link
// gives reach to the family, so linking needs what reading them needs, and
// the answer must not tell another school's families apart from no one.
func (s *Store) checkGuardians(ctx context.Context, q Querier, a *whitecross.Actor, ids []string, given []whitecross.Guardianship) error {
	if len(ids) == 0 {
		return nil
	}
	r := reach{a}
	roles := map[string]string{}
	rows, err := q.Query(ctx, reachWith+`SELECT u.id, u.role FROM users u WHERE u.tenant_id = $1 AND u.id IN (`+
		placeholders(3, len(ids))+`) AND `+r.visibleUser("u"), append(r.args(), anySlice(ids)...)...)
	if err != nil {
		return fmt.Errorf("check guardians: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, role string
		if err := rows.Scan(&id, &role); err != nil {
			return fmt.Errorf("check guardians: %w", err)
		}
		roles[strings.ToLower(id)] = role
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check guardians: %w", err)
	}
	for i, id := range ids {
		field := fmt.Sprintf("body.guardians[%d].user_id", i)
		switch role, ok := roles[id]; {
		case !ok:
			return whitecross.FieldErrorf(whitecross.EINVALID, field, given[i].UserID, "Guardian not found.")
		case role != string(whitecross.RoleGuardian):
			return whitecross.FieldErrorf(whitecross.EINVALID, field, given[i].UserID, "User is not a guardian.")
		}
	}
	return nil
}

// FindStudentByID implements whitecross.StudentService. ENOTFOUND for a
// student of another tenant or one the caller may not see: ADMIN sees all,
// SCHOOL_ADMIN, NURSE and STAFF the students in their scope, a guardian only
// the children they have custody of (and only their own guardianship of
// them); a non-custodial contact sees nothing of the student. A deactivated
// student is found by administrators only (ADMIN, SCHOOL_ADMIN in scope).
func (s *Store) FindStudentByID(ctx context.Context, id string) (*whitecross.Student, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := parseID(id)
	if !ok {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Student not found.")
	}
	// Administrators open deactivated students too, shown as such.
	list, err := s.listStudents(ctx, a, true, `AND st.id = $3`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Student not found.")
	}
	return list[0], nil
}

// ListStudents implements whitecross.StudentService: the students the
// caller may see (as FindStudentByID), ordered by name.
func (s *Store) ListStudents(ctx context.Context) ([]*whitecross.Student, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.listStudents(ctx, a, false, ``)
}

// listStudents lists the students the caller may see that match and (a
// condition on st whose arguments start at $3). Deactivated students are
// left out unless withDeactivated and the caller is an administrator.
func (s *Store) listStudents(ctx context.Context, a *whitecross.Actor, withDeactivated bool, and string, args ...any) ([]*whitecross.Student, error) {
	r := reach{a}
	live := `st.deactivated_at IS NULL AND `
	if withDeactivated && administrator(a) {
		live = ``
	}
	q := s.db.Reader()
	list, err := queryAll(ctx, q, scanStudent, reachWith+`SELECT `+studentColumns+` FROM students st WHERE st.tenant_id = $1 AND `+live+
		r.visibleStudent("st")+` `+and+` ORDER BY LOWER(st.name), st.id`, append(r.args(), args...)...)
	if err != nil {
		return nil, fmt.Errorf("list students: %w", err)
	}
	return list, s.loadGuardians(ctx, q, a, list)
}

// administrator reports whether the caller administers students: ADMIN,
// SCHOOL_ADMIN (within their scope) and the system.
func administrator(a *whitecross.Actor) bool {
	return a.System || a.Role == whitecross.RoleAdmin || a.Role == whitecross.RoleSchoolAdmin
}

// scanStudent scans studentColumns (with no guardians yet), then extra.
func scanStudent(r Row) (*whitecross.Student, error) { return scanStudentWith(r) }

func scanStudentWith(r Row, extra ...any) (*whitecross.Student, error) {
	var st whitecross.Student
	dest := append([]any{&st.ID, &st.TenantID, &st.Name, &st.LocationID, &st.Grade, &st.CreatedAt, &st.ExternalID, &st.DeactivatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	st.CreatedAt = st.CreatedAt.UTC()
	if st.DeactivatedAt != nil {
		t := st.DeactivatedAt.UTC()
		st.DeactivatedAt = &t
	}
	st.Guardians = []whitecross.Guardianship{}
	return &st, nil
}

// loadGuardians fills the guardianships of students, ordered by user id.
// A guardian sees only their own guardianship: co-guardians (say, a
// non-custodial parent) are none of their business.
func (s *Store) loadGuardians(ctx context.Context, q Querier, a *whitecross.Actor, students []*whitecross.Student) error {
	only := ""
	if !a.System && a.Role == whitecross.RoleGuardian {
		only = strings.ToLower(a.UserID)
	}
	byID := make(map[string]*whitecross.Student, len(students))
	ids := make([]string, 0, len(students))
	for _, st := range students {
		byID[st.ID] = st
		ids = append(ids, st.ID)
	}
	for _, batch := range batches(ids) {
		rows, err := q.Query(ctx, `SELECT student_id, user_id, custody, imported FROM guardianships WHERE student_id IN (`+
			placeholders(1, len(batch))+`) ORDER BY student_id, user_id`, anySlice(batch)...)
		if err != nil {
			return fmt.Errorf("load guardianships: %w", err)
		}
		for rows.Next() {
			var sid string
			var g whitecross.Guardianship
			if err := rows.Scan(&sid, &g.UserID, &g.Custody, &g.Imported); err != nil {
				rows.Close()
				return fmt.Errorf("load guardianships: %w", err)
			}
			if st := byID[sid]; st != nil && (only == "" || g.UserID == only) {
				st.Guardians = append(st.Guardians, g)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load guardianships: %w", err)
		}
	}
	return nil
}
