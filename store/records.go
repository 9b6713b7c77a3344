package store

import (
	"context"
	"fmt"
	"strings"

	"whitecross"
)

// This file is the messaging part of a student's record: the communication
// log (the messages about a student) and the accounting of disclosures.

// keepsRecord reports whether the caller, who may see a student, keeps
// their health record and so reads every message about them: ADMIN, the
// system, and NURSE and SCHOOL_ADMIN (who see only the students of their
// own schools). Everyone else reads the messages they sent or received.
func keepsRecord(a *whitecross.Actor) bool {
	switch {
	case a.System:
		return true
	case a.Role == whitecross.RoleAdmin, a.Role == whitecross.RoleNurse, a.Role == whitecross.RoleSchoolAdmin:
		return true
	}
	return false
}

// StudentMessages implements whitecross.StudentRecordService. The page is
// keyed by message id (UUIDv7, creation order) through
// message_students_student, so a message sent while a client pages shows on
// a fresh first page, never twice. Content is full (a sensitive body
// included): the page is an audited read, one message.read event naming
// its messages, written before the page is answered (a page whose event
// cannot be written fails). An empty page reads nothing and is not
// audited. ENOTFOUND "Student not found." for a student the caller may not
// see; EINVALID query.limit, query.cursor; EUNAUTHORIZED without a caller.
func (s *Store) StudentMessages(ctx context.Context, studentID, cursor string, limit int) (*whitecross.MessagePage, error) {
	a, limit, err := pagingCaller(ctx, limit)
	if err != nil {
		return nil, err
	}
	st, err := s.FindStudentByID(ctx, studentID)
	if err != nil {
		return nil, err
	}
	args := queryArgs{a.TenantID, callerID(a), st.ID}
	where := []string{`ms.tenant_id = $1`, `ms.student_id = $3`, `m.tenant_id = $1`}
	if !keepsRecord(a) {
		where = append(where, `(m.sender_id = $2 OR mr.delivered_at IS NOT NULL)`)
	}
	if cursor != "" {
		key, id, ok := decodePairCursor(cursor, 256)
		if !ok || key != st.ID {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", nil, "Cursor is not valid for this student; start again without it.")
		}
		where = append(where, `ms.message_id < `+args.add(id))
	}
	q := s.db.Reader()
	rows, err := queryAll(ctx, q, scanMessageRow, `SELECT `+messageColumns+`
		FROM message_students ms JOIN messages m ON m.id = ms.message_id JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $2
		WHERE `+strings.Join(where, ` AND `)+` ORDER BY ms.message_id DESC LIMIT `+args.add(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("student messages: %w", err)
	}
	page := &whitecross.MessagePage{Items: []*whitecross.Message{}}
	rows, page.NextCursor = keysetPage(rows, limit, func(last *messageRow) string { return encodePairCursor(st.ID, last.msg.ID) })
	if len(rows) == 0 {
		return page, nil
	}
	if err := s.readStudentPage(ctx, q, a, rows); err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, row := range rows {
		page.Items = append(page.Items, row.msg)
		ids[i] = row.msg.ID
	}
	// One message.read of the page, in the read group commit; its target is
	// the student, and the audit viewer finds it by any of its messages too.
	if e := readEvent(a, "student", ids, s.db.now()); e != nil {
		e.TargetType, e.TargetID = "student", st.ID
		err = s.auditReadEvents(ctx, e)
	}
	if err != nil {
		return nil, fmt.Errorf("audit student messages: %w", err)
	}
	return page, nil
}

// readStudentPage fills the recipients and students of a log page and
// opens its content in full.
func (s *Store) readStudentPage(ctx context.Context, q Querier, a *whitecross.Actor, rows []*messageRow) error {
	if err := s.fillRecipients(ctx, q, a, rows, listRecipientIDsCap); err != nil {
		return err
	}
	if err := loadStudentIDs(ctx, q, rows); err != nil {
		return err
	}
	return s.openRows(ctx, rows, fullContent)
}
