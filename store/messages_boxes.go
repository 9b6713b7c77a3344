package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"whitecross"
)

// listRecipientIDsCap caps recipient_ids of each message in listings and
// threads for a caller who sees every recipient (its sender, an ADMIN), so a
// page of broadcasts stays small; recipient_count has the total, the
// message's detail carries up to whitecross.MaxDetailRecipientIDs and
// Recipients pages through them all.
const listRecipientIDsCap = 100

// Boxes are keyset listings, newest first:
//
//	box        rows                                      key (cursor)        since/until on
//	inbox      caller's delivered recipient rows,        inbox_key DESC      delivered_at
//	           not archived
//	archived   caller's delivered, archived rows         inbox_key DESC      delivered_at
//	sent       caller's messages, SENDING or SENT        messages.id DESC    COALESCE(sent_at, created_at)
//	scheduled  caller's messages, SCHEDULED, CANCELED    messages.id DESC    scheduled_at
//	           or PENDING_APPROVAL
//	approvals  others' PENDING_APPROVAL messages the     messages.id DESC    created_at
//	           caller may approve
//
// inbox_key is a UUIDv7 taken when a message lands in an inbox and message
// ids are UUIDv7s taken at creation, so keys only grow: a message that
// arrives while a client pages has a larger key than any cursor and shows up
// on a fresh first page, never on a later page, and no page repeats or
// skips an item that existed when paging began.

// ListMessages implements whitecross.MessageService. Category and priority
// are matched case-insensitively; Unread (read_at not set) applies to inbox
// and archived only; Since is inclusive and Until exclusive, on the box's
// time above. Sensitive messages come without body and attachments, which
// stay sealed (messages_read.go). A page with messages is audited as one
// message.read event naming them (audit_reads.go). EINVALID naming query.box, query.category, query.priority,
// query.sender_id, query.until (before since), query.limit (outside 1..100)
// or query.cursor (not made by this box); EUNAUTHORIZED without a caller.
func (s *Store) ListMessages(ctx context.Context, f whitecross.MessageFilter) (*whitecross.MessagePage, error) {
	a, limit, err := pagingCaller(ctx, f.Limit)
	if err != nil {
		return nil, err
	}
	box, err := validBox(f.Box)
	if err != nil {
		return nil, err
	}
	args := queryArgs{a.TenantID, callerID(a)}
	bq := boxScope(box, f.Unread)
	if box == whitecross.BoxApprovals {
		cond, err := s.approverCondition(ctx, a, &args)
		if err != nil {
			return nil, err
		}
		bq.where = append(bq.where, cond)
	}
	where, err := messageFilterWhere(f, bq.at, &args)
	if err != nil {
		return nil, err
	}
	if f.Cursor != "" {
		after, err := decodeMessageCursor(f.Cursor, box)
		if err != nil {
			return nil, err
		}
		where = append(where, bq.key+` < `+args.add(after))
	}
	rows, err := queryAll(ctx, s.db.Reader(), scanMessageRow, `SELECT `+messageColumns+` FROM `+bq.from+
		` WHERE `+strings.Join(append(bq.where, where...), ` AND `)+` ORDER BY `+bq.key+` DESC LIMIT `+args.add(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	page := &whitecross.MessagePage{Items: []*whitecross.Message{}}
	rows, page.NextCursor = keysetPage(rows, limit, func(last *messageRow) string {
		return encodeMessageCursor(box, bq.cursorKey(last))
	})
	if len(rows) == 0 {
		return page, nil
	}
	if err := s.fillRecipients(ctx, s.db.Reader(), a, rows, listRecipientIDsCap); err != nil {
		return nil, err
	}
	if err := loadStudentIDs(ctx, s.db.Reader(), rows); err != nil {
		return nil, err
	}
	if err := s.openRows(ctx, rows, listContent); err != nil {
		return nil, err
	}
	for _, row := range rows {
		page.Items = append(page.Items, row.msg)
	}
	// A page carries subjects and (but for sensitive messages) bodies:
	// one message.read event names all of them.
	if err := s.AuditReads(ctx, "list", messageIDs(page.Items)); err != nil {
		return nil, fmt.Errorf("audit list read: %w", err)
	}
	return page, nil
}

// messageIDs returns the ids of ms, in order.
func messageIDs(ms []*whitecross.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// boxQuery is what makes one box a listing: the tables, the keyset column
// (key), the column since/until apply to (at) and the rows that belong.
// Its WHERE uses $1 (tenant) and $2 (caller).
type boxQuery struct {
	from, key, at string
	where         []string
	recipient     bool // keyed by the caller's inbox_key, not the message id
}

// cursorKey is the keyset value of row in this box.
func (b boxQuery) cursorKey(row *messageRow) string {
	if b.recipient {
		return *row.inboxKey
	}
	return row.msg.ID
}

// boxScope returns the query of box, as in the table above. Unread counts
// in the recipient boxes only: sent and scheduled have no read state.
func boxScope(box whitecross.Box, unread bool) boxQuery {
	switch box {
	case whitecross.BoxInbox, whitecross.BoxArchived:
		b := boxQuery{
			from:      `message_recipients mr JOIN messages m ON m.id = mr.message_id JOIN users su ON su.id = m.sender_id`,
			key:       `mr.inbox_key`,
			at:        `mr.delivered_at`,
			where:     []string{`mr.tenant_id = $1`, `mr.user_id = $2`, `mr.inbox_key IS NOT NULL`, `mr.delivered_at IS NOT NULL`, `m.tenant_id = $1`, `mr.archived_at IS NULL`},
			recipient: true,
		}
		if box == whitecross.BoxArchived {
			b.where[len(b.where)-1] = `mr.archived_at IS NOT NULL`
		}
		if unread {
			b.where = append(b.where, `mr.read_at IS NULL`)
		}
		return b
	}
	b := boxQuery{
		from:  `messages m JOIN users su ON su.id = m.sender_id LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $2`,
		key:   `m.id`,
		at:    `COALESCE(m.sent_at, m.created_at)`,
		where: []string{`m.tenant_id = $1`, `m.sender_id = $2`, `m.status IN ('SENDING', 'SENT')`},
	}
	switch box {
	case whitecross.BoxScheduled:
		// A canceled message stays here, marked CANCELED, so canceling
		// leaves a trace where the message was; a broadcast waiting for
		// approval waits here too.
		b.at = `m.scheduled_at`
		b.where[len(b.where)-1] = `m.status IN ('PENDING_APPROVAL', 'SCHEDULED', 'CANCELED')`
	case whitecross.BoxApprovals:
		// Whose approval it waits for is ListMessages' approverCondition.
		b.at = `m.created_at`
		b.where = []string{`m.tenant_id = $1`}
	}
	return b
}

// messageFilterWhere returns the conditions of the filter's category,
// priority, sender and since/until (on the box's time column at), adding
// their values to args. EINVALID naming the query parameter at fault.
func messageFilterWhere(f whitecross.MessageFilter, at string, args *queryArgs) ([]string, error) {
	var where []string
	if f.Category != "" {
		c, err := oneOf("query.category", "Unknown category.", f.Category, whitecross.Categories)
		if err != nil {
			return nil, err
		}
		where = append(where, `m.category = `+args.add(string(c)))
	}
	if f.Priority != "" {
		p, err := oneOf("query.priority", "Unknown priority.", f.Priority, whitecross.Priorities)
		if err != nil {
			return nil, err
		}
		where = append(where, `m.priority = `+args.add(string(p)))
	}
	if f.SenderID != "" {
		id, ok := parseID(f.SenderID)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.sender_id", f.SenderID, "Sender id must be a UUID.")
		}
		where = append(where, `m.sender_id = `+args.add(id))
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.until", nil, "Until must not be before since.")
	}
	if f.Since != nil {
		where = append(where, at+` >= `+args.add(f.Since.UTC()))
	}
	if f.Until != nil {
		where = append(where, at+` < `+args.add(f.Until.UTC()))
	}
	return where, nil
}

// oneOf returns v upper-cased and trimmed when it is one of allowed, so
// filters match enums case-insensitively; EINVALID naming field otherwise.
func oneOf[T ~string](field, detail string, v T, allowed []T) (T, error) {
	u := T(strings.ToUpper(strings.TrimSpace(string(v))))
	if !slices.Contains(allowed, u) {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, field, string(v), "%s", detail)
	}
	return u, nil
}

// validBox returns the box, inbox when empty. EINVALID (query.box) for an
// unknown one.
func validBox(b whitecross.Box) (whitecross.Box, error) {
	b = whitecross.Box(strings.ToLower(strings.TrimSpace(string(b))))
	switch b {
	case "":
		return whitecross.BoxInbox, nil
	case whitecross.BoxInbox, whitecross.BoxArchived, whitecross.BoxSent, whitecross.BoxScheduled, whitecross.BoxApprovals:
		return b, nil
	}
	return "", whitecross.FieldErrorf(whitecross.EINVALID, "query.box", string(b), "Box must be inbox, sent, scheduled, archived or approvals.")
}

// encodeMessageCursor makes the opaque cursor after key in box.
func encodeMessageCursor(box whitecross.Box, key string) string {
	return encodePairCursor(string(box), key)
}

// decodeMessageCursor returns the key of a cursor made for box. EINVALID
// (query.cursor) for anything else, including a cursor of another box.
func decodeMessageCursor(c string, box whitecross.Box) (string, error) {
	b, key, ok := decodePairCursor(c, 256)
	if !ok || b != string(box) {
		return "", whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", nil, "Cursor is not valid for this box; start again without it.")
	}
	return key, nil
}

// CountMessages implements whitecross.MessageService: the total and unread
// count of every box (unread is 0 for sent and scheduled), in two queries.
// The scheduled total counts the messages still waiting: canceled ones are
// listed in that box but wait for nothing.
// EUNAUTHORIZED without a caller.
func (s *Store) CountMessages(ctx context.Context) (map[whitecross.Box]whitecross.BoxCount, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	out := map[whitecross.Box]whitecross.BoxCount{
		whitecross.BoxInbox: {}, whitecross.BoxArchived: {}, whitecross.BoxSent: {}, whitecross.BoxScheduled: {},
	}
	q := s.db.Reader()
	rows, err := q.Query(ctx, `SELECT CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END,
		COUNT(*), COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0)
		FROM message_recipients WHERE tenant_id = $1 AND user_id = $2 AND inbox_key IS NOT NULL AND delivered_at IS NOT NULL
		GROUP BY CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END`, a.TenantID, callerID(a))
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	for rows.Next() {
		var archived int
		var c whitecross.BoxCount
		if err := rows.Scan(&archived, &c.Total, &c.Unread); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count messages: %w", err)
		}
		if archived == 1 {
			out[whitecross.BoxArchived] = c
		} else {
			out[whitecross.BoxInbox] = c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT status, COUNT(*) FROM messages
		WHERE tenant_id = $1 AND sender_id = $2 AND status IN ('PENDING_APPROVAL', 'SCHEDULED', 'SENDING', 'SENT') GROUP BY status`, a.TenantID, callerID(a))
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		box := whitecross.BoxSent
		if status == string(whitecross.MessageScheduled) || status == string(whitecross.MessagePendingApproval) {
			box = whitecross.BoxScheduled
		}
		c := out[box]
		c.Total += n
		out[box] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	if a.Role == whitecross.RoleAdmin || a.Role == whitecross.RoleSchoolAdmin {
		args := queryArgs{a.TenantID}
		cond, err := s.approverCondition(ctx, a, &args)
		if err != nil {
			return nil, err
		}
		var c whitecross.BoxCount
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM messages m WHERE m.tenant_id = $1 AND `+cond, args...).Scan(&c.Total); err != nil {
			return nil, fmt.Errorf("count messages: approvals: %w", err)
		}
		c.Unread = c.Total
		out[whitecross.BoxApprovals] = c
	}
	return out, nil
}

// maxThreadMessages caps Thread: a thread is a conversation, and one longer
// than this returns its oldest messages only.
const maxThreadMessages = 500

// Thread implements whitecross.MessageService: the messages of the thread
// of message id that the caller may see (as FindMessageByID), oldest first,
// at most 500. A recipient of a broadcast sees the root and their own
// conversation with the sender, never another recipient's private reply.
// recipient_ids are capped at 100 per message and sensitive messages come
// without body and attachments, as in ListMessages. Audited
// as one message.read event naming the thread's messages (via "thread"). ENOTFOUND
// "Message not found." when the caller may not see message id;
// EUNAUTHORIZED without a caller.
func (s *Store) Thread(ctx context.Context, id string) ([]*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	m, err := s.loadMessage(ctx, q, a, id, listContent)
	if err != nil {
		return nil, err
	}
	visible := `(m.sender_id = $3 OR mr.delivered_at IS NOT NULL)`
	if a.System || a.Role == whitecross.RoleAdmin {
		visible = `(1 = 1)`
	}
	list, err := queryAll(ctx, q, scanMessageRow, `SELECT `+messageColumns+`
		FROM messages m JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
		WHERE m.tenant_id = $1 AND m.thread_id = $2 AND `+visible+`
		ORDER BY m.id LIMIT `+fmt.Sprint(maxThreadMessages), a.TenantID, m.ThreadID, callerID(a))
	if err != nil {
		return nil, fmt.Errorf("load thread: %w", err)
	}
	if err := s.fillRecipients(ctx, q, a, list, listRecipientIDsCap); err != nil {
		return nil, err
	}
	if err := loadStudentIDs(ctx, q, list); err != nil {
		return nil, err
	}
	if err := s.openRows(ctx, list, listContent); err != nil {
		return nil, err
	}
	out := make([]*whitecross.Message, len(list))
	for i, row := range list {
		out[i] = row.msg
	}
	if err := s.AuditReads(ctx, "thread", messageIDs(out)); err != nil {
		return nil, fmt.Errorf("audit thread view: %w", err)
	}
	return out, nil
}
