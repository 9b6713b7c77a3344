package store

import (
	"context"
	"fmt"
	"strconv"

	"whitecross"
)

// SetGuardian implements whitecross.StudentService: it links a guardian to
// a student by hand, or changes the custody of a link made by hand.
// ENOTFOUND for a student (or a guardian, FindUserByID's rule) the caller
// may not see; EINVALID naming path.user_id for a user who is not a
// guardian, or body.user_id when the student already has 20 guardians;
// EFORBIDDEN for a caller who does not administer the student, or custody
// for a non-custodial contact of a student at or near this one's location
// given by anyone but a district ADMIN (body.custody); ECONFLICT for a
// deactivated student or a link the roster made (see students_edit.go).
func (s *Store) SetGuardian(ctx context.Context, studentID string, g whitecross.Guardianship) (*whitecross.Student, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		st, err := s.editableStudent(ctx, tx, a, studentID)
		if err != nil {
			return err
		}
		uid, err := s.guardianOf(ctx, tx, a, g.UserID)
		if err != nil {
			return err
		}
		existing, linked := guardianship(st, uid)
		switch {
		case linked && existing.Custody == g.Custody:
			return nil
		case linked && existing.Imported:
			return whitecross.Errorf(whitecross.ECONFLICT,
				"The roster made this link: change custody in the student information system (the next import would undo a change made here).")
		case !linked && len(st.Guardians) >= maxGuardians:
			return whitecross.FieldErrorf(whitecross.EINVALID, "path.user_id", g.UserID, "A student can have at most %d guardians.", maxGuardians)
		}
		link := whitecross.Guardianship{UserID: uid, Custody: g.Custody}
		overrides, err := custodyNearNonCustodial(ctx, tx, a, st.LocationID, []whitecross.Guardianship{link})
		if err != nil {
			return refield(err, "body.custody")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO guardianships (tenant_id, student_id, user_id, custody) VALUES ($1, $2, $3, $4)
			ON CONFLICT (student_id, user_id) DO UPDATE SET custody = excluded.custody`, st.TenantID, st.ID, uid, g.Custody); err != nil {
			return fmt.Errorf("set guardianship: %w", err)
		}
		detail := map[string]string{"user_id": uid, "custody": strconv.FormatBool(g.Custody), "new": strconv.FormatBool(!linked)}
		if len(overrides) > 0 {
			detail["overrides_non_custodial"] = uid
		}
		return s.auditTx(ctx, tx, whitecross.AuditGuardianSet, "student", st.ID, detail)
	})
	if err != nil {
		return nil, err
	}
	return s.FindStudentByID(ctx, studentID)
}

// RemoveGuardian implements whitecross.StudentService: it unlinks a
// guardian linked by hand. ENOTFOUND for a student the caller may not see
// or a guardian not linked to them; EFORBIDDEN and ECONFLICT as SetGuardian.
func (s *Store) RemoveGuardian(ctx context.Context, studentID, userID string) (*whitecross.Student, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		st, err := s.editableStudent(ctx, tx, a, studentID)
		if err != nil {
			return err
		}
		uid, _ := parseID(userID)
		existing, linked := guardianship(st, uid)
		switch {
		case !linked:
			return whitecross.Errorf(whitecross.ENOTFOUND, "This guardian is not linked to the student.")
		case existing.Imported:
			return whitecross.Errorf(whitecross.ECONFLICT,
				"The roster made this link: remove it in the student information system (the next import would restore it).")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM guardianships WHERE tenant_id = $1 AND student_id = $2 AND user_id = $3`, st.TenantID, st.ID, uid); err != nil {
			return fmt.Errorf("remove guardianship: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditGuardianRemoved, "student", st.ID,
			map[string]string{"user_id": uid, "custody": strconv.FormatBool(existing.Custody)})
	})
	if err != nil {
		return nil, err
	}
	return s.FindStudentByID(ctx, studentID)
}

// guardianship returns the student's link to the user, if any.
func guardianship(st *whitecross.Student, userID string) (whitecross.Guardianship, bool) {
	for _, g := range st.Guardians {
		if g.UserID == userID {
			return g, true
		}
	}
	return whitecross.Guardianship{}, false
}

// guardianOf returns the canonical id of a GUARDIAN user the caller may
// see. ENOTFOUND for an unknown id or one the caller may not see (a link
// gives reach to the family: see checkGuardians); EINVALID (path.user_id)
// for a user of another role.
func (s *Store) guardianOf(ctx context.Context, q Querier, a *whitecross.Actor, given string) (string, error) {
	id, ok := parseID(given)
	if !ok {
		return "", whitecross.Errorf(whitecross.ENOTFOUND, "Guardian not found.")
	}
	r := reach{a}
	var role string
	err := q.QueryRow(ctx, reachWith+`SELECT u.role FROM users u WHERE u.tenant_id = $1 AND u.id = $3 AND `+r.visibleUser("u"),
		append(r.args(), id)...).Scan(&role)
	switch {
	case whitecross.ErrorCode(err) == whitecross.ENOTFOUND:
		return "", whitecross.Errorf(whitecross.ENOTFOUND, "Guardian not found.")
	case err != nil:
		return "", fmt.Errorf("find guardian: %w", err)
	case role != string(whitecross.RoleGuardian):
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "path.user_id", given, "User is not a guardian.")
	}
	return id, nil
}
