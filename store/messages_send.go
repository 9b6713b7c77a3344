package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.MessageService = (*Store)(nil)

// SendMessage implements whitecross.MessageService. It validates in (EINVALID
// naming the field: body.subject, body.recipient_ids[i], body.attachments[i].url,
// ...), checks the students it is about (validStudentIDs: EINVALID naming
// body.student_ids[i] for one the caller may not see), replays a known Idempotency-Key (the original message, or ECONFLICT
// for a different request), applies the send policy (applySendPolicy:
// EFORBIDDEN naming body.category or body.priority for what the caller's
// role may not send, EINVALID body.channels[i] for a channel the district
// does not allow; the sensitive flag from the request and the district's
// sensitive_by_default), resolves the audience and checks the caller may
// message it (resolveAudience: EINVALID for an unknown, other-tenant or
// deactivated recipient, EFORBIDDEN for one the caller may not message, both
// naming body.recipient_ids[i]; EINVALID body.group_ids[i] for a group the
// caller may not use), then in one
// transaction stores the message (content sealed), its recipients, the
// idempotency key, an audit event (message.sent: counts, category,
// priority, sensitive — never content) and its dispatch. Nothing is
// stored when anything fails.
//
// Dispatch: a message sent now to at most InlineDispatchMax recipients, or
// any message when the store has no queue, is put into every inbox in the
// same transaction (status SENT on return); otherwise a dispatch job is
// enqueued in the transaction (status SENDING, or SCHEDULED until
// scheduled_at). Without a queue a scheduled message stays SCHEDULED: only
// the queue dispatches scheduled messages. EFORBIDDEN for the system caller
// (a message needs a sending user); EUNAUTHORIZED without a caller.
func (s *Store) SendMessage(ctx context.Context, in *whitecross.MessageCreate) (*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if a.System {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Messages are sent by users; the system cannot send one.")
	}
	d, err := validateMessage(in, s.db.now())
	if err != nil {
		return nil, err
	}
	ack, err := validAckRequest(in)
	if err != nil {
		return nil, err
	}
	// A replay answers before the audience is checked again: the original
	// request was accepted even if a recipient has been deactivated since.
	if id, err := replayedMessageID(ctx, s.db.Reader(), a, in.IdempotencyKey, in.RequestHash); err != nil {
		return nil, err
	} else if id != "" {
		return s.loadMessage(ctx, s.db.Reader(), a, id, fullContent)
	}
	if err := applySendPolicy(ctx, s.db.Reader(), a, d, in); err != nil {
		return nil, err
	}
	if err := checkEscalationChannels(ctx, s.db.Reader(), a.TenantID, in, ack); err != nil {
		return nil, err
	}
	if d.studentIDs, err = s.validStudentIDs(ctx, a, in.StudentIDs); err != nil {
		return nil, err
	}
	if d.audience != nil {
		if err := s.checkAudience(ctx, s.db.Reader(), a, in.Audience, d.audience); err != nil {
			return nil, err
		}
		if d.pendingApproval, err = s.needsApproval(ctx, a, d.audience); err != nil {
			return nil, err
		}
	}
	// The audience is resolved before the write transaction, on the read
	// pool, so that checking 10,000 recipients never holds SQLite's single
	// writer. A recipient deactivated in the milliseconds between the check
	// and the commit still receives the message.
	recipients, err := s.resolveAudience(ctx, a, in.RecipientIDs, in.GroupIDs, d.audience != nil)
	if err != nil {
		return nil, err
	}
	// ev holds the realtime events of the attempt that committed (a replay
	// after a lost idempotency race appends none).
	var ev *txEvents
	msg, err := s.sendIdempotent(ctx, a, in.IdempotencyKey, in.RequestHash, func(tx *Tx) (string, error) {
		ev = &txEvents{}
		m := &outgoing{draft: *d, tenantID: a.TenantID, id: newID(), recipients: recipients,
			idempotencyKey: in.IdempotencyKey, requestHash: in.RequestHash}
		m.threadID = m.id
		if err := s.storeOutgoing(ctx, tx, a, m, map[string]string{}); err != nil {
			return "", err
		}
		if err := storeAckRequest(ctx, tx, m.id, ack); err != nil {
			return "", err
		}
		return m.id, s.dispatchOutgoing(ctx, tx, m, false, ev)
	})
	if err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return msg, nil
}

// outgoing is a validated message with its audience, ready to store.
type outgoing struct {
	draft
	tenantID       string
	id, threadID   string
	replyToID      *string
	recipients     []string // canonical user ids, sorted, without the sender
	idempotencyKey string
	requestHash    []byte
}

// status is the status a new message starts in.
func (m *outgoing) status() whitecross.MessageStatus {
	if m.pendingApproval {
		return whitecross.MessagePendingApproval
	}
	if m.scheduledAt != nil {
		return whitecross.MessageScheduled
	}
	return whitecross.MessageSending
}

func (m *outgoing) urgent() bool {
	return m.priority == whitecross.PriorityUrgent || m.category == whitecross.CategoryEmergency
}

// storeOutgoing inserts the message row (content sealed), claims its
// idempotency key, inserts its recipients and records message.sent with
// extra detail added to the standard one.
func (s *Store) storeOutgoing(ctx context.Context, tx *Tx, a *whitecross.Actor, m *outgoing, extra map[string]string) error {
	now := s.db.now()
	sc, err := s.sealContent(ctx, tx, m.tenantID, m.id, m.subject, m.body, m.attachments)
	if err != nil {
		return err
	}
	aud, err := encodeAudience(m.audience)
	if err != nil {
		return err
	}
	chans := make([]string, len(m.channels))
	for i, c := range m.channels {
		chans[i] = string(c)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO messages (id, tenant_id, thread_id, reply_to_id, sender_id,
		subject_sealed, body_sealed, attachments_sealed, key_id, body_format, category, priority, channels,
		sensitive, status, recipient_count, scheduled_at, sent_at, created_at, updated_at, audience)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL, $18, $18, $19)`,
		m.id, a.TenantID, m.threadID, m.replyToID, callerID(a), sc.Subject, sc.Body, sc.Attachments, sc.KeyID,
		string(m.format), string(m.category), string(m.priority), strings.Join(chans, ","), m.sensitive,
		string(m.status()), len(m.recipients), m.scheduledAt, now, aud); err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if err := s.claimIdempotencyKey(ctx, tx, a, m.idempotencyKey, m.requestHash, m.id); err != nil {
		return err
	}
	if err := insertRecipients(ctx, tx, a.TenantID, m.id, m.recipients); err != nil {
		return err
	}
	if err := insertMessageStudents(ctx, tx, a.TenantID, m.id, m.studentIDs); err != nil {
		return err
	}
	detail := map[string]string{
		"recipient_count": strconv.Itoa(len(m.recipients)),
		"category":        string(m.category),
		"priority":        string(m.priority),
		"sensitive":       strconv.FormatBool(m.sensitive),
	}
	if m.scheduledAt != nil {
		detail["scheduled_at"] = m.scheduledAt.Format(time.RFC3339Nano)
	}
	if aud != nil {
		detail["audience"] = *aud // ids, roles and grades: no content
	}
	if len(m.studentIDs) > 0 {
		detail["student_ids"] = strings.Join(m.studentIDs, ",")
	}
	if m.pendingApproval {
		detail["status"] = string(whitecross.MessagePendingApproval)
	}
	for k, v := range extra {
		detail[k] = v
	}
	return s.auditTx(ctx, tx, whitecross.AuditMessageSent, "message", m.id, detail)
}

// insertRecipients inserts one message_recipients row per user in
// multi-row statements.
func insertRecipients(ctx context.Context, tx *Tx, tenantID, messageID string, users []string) error {
	for len(users) > 0 {
		n := min(len(users), tx.rowsPerInsert())
		var b strings.Builder
		b.WriteString(`INSERT INTO message_recipients (tenant_id, message_id, user_id) VALUES `)
		args := make([]any, 0, n+2)
		args = append(args, tenantID, messageID)
		for i, u := range users[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, u)
			fmt.Fprintf(&b, "($1, $2, $%d)", len(args))
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert recipients: %w", err)
		}
		users = users[n:]
	}
	return nil
}

// dispatchOutgoing dispatches a newly stored message: inline in tx (looping
// over batches until it is SENT) when forceInline, when the store has no
// queue, or for an immediate message of at most InlineDispatchMax
// recipients; otherwise it enqueues a dispatch job in tx. A scheduled
// message without a queue stays SCHEDULED. The sender (for their other tabs)
// and every recipient dispatched inline get message.created, appended to
// the log in one flush at the end.
func (s *Store) dispatchOutgoing(ctx context.Context, tx *Tx, m *outgoing, forceInline bool, ev *txEvents) error {
	if err := s.dispatchOutgoingBatches(ctx, tx, m, forceInline, ev); err != nil {
		return err
	}
	// The same time as the recipients' events, so all go in one statement.
	at := s.db.now()
	if n := len(ev.pending); n > 0 {
		at = ev.pending[n-1].At
	}
	ev.addMessageCreated(m.tenantID, m.id, []string{callerID(whitecross.ActorFromContext(ctx))}, at)
	return s.flushEvents(ctx, tx, ev)
}

// dispatchOutgoingBatches is dispatchOutgoing before the events are appended.
func (s *Store) dispatchOutgoingBatches(ctx context.Context, tx *Tx, m *outgoing, forceInline bool, ev *txEvents) error {
	if m.pendingApproval {
		return nil // Approve dispatches it
	}
	// A broadcast is always queued: accepting it is one message row and
	// one job whatever its audience's size.
	inline := forceInline || s.queue == nil || (m.scheduledAt == nil && m.audience == nil && len(m.recipients) <= InlineDispatchMax)
	if !inline {
		job := DispatchJob{TenantID: m.tenantID, MessageID: m.id, RunAt: s.db.now(), ScheduledAt: m.scheduledAt, Urgent: m.urgent()}
		if m.scheduledAt != nil {
			job.RunAt = *m.scheduledAt
		}
		if err := s.queue.EnqueueDispatch(ctx, tx, job); err != nil {
			return fmt.Errorf("enqueue dispatch: %w", err)
		}
		return nil
	}
	if m.scheduledAt != nil {
		return nil
	}
	for {
		done, err := s.dispatchBatch(ctx, tx, DispatchJob{TenantID: m.tenantID, MessageID: m.id}, ev)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// resolveAudience returns the canonical, sorted user ids a message goes to:
// recipientIDs and the members of groupIDs, without repeats and without the
// sender. Every recipient id must be an active user of the tenant (EINVALID
// body.recipient_ids[i] otherwise) whom the caller may message (EFORBIDDEN
// body.recipient_ids[i]); every group must be one the caller may message
// (EINVALID body.group_ids[i]). Group members the caller may not message or
// who are deactivated are left out silently: a group is an audience whose
// membership changes, and one member who left must not block a broadcast.
// EINVALID body.recipient_ids when nobody is left (unless a broadcast
// audience, resolved at dispatch, comes beside them: broadcast), or when
// they exceed MaxRecipientsPerSend.
func (s *Store) resolveAudience(ctx context.Context, a *whitecross.Actor, recipientIDs, groupIDs []string, broadcast bool) ([]string, error) {
	self := callerID(a)
	canon := make([]string, len(recipientIDs))
	for i, id := range recipientIDs {
		c, ok := parseID(id)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.recipient_ids[%d]", i), id, "Recipient id must be a UUID.")
		}
		canon[i] = c
	}
	direct, _ := dedupe(canon)
	direct = slices.DeleteFunc(direct, func(id string) bool { return id == self })
	if err := s.checkDirectRecipients(ctx, a, direct, canon, recipientIDs); err != nil {
		return nil, err
	}
	audience := make(map[string]bool, len(direct))
	for _, id := range direct {
		audience[id] = true
	}
	members, err := s.groupMembers(ctx, groupIDs)
	if err != nil {
		return nil, err
	}
	var candidates []string
	for _, id := range members {
		if !audience[id] && id != self {
			candidates = append(candidates, id)
			audience[id] = true
		}
	}
	for len(candidates) > 0 {
		n := min(len(candidates), maxGroupMembers)
		ok, err := s.filterMessageable(ctx, s.db.Reader(), a, candidates[:n])
		if err != nil {
			return nil, err
		}
		for _, id := range candidates[:n] {
			if !ok[id] {
				delete(audience, id)
			}
		}
		candidates = candidates[n:]
	}
	if len(audience) == 0 && !broadcast {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.recipient_ids", nil,
			"No recipients left: you cannot message yourself, and no group member is one you may message.")
	}
	if len(audience) > whitecross.MaxRecipientsPerSend {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.group_ids", len(audience),
			"A message can reach at most %d people; these groups have %d.", whitecross.MaxRecipientsPerSend, len(audience))
	}
	out := make([]string, 0, len(audience))
	for id := range audience {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// checkDirectRecipients checks the recipient ids the caller named (direct:
// canonical and unique; canon and given: every id of the request, canonical
// and as given, for the error's field and value).
// The first problem in request order is reported; an unknown or deactivated
// user (EINVALID) before one the caller may not message (EFORBIDDEN).
func (s *Store) checkDirectRecipients(ctx context.Context, a *whitecross.Actor, direct, canon, given []string) error {
	if len(direct) == 0 {
		return nil
	}
	ok, err := s.filterMessageable(ctx, s.db.Reader(), a, direct)
	if err != nil {
		return err
	}
	var refused []string
	for _, id := range direct {
		if !ok[id] {
			refused = append(refused, id)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	// Only the refused ids are looked at again, to tell which error applies.
	active := map[string]bool{}
	exists := map[string]bool{}
	for _, batch := range batches(refused) {
		rows, err := s.db.Reader().Query(ctx, `SELECT id, deactivated_at IS NULL FROM users WHERE tenant_id = $1 AND id IN (`+
			placeholders(2, len(batch))+`)`, append([]any{a.TenantID}, anySlice(batch)...)...)
		if err != nil {
			return fmt.Errorf("check recipients: %w", err)
		}
		for rows.Next() {
			var id string
			var isActive bool
			if err := rows.Scan(&id, &isActive); err != nil {
				rows.Close()
				return fmt.Errorf("check recipients: %w", err)
			}
			exists[strings.ToLower(id)] = true
			active[strings.ToLower(id)] = isActive
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("check recipients: %w", err)
		}
	}
	pos := make(map[string]int, len(direct))
	for j, id := range canon {
		if _, seen := pos[id]; !seen {
			pos[id] = j
		}
	}
	slices.SortFunc(refused, func(x, y string) int { return pos[x] - pos[y] })
	for _, id := range refused {
		i := pos[id]
		field := fmt.Sprintf("body.recipient_ids[%d]", i)
		switch {
		case !exists[id]:
			return whitecross.FieldErrorf(whitecross.EINVALID, field, given[i], "No such user.")
		case !active[id]:
			return whitecross.FieldErrorf(whitecross.EINVALID, field, given[i], "This user is deactivated.")
		}
	}
	i := pos[refused[0]]
	return whitecross.FieldErrorf(whitecross.EFORBIDDEN, fmt.Sprintf("body.recipient_ids[%d]", i), given[i],
		"You may not message this user.")
}

// groupMembers returns the member ids (canonical, possibly repeated) of the
// groups, each of which the caller must be allowed to message (EINVALID
// body.group_ids[i] "Group not found." otherwise).
func (s *Store) groupMembers(ctx context.Context, groupIDs []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, gid := range groupIDs {
		field := fmt.Sprintf("body.group_ids[%d]", i)
		c, ok := parseID(gid)
		if !ok {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field, gid, "Group not found.")
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		g, err := s.FindGroupByID(ctx, c)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, field, gid, "Group not found.")
		}
		if err != nil {
			return nil, fmt.Errorf("find group: %w", err)
		}
		for _, m := range g.MemberIDs {
			out = append(out, strings.ToLower(m))
		}
	}
	return out, nil
}
