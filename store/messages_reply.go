package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"whitecross"
)

// replyPrefix starts the subject of a reply.
const replyPrefix = "Re: "

// Reply implements whitecross.MessageService. The caller must see message id
// (ENOTFOUND "Message not found." otherwise). A recipient's reply goes to
// the message's sender only, however many recipients the original had, and
// needs no reach check: answering a message one received is always allowed.
// The sender's reply goes to the single recipient of a one-to-one message
// (ECONFLICT for a message with several recipients: send a new message).
// Anyone else who may read the message (an ADMIN) may not reply to it
// (EFORBIDDEN). ECONFLICT when the other party is deactivated, or when the
// sender replies to a message not yet sent (SCHEDULED or CANCELED).
//
// The reply joins the original's thread (thread_id, reply_to_id = id),
// takes the subject "Re: <original subject>" (once; cut to MaxSubjectChars),
// the original's sensitive flag and students (student_ids), and the original's category and priority
// as far as the caller's role may send them (whitecross.ReplyKind: a
// guardian's reply to an EMERGENCY or URGENT message is stored GENERAL or
// HIGH, never refused), and goes
// IN_APP only (a conversation is not re-broadcast to email or SMS; a new
// message chooses channels). It is dispatched inline, even with a queue, and
// audited as message.sent with detail reply=true. A recipient's reply marks
// the original read for them, with its read receipt (SetRead). Body and body_format are
// validated as for SendMessage (EINVALID body.body, body.body_format); the
// Idempotency-Key works as for SendMessage.
func (s *Store) Reply(ctx context.Context, id string, in *whitecross.ReplyCreate) (*whitecross.Message, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if a.System {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Messages are sent by users; the system cannot reply.")
	}
	d := draft{channels: []whitecross.Channel{whitecross.ChannelInApp}, attachments: []whitecross.Attachment{}}
	if d.body, err = validBody(in.Body); err != nil {
		return nil, err
	}
	if d.format, err = validBodyFormat(in.BodyFormat); err != nil {
		return nil, err
	}
	if err := validIdempotencyKey(in.IdempotencyKey); err != nil {
		return nil, err
	}
	if mid, err := replayedMessageID(ctx, s.db.Reader(), a, in.IdempotencyKey, in.RequestHash); err != nil {
		return nil, err
	} else if mid != "" {
		return s.loadMessage(ctx, s.db.Reader(), a, mid, fullContent)
	}
	var ev *txEvents // as in SendMessage
	msg, err := s.sendIdempotent(ctx, a, in.IdempotencyKey, in.RequestHash, func(tx *Tx) (string, error) {
		ev = &txEvents{}
		if err := s.warmContentKeys(ctx, tx, a.TenantID); err != nil {
			return "", err
		}
		// The reply needs the original's subject and thread, not its body.
		orig, err := s.loadMessage(ctx, tx, a, id, listContent)
		if err != nil {
			return "", err
		}
		to, err := replyAddressee(a, orig)
		if err != nil {
			return "", err
		}
		var active bool
		err = tx.QueryRow(ctx, `SELECT deactivated_at IS NULL FROM users WHERE tenant_id = $1 AND id = $2`, a.TenantID, to).Scan(&active)
		if err != nil {
			return "", fmt.Errorf("reply: find addressee: %w", err)
		}
		if !active {
			return "", whitecross.Errorf(whitecross.ECONFLICT, "The person you are replying to is no longer active; your reply cannot be delivered.")
		}
		if orig.Sender.ID != callerID(a) {
			// A recipient who answers has read the message.
			if _, err := s.markRead(ctx, tx, a, orig.ID, s.db.now(), ev); err != nil {
				return "", fmt.Errorf("reply: mark read: %w", err)
			}
		}
		d.subject = replySubject(orig.Subject)
		d.category, d.priority = whitecross.ReplyKind(a.Role, orig.Category, orig.Priority)
		d.sensitive = orig.Sensitive
		d.studentIDs = orig.StudentIDs
		m := &outgoing{draft: d, tenantID: a.TenantID, id: newID(), threadID: orig.ThreadID, replyToID: &orig.ID,
			recipients: []string{to}, idempotencyKey: in.IdempotencyKey, requestHash: in.RequestHash}
		if err := s.storeOutgoing(ctx, tx, a, m, map[string]string{"reply": "true"}); err != nil {
			return "", err
		}
		return m.id, s.dispatchOutgoing(ctx, tx, m, true, ev)
	})
	if err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return msg, nil
}

// replyAddressee returns who a reply by a to orig goes to.
func replyAddressee(a *whitecross.Actor, orig *whitecross.Message) (string, error) {
	self := callerID(a)
	if orig.Sender.ID != self {
		// loadMessage lists only the caller's own id to a recipient.
		for _, r := range orig.RecipientIDs {
			if r == self {
				return orig.Sender.ID, nil
			}
		}
		return "", whitecross.Errorf(whitecross.EFORBIDDEN, "Only the sender and the recipients of a message can reply to it.")
	}
	switch {
	case orig.Status == whitecross.MessageScheduled || orig.Status == whitecross.MessageCanceled:
		return "", whitecross.Errorf(whitecross.ECONFLICT, "This message has not been sent (it is %s); you can reply once it is.", orig.Status)
	case orig.RecipientCount != 1 || len(orig.RecipientIDs) != 1:
		return "", whitecross.Errorf(whitecross.ECONFLICT,
			"This message went to %d people; a reply from its sender goes to one person. Send a new message instead.", orig.RecipientCount)
	}
	return orig.RecipientIDs[0], nil
}

// replySubject is "Re: " and subject, unless subject already starts with
// "Re:" (any case), cut to MaxSubjectChars characters.
func replySubject(subject string) string {
	if len(subject) < 3 || !strings.EqualFold(subject[:3], "re:") {
		subject = replyPrefix + subject
	}
	if utf8.RuneCountInString(subject) > whitecross.MaxSubjectChars {
		subject = string([]rune(subject)[:whitecross.MaxSubjectChars])
	}
	return strings.TrimSpace(subject)
}
