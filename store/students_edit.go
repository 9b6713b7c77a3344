package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// Editing students and their guardians. Who may: ADMIN anywhere, a
// SCHOOL_ADMIN the students at their locations (and below); a student the
// caller may not see is not found, one they see but may not administer
// (a nurse's) forbidden.
//
// The roster owns what it imports: an imported student's name, grade and
// location, and the guardian links it made, are written again by every
// import, so a change made here would silently come undone the next night.
// Those edits are refused (ECONFLICT) and belong in the student information
// system. Links added by hand, also to an imported student, are the
// district's own: imports never touch them, and they are edited here.

// UpdateStudent implements whitecross.StudentService. EINVALID for a bad
// name (body.name), grade (body.grade) or a location not in the tenant
// (body.location_id); EFORBIDDEN for a location the caller does not
// administer, or one near which a custodial guardian of the student is a
// non-custodial contact (ADMIN's decision, as in CreateStudent); ECONFLICT
// for a roster or deactivated student.
func (s *Store) UpdateStudent(ctx context.Context, id string, u whitecross.StudentUpdate) (*whitecross.Student, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		st, err := s.editableStudent(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if st.ExternalID != "" && (u.Name != nil || u.Grade != nil || u.LocationID != nil) {
			return whitecross.Errorf(whitecross.ECONFLICT,
				"This student comes from the roster: change them in the student information system (the next import would undo a change made here).")
		}
		fields, err := s.applyStudentUpdate(ctx, tx, a, st, u)
		if err != nil || len(fields) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE students SET name = $1, grade = $2, location_id = $3 WHERE tenant_id = $4 AND id = $5`,
			st.Name, st.Grade, st.LocationID, st.TenantID, st.ID); err != nil {
			return fmt.Errorf("update student: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditStudentUpdated, "student", st.ID,
			map[string]string{"fields": strings.Join(fields, ","), "location_id": st.LocationID})
	})
	if err != nil {
		return nil, err
	}
	return s.FindStudentByID(ctx, id)
}

// applyStudentUpdate validates u and applies it to st, returning the names
// of the fields that change.
func (s *Store) applyStudentUpdate(ctx context.Context, tx *Tx, a *whitecross.Actor, st *whitecross.Student, u whitecross.StudentUpdate) ([]string, error) {
	var fields []string
	if u.Name != nil {
		name, err := validName("body.name", *u.Name)
		if err != nil {
			return nil, err
		}
		if name != st.Name {
			st.Name, fields = name, append(fields, "name")
		}
	}
	if u.Grade != nil {
		grade, err := validGrade(*u.Grade)
		if err != nil {
			return nil, err
		}
		if grade != st.Grade {
			st.Grade, fields = grade, append(fields, "grade")
		}
	}
	if u.LocationID != nil {
		loc, err := s.movableTo(ctx, tx, a, st, *u.LocationID)
		if err != nil {
			return nil, err
		}
		if loc != st.LocationID {
			st.LocationID, fields = loc, append(fields, "location_id")
		}
	}
	return fields, nil
}

// validGrade trims a grade and checks it is 1..16 characters without
// control characters.
func validGrade(g string) (string, error) {
	g = strings.TrimSpace(g)
	if n := utf8.RuneCountInString(g); n == 0 || n > maxGradeLength || strings.IndexFunc(g, unicode.IsControl) >= 0 {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.grade", g, "Grade must be 1 to %d characters, like K or 3.", maxGradeLength)
	}
	return g, nil
}

// movableTo checks that st may move to the location given and returns its
// canonical id.
func (s *Store) movableTo(ctx context.Context, tx *Tx, a *whitecross.Actor, st *whitecross.Student, given string) (string, error) {
	loc, ok := parseID(given)
	if ok {
		_, err := s.findLocation(ctx, tx, a.TenantID, loc)
		ok = err == nil
		if err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
			return "", err
		}
	}
	if !ok {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "body.location_id", given, "Location not found.")
	}
	sc, err := s.scopeOf(ctx, tx, a)
	if err != nil {
		return "", err
	}
	if !sc.has(loc) {
		return "", whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.location_id", given, "You do not administer this location.")
	}
	if loc == st.LocationID {
		return loc, nil
	}
	if _, err := custodyNearNonCustodial(ctx, tx, a, loc, st.Guardians); err != nil {
		return "", refield(err, "body.location_id")
	}
	return loc, nil
}

// refield names field in a domain error about one field.
func refield(err error, field string) error {
	var e *whitecross.Error
	if errors.As(err, &e) && e.Field != "" {
		return whitecross.FieldErrorf(e.Code, field, e.Value, "%s", e.Message)
	}
	return err
}

// editableStudent reads, in tx, a student the caller may change, with its
// guardians. ENOTFOUND for one they may not see, EFORBIDDEN for one they
// see but do not administer, ECONFLICT for a deactivated one.
func (s *Store) editableStudent(ctx context.Context, tx *Tx, a *whitecross.Actor, id string) (*whitecross.Student, error) {
	id, ok := parseID(id)
	if !ok {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Student not found.")
	}
	r := reach{a}
	live := `st.deactivated_at IS NULL AND `
	if administrator(a) {
		live = ``
	}
	list, err := queryAll(ctx, tx, scanStudent, reachWith+`SELECT `+studentColumns+` FROM students st
		WHERE st.tenant_id = $1 AND `+live+r.visibleStudent("st")+` AND st.id = $3`, append(r.args(), id)...)
	if err != nil {
		return nil, fmt.Errorf("find student: %w", err)
	}
	switch {
	case len(list) == 0:
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Student not found.")
	case !administrator(a):
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "You may not change students.")
	case list[0].DeactivatedAt != nil:
		return nil, whitecross.Errorf(whitecross.ECONFLICT, "This student is deactivated and can no longer be changed.")
	}
	st := list[0]
	return st, s.loadGuardians(ctx, tx, a, list)
}
