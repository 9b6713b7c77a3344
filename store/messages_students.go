package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"whitecross"
)

// This file holds the students a message is about (message_students): who
// may name them on send, and the student_ids every read of a message
// carries. A reply carries the students of the message it answers, so the
// whole conversation shows in the student's communication log.

// validStudentIDs returns the canonical, sorted, unique ids of the students
// a new message is about. Each must be a student the caller may see
// (FindStudentByID's rule: an administrator may name a deactivated one);
// EINVALID "Student not found." naming body.student_ids[i] otherwise, the
// same answer for another tenant's student, one the caller may not see and
// no student at all, so the answer tells nothing about who exists.
// EINVALID body.student_ids for more than whitecross.MaxStudentIDs.
func (s *Store) validStudentIDs(ctx context.Context, a *whitecross.Actor, given []string) ([]string, error) {
	if len(given) == 0 {
		return nil, nil
	}
	if len(given) > whitecross.MaxStudentIDs {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.student_ids", len(given),
			"A message can be about at most %d students.", whitecross.MaxStudentIDs)
	}
	canon := make([]string, len(given))
	for i, id := range given {
		c, ok := parseID(id)
		if !ok {
			return nil, studentNotFound(i, id)
		}
		canon[i] = c
	}
	unique, _ := dedupe(canon)
	found, err := s.listStudents(ctx, a, true, `AND st.id IN (`+placeholders(3, len(unique))+`)`, anySlice(unique)...)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(found))
	for _, st := range found {
		seen[strings.ToLower(st.ID)] = true
	}
	for i, id := range canon {
		if !seen[id] {
			return nil, studentNotFound(i, given[i])
		}
	}
	slices.Sort(unique)
	return unique, nil
}

func studentNotFound(i int, given string) error {
	return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.student_ids[%d]", i), given, "Student not found.")
}

// insertMessageStudents links a new message to the students it is about,
// in one statement (at most MaxStudentIDs rows).
func insertMessageStudents(ctx context.Context, tx *Tx, tenantID, messageID string, studentIDs []string) error {
	if len(studentIDs) == 0 {
		return nil
	}
	args := queryArgs{tenantID, messageID}
	values := make([]string, len(studentIDs))
	for i, id := range studentIDs {
		values[i] = `($1, $2, ` + args.add(id) + `)`
	}
	if _, err := tx.Exec(ctx, `INSERT INTO message_students (tenant_id, message_id, student_id) VALUES `+
		strings.Join(values, ", "), args...); err != nil {
		return fmt.Errorf("insert message students: %w", err)
	}
	return nil
}

// loadStudentIDs sets StudentIDs (sorted, [] for none) of every row's
// message in one primary-key range read per page.
func loadStudentIDs(ctx context.Context, q Querier, rows []*messageRow) error {
	if len(rows) == 0 {
		return nil
	}
	byID := make(map[string]*whitecross.Message, len(rows))
	ids := make([]string, 0, len(rows))
	for _, row := range rows {
		row.msg.StudentIDs = []string{}
		byID[row.msg.ID] = row.msg
		ids = append(ids, row.msg.ID)
	}
	list, err := q.Query(ctx, `SELECT message_id, student_id FROM message_students WHERE tenant_id = $1 AND message_id IN (`+
		placeholders(2, len(ids))+`) ORDER BY message_id, student_id`, append([]any{rows[0].msg.TenantID}, anySlice(ids)...)...)
	if err != nil {
		return fmt.Errorf("load student ids: %w", err)
	}
	defer list.Close()
	for list.Next() {
		var mid, sid string
		if err := list.Scan(&mid, &sid); err != nil {
			return fmt.Errorf("load student ids: %w", err)
		}
		if m := byID[strings.ToLower(mid)]; m != nil {
			m.StudentIDs = append(m.StudentIDs, strings.ToLower(sid))
		}
	}
	if err := list.Err(); err != nil {
		return fmt.Errorf("load student ids: %w", err)
	}
	return nil
}
