package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

// SetRead implements whitecross.MessageService. Read sets the caller's
// read_at (keeping the first one when already read) and, the first time
// ever, the read receipt its sender sees (see markRead); unread clears
// read_at only, the caller's own box state: a receipt never goes back.
// Not audited: it changes the caller's own view, not the message.
// ENOTFOUND "Message not found." when the caller may not see the message;
// ECONFLICT when the caller sees it but did not receive it (its sender, an
// admin); EUNAUTHORIZED without a caller.
func (s *Store) SetRead(ctx context.Context, id string, read bool) error {
	return s.setRecipientState(ctx, id, "read_at", read)
}

// SetArchived implements whitecross.MessageService: archive sets the
// caller's archived_at (keeping the first one), moving the message from the
// inbox to the archived box; unarchive clears it. Errors as SetRead.
func (s *Store) SetArchived(ctx context.Context, id string, archived bool) error {
	return s.setRecipientState(ctx, id, "archived_at", archived)
}

// setRecipientState sets (on) or clears the caller's column of message id,
// one of read_at and archived_at.
func (s *Store) setRecipientState(ctx context.Context, id, column string, on bool) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	id, ok := parseID(id)
	if !ok {
		return errMessageNotFound()
	}
	set := column + ` = NULL`
	args := []any{a.TenantID, id, callerID(a)}
	if on {
		set = column + ` = COALESCE(` + column + `, $4)`
		args = append(args, s.db.now())
	}
	var n int64
	ev := &txEvents{}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if column == "read_at" && on {
			if n, err = s.markRead(ctx, tx, a, id, args[3].(time.Time), ev); err != nil {
				return err
			}
			return s.flushEvents(ctx, tx, ev)
		}
		n, err = tx.Exec(ctx, `UPDATE message_recipients SET `+set+`
			WHERE tenant_id = $1 AND message_id = $2 AND user_id = $3 AND delivered_at IS NOT NULL`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("set message %s: %w", column, err)
	}
	if n > 0 {
		s.notifyEvents(ctx, ev)
		return nil
	}
	// Not a delivered recipient: tell one who may see the message why, and
	// anyone else that there is no such message.
	var senderID string
	err = s.db.Reader().QueryRow(ctx, `SELECT sender_id FROM messages WHERE tenant_id = $1 AND id = $2`, a.TenantID, id).Scan(&senderID)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return errMessageNotFound()
	} else if err != nil {
		return fmt.Errorf("set message %s: %w", column, err)
	}
	if a.System || a.Role == whitecross.RoleAdmin || senderID == callerID(a) {
		return whitecross.Errorf(whitecross.ECONFLICT, "You are not a recipient of this message.")
	}
	return errMessageNotFound()
}

// markRead marks message id read by the caller, if it was delivered to
// them: read_at, their own box state (the first time kept), and, the first
// time ever, first_read_at, the read receipt its sender sees, adding
// receipt.read for the sender to ev. A receipt records that the person read
// the message: marking it unread clears read_at only, so neither the
// sender's count nor the receipt's time ever goes back, and reading it
// again tells the sender nothing. It returns the rows marked: 0 when the
// caller is not a delivered recipient.
func (s *Store) markRead(ctx context.Context, tx *Tx, a *whitecross.Actor, id string, now time.Time, ev *txEvents) (int64, error) {
	args := []any{a.TenantID, id, callerID(a), now}
	first, err := tx.Exec(ctx, `UPDATE message_recipients SET first_read_at = $4
		WHERE tenant_id = $1 AND message_id = $2 AND user_id = $3 AND delivered_at IS NOT NULL AND first_read_at IS NULL`, args...)
	if err != nil {
		return 0, err
	}
	if first > 0 {
		var senderID string
		if err := tx.QueryRow(ctx, `SELECT sender_id FROM messages WHERE tenant_id = $1 AND id = $2`, a.TenantID, id).Scan(&senderID); err != nil {
			return 0, err
		}
		ev.add(whitecross.Event{TenantID: a.TenantID, UserID: strings.ToLower(senderID), Type: whitecross.EventReceiptRead,
			MessageID: id, ActorID: callerID(a), At: now})
	}
	return tx.Exec(ctx, `UPDATE message_recipients SET read_at = COALESCE(read_at, $4)
		WHERE tenant_id = $1 AND message_id = $2 AND user_id = $3 AND delivered_at IS NOT NULL`, args...)
}
