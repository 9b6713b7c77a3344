package store

import (
	"context"
	"fmt"
	"strings"

	"whitecross"
)

// This file holds what the realtime gateway reads besides the event log
// (events.go): the content of the events it sends, and who may see typing
// and presence. They are system operations that take the tenant as an
// argument (the gateway acts for many users at once), except ThreadAudience,
// which acts as the caller in ctx.

// EventMessage returns message messageID for realtime message.created
// frames. forSender gives the sender's view (every recipient id and the read
// count, as GET /messages/{id} shows the sender); otherwise the recipients'
// shared view, with RecipientIDs empty: the gateway puts each recipient's
// own id there, so one load (and one decryption) serves a whole fan-out.
// ReadAt and ArchivedAt are nil (the message as it arrived). A sensitive
// message comes without body and attachments, as in lists: a frame is not
// an audited read (the app fetches the detail). ENOTFOUND
// "Message not found." for an unknown message or tenant. Not audited: it is
// the push of a message to the people it was sent to.
func (s *Store) EventMessage(ctx context.Context, tenantID, messageID string, forSender bool) (*whitecross.Message, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok := parseID(tenantID)
	if !ok {
		return nil, errMessageNotFound()
	}
	a := &whitecross.Actor{TenantID: tenantID, System: true}
	if forSender {
		return s.loadMessage(ctx, s.db.Reader(), a, messageID, listContent)
	}
	id, ok := parseID(messageID)
	if !ok {
		return nil, errMessageNotFound()
	}
	row, err := scanMessageRow(s.db.Reader().QueryRow(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
		WHERE m.tenant_id = $1 AND m.id = $2`, tenantID, id, noUser))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errMessageNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("load event message: %w", err)
	}
	if err := loadStudentIDs(ctx, s.db.Reader(), []*messageRow{row}); err != nil {
		return nil, err
	}
	if err := s.openRows(ctx, []*messageRow{row}, listContent); err != nil {
		return nil, err
	}
	row.msg.RecipientIDs = []string{}
	return row.msg, nil
}

// EventDelivery returns one delivery as delivery.updated shows it, in its
// current state: for events replayed from the log and those of other
// instances (a live event of this one carries the delivery as committed).
// ENOTFOUND when it does not exist in the tenant.
func (s *Store) EventDelivery(ctx context.Context, tenantID, deliveryID string) (*whitecross.Delivery, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	deliveryID, ok2 := parseID(deliveryID)
	if !ok1 || !ok2 {
		return nil, errDeliveryNotFound()
	}
	d, err := scanDeliveryWork(s.db.Reader().QueryRow(ctx, `SELECT `+deliveryWorkColumns("")+`
		FROM deliveries WHERE id = $1 AND tenant_id = $2`, deliveryID, tenantID))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, errDeliveryNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("load event delivery: %w", err)
	}
	return d, nil
}

// ThreadAudience returns who sees the caller typing in thread threadID: the
// people a reply by the caller in that thread would reach. That is the
// sender of every message of the thread the caller received, and the single
// recipient of every one-to-one message the caller sent in it; never the
// recipients of a broadcast. ENOTFOUND "Thread not found." when the caller
// has no message in the thread (or it does not exist); EUNAUTHORIZED
// without a caller.
func (s *Store) ThreadAudience(ctx context.Context, threadID string) ([]string, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	notFound := whitecross.Errorf(whitecross.ENOTFOUND, "Thread not found.")
	threadID, ok := parseID(threadID)
	if !ok {
		return nil, notFound
	}
	self := callerID(a)
	rows, err := s.db.Reader().Query(ctx, `SELECT m.sender_id, m.recipient_count, mr.user_id FROM messages m
		JOIN message_recipients mr ON mr.message_id = m.id
		WHERE m.tenant_id = $1 AND m.thread_id = $2 AND mr.delivered_at IS NOT NULL
		AND (mr.user_id = $3 OR (m.sender_id = $3 AND m.recipient_count = 1))`, a.TenantID, threadID, self)
	if err != nil {
		return nil, fmt.Errorf("thread audience: %w", err)
	}
	defer rows.Close()
	found := false
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var sender, recipient string
		var count int
		if err := rows.Scan(&sender, &count, &recipient); err != nil {
			return nil, fmt.Errorf("thread audience: %w", err)
		}
		found = true
		other := strings.ToLower(sender)
		if other == self {
			other = strings.ToLower(recipient)
		}
		if other != self && !seen[other] {
			seen[other] = true
			out = append(out, other)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("thread audience: %w", err)
	}
	if !found {
		// A broadcast's sender is in the thread but reaches nobody by typing.
		var one int
		err := s.db.Reader().QueryRow(ctx, `SELECT 1 FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND sender_id = $3 LIMIT 1`,
			a.TenantID, threadID, self).Scan(&one)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return nil, notFound
		} else if err != nil {
			return nil, fmt.Errorf("thread audience: %w", err)
		}
	}
	return out, nil
}

// Messagers returns those of candidates (user ids, any number) who may
// message user userID of tenantID: whom presence of that user is shown to.
// The rule of reach.go is symmetric between non-ADMIN users (a nurse may
// message a guardian exactly when the guardian may message the nurse), so
// this asks whom the user may message; ADMIN candidates may message anyone,
// and only staff near an ADMIN's locations may message the ADMIN. Unknown,
// deactivated and malformed candidates are left out, and nobody may message
// a deactivated user; ENOTFOUND when the user does not exist in the tenant.
func (s *Store) Messagers(ctx context.Context, tenantID, userID string, candidates []string) ([]string, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok1 := parseID(tenantID)
	userID, ok2 := parseID(userID)
	if !ok1 || !ok2 {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	var role string
	var active bool
	err := s.db.Reader().QueryRow(ctx, `SELECT role, deactivated_at IS NULL FROM users WHERE tenant_id = $1 AND id = $2`,
		tenantID, userID).Scan(&role, &active)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("messagers: %w", err)
	}
	if !active {
		return nil, nil // nobody may message a deactivated user
	}
	as := &whitecross.Actor{TenantID: tenantID, UserID: userID, Role: whitecross.Role(role)}
	extra := ""
	if as.Role == whitecross.RoleAdmin {
		// Reached like a staff member placed where the ADMIN is; guardians
		// never message an ADMIN.
		as.Role, extra = whitecross.RoleStaff, ` AND u.role <> 'GUARDIAN'`
	}
	r := reach{as}
	canon := make([]string, 0, len(candidates))
	for _, id := range candidates {
		if c, ok := parseID(id); ok && c != userID {
			canon = append(canon, c)
		}
	}
	var out []string
	for _, batch := range batches(canon) {
		rows, err := s.db.Reader().Query(ctx, reachWith+`SELECT u.id FROM users u WHERE u.tenant_id = $1 AND u.id IN (`+
			placeholders(3, len(batch))+`) AND ((u.role = 'ADMIN' AND u.deactivated_at IS NULL) OR (`+r.messageable("u")+extra+`))`,
			append(r.args(), anySlice(batch)...)...)
		if err != nil {
			return nil, fmt.Errorf("messagers: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("messagers: %w", err)
			}
			out = append(out, strings.ToLower(id))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("messagers: %w", err)
		}
	}
	return out, nil
}
