package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"whitecross"
)

// This file reads single messages. Who may see a message:
//   - its sender;
//   - a recipient once the message is in their inbox (delivered_at set), so a
//     scheduled message stays invisible to its recipients until dispatched;
//   - an ADMIN of the tenant and the system.
//
// Anyone else, including a SCHOOL_ADMIN whose scope covers the people
// involved, gets ENOTFOUND: message content is PHI.
//
// Recipient lists are private: a recipient learns only that they received
// the message (recipient_ids holds only their own id); the sender and admins
// see every recipient and the read count.

// A sensitive message's body and attachments are read through its detail
// view only (FindMessageByID), which is audited. Lists, threads and realtime
// frames carry its subject and the sensitive flag, with an empty body and no
// attachments, and do not even decrypt what they withhold.

// contentView says how much of a message's content a read returns.
type contentView int

const (
	// fullContent is everything: the audited detail view, and the answers
	// to the author's own send, reply or reschedule.
	fullContent contentView = iota
	// listContent withholds the body and attachments of sensitive messages:
	// boxes, threads and realtime frames.
	listContent
)

// errMessageNotFound is the one answer to "no such message" and "not yours".
func errMessageNotFound() error {
	return whitecross.Errorf(whitecross.ENOTFOUND, "Message not found.")
}

// messageColumns are read by scanMessageRow. They expect messages m, the
// sender's users row su and the caller's recipient row mr (LEFT JOIN, so its
// columns are NULL when the caller is not a recipient).
const messageColumns = `m.id, m.tenant_id, m.thread_id, m.reply_to_id, m.sender_id, su.name, su.role,
	m.subject_sealed, m.body_sealed, m.attachments_sealed, m.key_id,
	m.body_format, m.category, m.priority, m.channels, m.sensitive, m.status, m.recipient_count,
	m.scheduled_at, m.sent_at, m.created_at, m.audience,
	mr.user_id, mr.inbox_key, mr.delivered_at, mr.read_at, mr.archived_at,
	m.ack_requested, m.escalation, mr.acked_at`

// messageRow is one scanned message before decryption.
type messageRow struct {
	msg         *whitecross.Message
	sealed      sealedContent
	recipient   bool    // the caller has a recipient row
	inboxKey    *string // the caller's inbox key, when delivered
	deliveredAt *time.Time
}

// scanMessageRow scans messageColumns.
func scanMessageRow(r Row) (*messageRow, error) {
	var (
		row                 messageRow
		m                   whitecross.Message
		role, format, cat   string
		prio, chans, status string
		recipientID         *string
		audience            *string
		escalation          *string
	)
	err := r.Scan(&m.ID, &m.TenantID, &m.ThreadID, &m.ReplyToID, &m.Sender.ID, &m.Sender.Name, &role,
		&row.sealed.Subject, &row.sealed.Body, &row.sealed.Attachments, &row.sealed.KeyID,
		&format, &cat, &prio, &chans, &m.Sensitive, &status, &m.RecipientCount,
		&m.ScheduledAt, &m.SentAt, &m.CreatedAt, &audience,
		&recipientID, &row.inboxKey, &row.deliveredAt, &m.ReadAt, &m.ArchivedAt,
		&m.AckRequested, &escalation, &m.AckedAt)
	if err != nil {
		return nil, err
	}
	sp, err := decodeAudience(audience)
	if err != nil {
		return nil, err
	}
	if sp != nil {
		m.Audience = sp.domain()
	}
	if m.Escalation, err = decodeEscalation(escalation); err != nil {
		return nil, err
	}
	m.Sender.Role = whitecross.Role(role)
	m.BodyFormat = whitecross.BodyFormat(format)
	m.Category = whitecross.Category(cat)
	m.Priority = whitecross.Priority(prio)
	m.Status = whitecross.MessageStatus(status)
	m.Channels = splitChannels(chans)
	m.CreatedAt = m.CreatedAt.UTC()
	m.ScheduledAt = utcPtr(m.ScheduledAt)
	m.SentAt = utcPtr(m.SentAt)
	m.ReadAt = utcPtr(m.ReadAt)
	m.ArchivedAt = utcPtr(m.ArchivedAt)
	m.AckedAt = utcPtr(m.AckedAt)
	row.deliveredAt = utcPtr(row.deliveredAt)
	row.recipient = recipientID != nil
	row.msg = &m
	return &row, nil
}

// splitChannels reads the comma list that messages.channels stores.
func splitChannels(s string) []whitecross.Channel {
	out := []whitecross.Channel{}
	for c := range strings.SplitSeq(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, whitecross.Channel(c))
		}
	}
	return out
}

// utcPtr returns t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// callerID returns the caller's user id for SQL, or a UUID no user has when
// the caller is the system.
func callerID(a *whitecross.Actor) string {
	if id, ok := parseID(a.UserID); ok {
		return id
	}
	return noUser
}

// seesAll reports whether the caller sees every recipient and the read count
// of m: its sender, an ADMIN or the system.
func seesAll(a *whitecross.Actor, m *whitecross.Message) bool {
	return a.System || a.Role == whitecross.RoleAdmin || m.Sender.ID == callerID(a)
}

// visible reports whether the caller may see the message of row.
func (row *messageRow) visible(a *whitecross.Actor) bool {
	return seesAll(a, row.msg) || (row.recipient && row.deliveredAt != nil)
}

// loadMessage returns message id as the caller a sees it, read through q,
// with the content view asks for, without auditing. ENOTFOUND "Message not found." when it does not exist,
// belongs to another tenant, is not a UUID or is not visible to the caller.
func (s *Store) loadMessage(ctx context.Context, q Querier, a *whitecross.Actor, id string, view contentView) (*whitecross.Message, error) {
	id, ok := parseID(id)
	if !ok {
		return nil, errMessageNotFound()
	}
	row, err := scanMessageRow(q.QueryRow(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
		WHERE m.tenant_id = $1 AND m.id = $2`, a.TenantID, id, callerID(a)))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errMessageNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("load message: %w", err)
	}
	if !row.visible(a) {
		// A broadcast waiting for approval is shown to those who may
		// approve it: they must read what they let go.
		if row.msg.Status != whitecross.MessagePendingApproval || a.Role != whitecross.RoleSchoolAdmin {
			return nil, errMessageNotFound()
		}
		if ok, err := s.mayApprove(ctx, q, a, row.msg.ID); err != nil {
			return nil, err
		} else if !ok {
			return nil, errMessageNotFound()
		}
	}
	rows := []*messageRow{row}
	if err := s.fillRecipients(ctx, q, a, rows, whitecross.MaxDetailRecipientIDs); err != nil {
		return nil, err
	}
	if err := loadStudentIDs(ctx, q, rows); err != nil {
		return nil, err
	}
	if err := s.openRows(ctx, rows, view); err != nil {
		return nil, err
	}
	return row.msg, nil
}

// fillRecipients sets RecipientIDs (ordered by id) and ReadCount of every
// row: the recipients (at most perMessage per message: the first by id, and
// the caller when they are one) and
// the read count for a caller who sees all, otherwise only the caller's own
// id. perMessage > 0 caps the ids of each message; 0 loads them all.
func (s *Store) fillRecipients(ctx context.Context, q Querier, a *whitecross.Actor, rows []*messageRow, perMessage int) error {
	byID := make(map[string]*whitecross.Message, len(rows))
	var all []string
	for _, row := range rows {
		m := row.msg
		m.RecipientIDs = []string{}
		if !seesAll(a, m) {
			if row.recipient {
				m.RecipientIDs = append(m.RecipientIDs, callerID(a))
			}
			continue
		}
		zero := 0
		m.ReadCount = &zero
		byID[m.ID] = m
		all = append(all, m.ID)
	}
	if len(all) == 0 {
		return nil
	}
	if err := s.loadRecipientIDs(ctx, q, byID, all, perMessage); err != nil {
		return err
	}
	for _, row := range rows {
		includeCaller(row, a)
	}
	if err := s.loadAckCounts(ctx, q, byID); err != nil {
		return err
	}
	return s.loadReadCounts(ctx, q, byID, all)
}

// includeCaller keeps the caller's own id in the capped recipient list of a
// message they received (an ADMIN among a broadcast's recipients), so that
// a client can always tell the caller is one.
func includeCaller(row *messageRow, a *whitecross.Actor) {
	m, me := row.msg, callerID(a)
	if !row.recipient || slices.Contains(m.RecipientIDs, me) {
		return
	}
	m.RecipientIDs = append(m.RecipientIDs, me)
	slices.Sort(m.RecipientIDs)
}

// loadRecipientIDs sets the recipient ids of the messages ids, sorted. With
// a cap each message contributes one bounded index range (UNION ALL of
// LIMITed subqueries), so a page of broadcasts never reads whole audiences.
func (s *Store) loadRecipientIDs(ctx context.Context, q Querier, byID map[string]*whitecross.Message, ids []string, perMessage int) error {
	query := `SELECT message_id, user_id FROM message_recipients WHERE message_id IN (` + placeholders(1, len(ids)) + `)`
	if perMessage > 0 {
		parts := make([]string, len(ids))
		for i := range ids {
			parts[i] = fmt.Sprintf(`SELECT * FROM (SELECT message_id, user_id FROM message_recipients WHERE message_id = $%d ORDER BY user_id LIMIT %d) r%d`, i+1, perMessage, i)
		}
		query = strings.Join(parts, ` UNION ALL `)
	}
	rows, err := q.Query(ctx, query, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("load recipient ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, uid string
		if err := rows.Scan(&mid, &uid); err != nil {
			return fmt.Errorf("load recipient ids: %w", err)
		}
		if m := byID[strings.ToLower(mid)]; m != nil {
			m.RecipientIDs = append(m.RecipientIDs, strings.ToLower(uid))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load recipient ids: %w", err)
	}
	for _, m := range byID {
		slices.Sort(m.RecipientIDs)
	}
	return nil
}

// loadReadCounts sets ReadCount of the messages ids: the recipients with a
// read receipt (first_read_at), which marking a message unread keeps.
func (s *Store) loadReadCounts(ctx context.Context, q Querier, byID map[string]*whitecross.Message, ids []string) error {
	rows, err := q.Query(ctx, `SELECT message_id, COUNT(*) FROM message_recipients
		WHERE message_id IN (`+placeholders(1, len(ids))+`) AND first_read_at IS NOT NULL GROUP BY message_id`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("count reads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var n int
		if err := rows.Scan(&mid, &n); err != nil {
			return fmt.Errorf("count reads: %w", err)
		}
		if m := byID[strings.ToLower(mid)]; m != nil {
			*m.ReadCount = n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count reads: %w", err)
	}
	return nil
}

// openRows decrypts the subject, body and attachments of every row; with
// listContent a sensitive message's body and attachments stay sealed and
// read as "" and [].
func (s *Store) openRows(ctx context.Context, rows []*messageRow, view contentView) error {
	for _, row := range rows {
		m := row.msg
		withBody := view == fullContent || !m.Sensitive
		subject, body, att, err := s.openContent(ctx, m.TenantID, m.ID, &row.sealed, withBody)
		if err != nil {
			return fmt.Errorf("open message %s: %w", m.ID, err)
		}
		m.Subject, m.Body, m.Attachments = subject, body, att
	}
	return nil
}

// FindMessageByID implements whitecross.MessageService: the message as the
// caller sees it, audited as a read of PHI (message.read, in a group commit with
// other reads: audit_reads.go); the one read
// that returns a sensitive message's body and attachments. The message is
// read outside the write transaction (a large recipient list never holds
// SQLite's writer); a view whose audit event cannot be written fails.
// ENOTFOUND "Message not found." when it does not exist, belongs to another
// tenant or is not visible to the caller; EUNAUTHORIZED without a caller.
func (s *Store) FindMessageByID(ctx context.Context, id string) (*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.loadMessage(ctx, s.db.Reader(), a, id, fullContent)
	if err != nil {
		return nil, err
	}
	if err := s.AuditReads(ctx, "detail", []string{m.ID}); err != nil {
		return nil, fmt.Errorf("audit message view: %w", err)
	}
	return m, nil
}
