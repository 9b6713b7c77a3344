package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"whitecross"
)

var _ whitecross.LegalHoldService = (*Store)(nil)

// PlaceLegalHold implements whitecross.LegalHoldService: it records an
// active hold on a person or a student of the caller's district and the
// legal_hold.placed audit event (the reason is in the hold, not the event:
// it may name a matter). EINVALID naming body.user_id, body.student_id or
// body.reason; EFORBIDDEN for anyone but an ADMIN.
func (s *Store) PlaceLegalHold(ctx context.Context, in whitecross.LegalHoldCreate) (*whitecross.LegalHold, error) {
	a, err := requireAdmin(ctx, "place a legal hold")
	if err != nil {
		return nil, err
	}
	h, err := validLegalHold(in)
	if err != nil {
		return nil, err
	}
	h.ID, h.CreatedBy, h.CreatedAt = newID(), a.UserID, s.db.now().UTC().Truncate(time.Microsecond)
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if err := s.holdSubjectName(ctx, tx, a.TenantID, h); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO legal_holds (id, tenant_id, user_id, student_id, reason, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.ID, a.TenantID, nullID(h.UserID), nullID(h.StudentID), h.Reason, a.UserID, h.CreatedAt); err != nil {
			return fmt.Errorf("insert legal hold: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditLegalHoldPlaced, "legal_hold", h.ID, holdSubject(h))
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// validLegalHold checks in and returns the hold it asks for, its ids in
// canonical form.
func validLegalHold(in whitecross.LegalHoldCreate) (*whitecross.LegalHold, error) {
	if (in.UserID == "") == (in.StudentID == "") {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.user_id", nil, "Name exactly one of a person (user_id) or a student (student_id).")
	}
	h := &whitecross.LegalHold{Reason: strings.TrimSpace(in.Reason)}
	if h.Reason == "" {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.reason", nil, "Say why the messages are held.")
	}
	if utf8.RuneCountInString(h.Reason) > whitecross.MaxLegalHoldReason {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.reason", nil, "The reason is longer than %d characters.", whitecross.MaxLegalHoldReason)
	}
	var ok bool
	if in.UserID != "" {
		if h.UserID, ok = parseID(in.UserID); !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.user_id", in.UserID, "No such person in the district.")
		}
	} else if h.StudentID, ok = parseID(in.StudentID); !ok {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.student_id", in.StudentID, "No such student in the district.")
	}
	return h, nil
}

// holdSubjectName fills h.Name from the district's user or student h
// names; EINVALID naming the field when it is not the district's.
func (s *Store) holdSubjectName(ctx context.Context, q Querier, tenantID string, h *whitecross.LegalHold) error {
	query, id, field, what := `SELECT name FROM users WHERE tenant_id = $1 AND id = $2`, h.UserID, "body.user_id", "person"
	if h.StudentID != "" {
		query, id, field, what = `SELECT name FROM students WHERE tenant_id = $1 AND id = $2`, h.StudentID, "body.student_id", "student"
	}
	err := q.QueryRow(ctx, query, tenantID, id).Scan(&h.Name)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, id, "No such %s in the district.", what)
	}
	if err != nil {
		return fmt.Errorf("legal hold subject: %w", err)
	}
	return nil
}

// holdSubject is the audit detail naming whom a hold covers.
func holdSubject(h *whitecross.LegalHold) map[string]string {
	if h.StudentID != "" {
		return map[string]string{"student_id": h.StudentID}
	}
	return map[string]string{"user_id": h.UserID}
}

// legalHoldColumns are the columns scanLegalHold reads, of legal_holds h
// joined to the person u and the student st it names.
// (ids are cast to text: PostgreSQL's COALESCE with ” needs one type).
const legalHoldColumns = `h.id, COALESCE(CAST(h.user_id AS TEXT), ''), COALESCE(CAST(h.student_id AS TEXT), ''),
	COALESCE(u.name, st.name, ''), h.reason, h.created_by, h.created_at, h.released_at, COALESCE(CAST(h.released_by AS TEXT), '')`

// legalHoldFrom joins a hold to the names of whom it covers.
const legalHoldFrom = ` FROM legal_holds h LEFT JOIN users u ON u.id = h.user_id LEFT JOIN students st ON st.id = h.student_id`

// ListLegalHolds implements whitecross.LegalHoldService: the caller's
// district's holds, active ones first, each group newest first. A district
// places few holds, so the list is not paged. EFORBIDDEN for anyone but an
// ADMIN.
func (s *Store) ListLegalHolds(ctx context.Context) ([]*whitecross.LegalHold, error) {
	a, err := requireAdmin(ctx, "see legal holds")
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT `+legalHoldColumns+legalHoldFrom+`
		WHERE h.tenant_id = $1 ORDER BY h.released_at IS NOT NULL, h.created_at DESC, h.id DESC`, a.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	out, err := collect(rows, scanLegalHold)
	if err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	return out, nil
}

// ReleaseLegalHold implements whitecross.LegalHoldService: it marks the
// district's active hold id released by the caller, now, and records
// legal_hold.released. The row stays. ENOTFOUND when no active hold of the
// district has that id; EFORBIDDEN for anyone but an ADMIN.
func (s *Store) ReleaseLegalHold(ctx context.Context, id string) (*whitecross.LegalHold, error) {
	a, err := requireAdmin(ctx, "release a legal hold")
	if err != nil {
		return nil, err
	}
	notFound := whitecross.Errorf(whitecross.ENOTFOUND, "No active legal hold %s.", id)
	id, ok := parseID(id)
	if !ok {
		return nil, notFound
	}
	var h *whitecross.LegalHold
	err = s.db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.Exec(ctx, `UPDATE legal_holds SET released_at = $3, released_by = $4
			WHERE tenant_id = $1 AND id = $2 AND released_at IS NULL`, a.TenantID, id, s.db.now().UTC().Truncate(time.Microsecond), a.UserID)
		if err != nil {
			return fmt.Errorf("release legal hold: %w", err)
		}
		if n == 0 {
			return notFound
		}
		if h, err = scanLegalHold(tx.QueryRow(ctx, `SELECT `+legalHoldColumns+legalHoldFrom+` WHERE h.id = $1`, id)); err != nil {
			return fmt.Errorf("release legal hold: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditLegalHoldReleased, "legal_hold", id, holdSubject(h))
	})
	return h, err
}

// scanLegalHold scans the legalHoldColumns of one row.
func scanLegalHold(r Row) (*whitecross.LegalHold, error) {
	var h whitecross.LegalHold
	if err := r.Scan(&h.ID, &h.UserID, &h.StudentID, &h.Name, &h.Reason, &h.CreatedBy, &h.CreatedAt, &h.ReleasedAt, &h.ReleasedBy); err != nil {
		return nil, err
	}
	h.ID, h.UserID, h.StudentID = strings.ToLower(h.ID), strings.ToLower(h.UserID), strings.ToLower(h.StudentID)
	h.CreatedBy, h.ReleasedBy = strings.ToLower(h.CreatedBy), strings.ToLower(h.ReleasedBy)
	h.CreatedAt = h.CreatedAt.UTC()
	if h.ReleasedAt != nil {
		t := h.ReleasedAt.UTC()
		h.ReleasedAt = &t
	}
	return &h, nil
}
