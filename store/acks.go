package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

// This file holds acknowledgements: a recipient acknowledging a message
// that asks for it, the counts its sender sees on the message, and the
// listing of who has and has not acknowledged. Escalation, which contacts
// again those who have not, is in escalation.go.

var _ whitecross.AckService = (*Store)(nil)

// errNoAckRequested answers acknowledgement requests about a message that
// does not ask for one.
func errNoAckRequested() error {
	return whitecross.Errorf(whitecross.ECONFLICT, "This message does not ask recipients to acknowledge it.")
}

// Acknowledge implements whitecross.AckService. In one transaction it sets
// the caller's acked_at (only if unset: concurrent or repeated
// acknowledgements keep the first), marks the message read as SetRead does
// (acknowledging is reading), appends ack.received for the sender and
// records message.acknowledged. Acknowledging again changes nothing and
// is not an error. ENOTFOUND "Message not found." for anyone who is not a
// recipient the message reached (its sender and admins included: they have
// nothing to acknowledge, and others must not learn it exists); ECONFLICT
// when the message does not ask for acknowledgement; EUNAUTHORIZED without
// a caller.
func (s *Store) Acknowledge(ctx context.Context, id string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	id, ok := parseID(id)
	if !ok || a.System {
		return errMessageNotFound()
	}
	ev := &txEvents{}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		var requested bool
		var senderID string
		var ackedAt *time.Time
		err := tx.QueryRow(ctx, `SELECT m.ack_requested, m.sender_id, mr.acked_at
			FROM messages m JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
			WHERE m.tenant_id = $1 AND m.id = $2 AND mr.delivered_at IS NOT NULL`, a.TenantID, id, callerID(a)).
			Scan(&requested, &senderID, &ackedAt)
		switch {
		case whitecross.ErrorCode(err) == whitecross.ENOTFOUND:
			return errMessageNotFound()
		case err != nil:
			return fmt.Errorf("find message: %w", err)
		case !requested:
			return errNoAckRequested()
		case ackedAt != nil:
			return nil // the first acknowledgement stands
		}
		now := s.db.now()
		n, err := tx.Exec(ctx, `UPDATE message_recipients SET acked_at = $4
			WHERE tenant_id = $1 AND message_id = $2 AND user_id = $3 AND acked_at IS NULL`, a.TenantID, id, callerID(a), now)
		if err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		if n == 0 {
			return nil // a concurrent acknowledgement won: it is the first
		}
		if _, err := s.markRead(ctx, tx, a, id, now, ev); err != nil {
			return fmt.Errorf("acknowledge: mark read: %w", err)
		}
		ev.add(whitecross.Event{TenantID: a.TenantID, UserID: strings.ToLower(senderID), Type: whitecross.EventAckReceived,
			MessageID: id, ActorID: callerID(a), At: now})
		if err := s.flushEvents(ctx, tx, ev); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, whitecross.AuditMessageAcknowledged, "message", id, map[string]string{})
	})
	if err != nil {
		return err
	}
	s.notifyEvents(ctx, ev)
	return nil
}

// ListAcks implements whitecross.AckService, with the message's counts: a
// keyset over (lower-cased name, user id), so pages never skip or repeat a recipient while others
// acknowledge (one who acknowledges moves from pending to acked and may be
// missed by a pending listing already past them, never shown twice).
func (s *Store) ListAcks(ctx context.Context, id string, f whitecross.AckFilter) (*whitecross.AckPage, error) {
	a, limit, err := pagingCaller(ctx, f.Limit)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	id, err = s.reportAccess(ctx, q, a, id)
	if whitecross.ErrorCode(err) == whitecross.EFORBIDDEN {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only the sender can see who acknowledged a message.")
	} else if err != nil {
		return nil, err
	}
	var requested bool
	page := &whitecross.AckPage{Items: []*whitecross.Ack{}}
	if err := q.QueryRow(ctx, `SELECT ack_requested, recipient_count,
		(SELECT COUNT(*) FROM message_recipients WHERE message_id = $1 AND acked_at IS NOT NULL)
		FROM messages WHERE id = $1`, id).Scan(&requested, &page.Summary.Requested, &page.Summary.Acked); err != nil {
		return nil, fmt.Errorf("find message: %w", err)
	}
	if !requested {
		return nil, errNoAckRequested()
	}
	args := queryArgs{id}
	where := []string{`mr.message_id = $1`}
	switch whitecross.AckStatus(strings.ToLower(strings.TrimSpace(string(f.Status)))) {
	case "":
	case whitecross.AckStatusAcked:
		where = append(where, `mr.acked_at IS NOT NULL`)
	case whitecross.AckStatusPending:
		where = append(where, `mr.acked_at IS NULL`)
	default:
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.status", string(f.Status), "Status must be acked or pending.")
	}
	if f.Cursor != "" {
		name, after, err := decodeUserCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		n, i := args.add(name), args.add(after)
		where = append(where, `LOWER(u.name) >= `+n, `(LOWER(u.name) > `+n+` OR mr.user_id > `+i+`)`)
	}
	// By message_id, as the other reports: reportAccess checked the tenant.
	rows, err := queryAll(ctx, q, scanAckRow, `SELECT mr.user_id, u.name, mr.acked_at, LOWER(u.name)
		FROM message_recipients mr JOIN users u ON u.id = mr.user_id
		WHERE `+strings.Join(where, ` AND `)+`
		ORDER BY LOWER(u.name), mr.user_id LIMIT `+args.add(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("list acknowledgements: %w", err)
	}
	rows, page.NextCursor = keysetPage(rows, limit, func(last ackRow) string {
		return encodeUserCursor(last.lowerName, last.ack.UserID)
	})
	for _, r := range rows {
		page.Items = append(page.Items, r.ack)
	}
	return page, nil
}

// ackRow is a row of ListAcks with the lower-cased name its cursor keys on.
type ackRow struct {
	ack       *whitecross.Ack
	lowerName string
}

func scanAckRow(r Row) (ackRow, error) {
	var out ackRow
	var ack whitecross.Ack
	if err := r.Scan(&ack.UserID, &ack.Name, &ack.AckedAt, &out.lowerName); err != nil {
		return out, err
	}
	ack.UserID, ack.AckedAt = strings.ToLower(ack.UserID), utcPtr(ack.AckedAt)
	out.ack = &ack
	return out, nil
}

// loadAckCounts sets AckSummary of the messages of byID (those whose
// caller sees every recipient) that ask for acknowledgement: requested is
// the recipient count, acked one indexed count per message.
func (s *Store) loadAckCounts(ctx context.Context, q Querier, byID map[string]*whitecross.Message) error {
	var ids []string
	for id, m := range byID {
		if m.AckRequested {
			m.AckSummary = &whitecross.AckSummary{Requested: m.RecipientCount}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT message_id, COUNT(*) FROM message_recipients
		WHERE message_id IN (`+placeholders(1, len(ids))+`) AND acked_at IS NOT NULL GROUP BY message_id`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("count acknowledgements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var n int
		if err := rows.Scan(&mid, &n); err != nil {
			return fmt.Errorf("count acknowledgements: %w", err)
		}
		if m := byID[strings.ToLower(mid)]; m != nil {
			m.AckSummary.Acked = n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count acknowledgements: %w", err)
	}
	return nil
}

// storeAckRequest records, in the send transaction, that message id asks
// for acknowledgement and how it escalates (nothing when ack is nil).
func storeAckRequest(ctx context.Context, tx *Tx, id string, ack *ackRequest) error {
	if ack == nil {
		return nil
	}
	var esc *string
	if ack.escalation != nil {
		b, err := json.Marshal(ack.escalation)
		if err != nil {
			return fmt.Errorf("encode escalation: %w", err)
		}
		text := string(b)
		esc = &text
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET ack_requested = TRUE, escalation = $2 WHERE id = $1`, id, esc); err != nil {
		return fmt.Errorf("store acknowledgement request: %w", err)
	}
	return nil
}

// decodeEscalation reads messages.escalation (nil for NULL).
func decodeEscalation(raw *string) (*whitecross.Escalation, error) {
	if raw == nil || *raw == "" {
		return nil, nil
	}
	var e whitecross.Escalation
	if err := json.Unmarshal([]byte(*raw), &e); err != nil {
		return nil, fmt.Errorf("decode escalation: %w", err)
	}
	if e.Channels == nil {
		e.Channels = []whitecross.Channel{}
	}
	return &e, nil
}
