package store

import (
	"context"
	"fmt"

	"whitecross"
)

// Report limits. The summary of Deliveries always counts every delivery;
// the lists stop here so that a 100,000-recipient broadcast does not become
// a response of hundreds of megabytes. recipient_count and read_count of the
// message give the totals.
const (
	MaxDeliveryItems = 10000 // Deliveries: items, ordered by recipient then channel
	MaxReceipts      = 10000 // Receipts: receipts, ordered by name
)

// reportAccess checks that the caller may see the reports of message id and
// returns its canonical id: its sender, an ADMIN or the system. EFORBIDDEN
// for a recipient who may see the message; ENOTFOUND "Message not found."
// for anyone else.
func (s *Store) reportAccess(ctx context.Context, q Querier, a *whitecross.Actor, id string) (string, error) {
	id, ok := parseID(id)
	if !ok {
		return "", errMessageNotFound()
	}
	var senderID string
	var delivered int
	err := q.QueryRow(ctx, `SELECT m.sender_id, CASE WHEN mr.delivered_at IS NULL THEN 0 ELSE 1 END
		FROM messages m LEFT JOIN message_recipients mr ON mr.message_id = m.id AND mr.user_id = $3
		WHERE m.tenant_id = $1 AND m.id = $2`, a.TenantID, id, callerID(a)).Scan(&senderID, &delivered)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return "", errMessageNotFound()
	} else if err != nil {
		return "", fmt.Errorf("find message: %w", err)
	}
	switch {
	case a.System || a.Role == whitecross.RoleAdmin || senderID == callerID(a):
		return id, nil
	case delivered == 1:
		return "", whitecross.Errorf(whitecross.EFORBIDDEN, "Only the sender can see delivery status.")
	}
	return "", errMessageNotFound()
}

// reportTarget returns the caller, the read pool and the canonical id of
// message id, whose reports the caller must be allowed to see
// (reportAccess). EUNAUTHORIZED without a caller.
func (s *Store) reportTarget(ctx context.Context, id string) (*whitecross.Actor, Querier, string, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	q := s.db.Reader()
	id, err = s.reportAccess(ctx, q, a, id)
	return a, q, id, err
}

// Deliveries implements whitecross.MessageService: the message's deliveries
// ordered by recipient id, channel and escalation round (at most MaxDeliveryItems) and a
// summary counting every delivery by status, every status present. Errors
// as reportAccess; EUNAUTHORIZED without a caller.
func (s *Store) Deliveries(ctx context.Context, id string) (*whitecross.DeliveryReport, error) {
	_, q, id, err := s.reportTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	rep := &whitecross.DeliveryReport{Items: []*whitecross.Delivery{}, Summary: map[whitecross.DeliveryStatus]int{}}
	for _, st := range whitecross.DeliveryStatuses {
		rep.Summary[st] = 0
	}
	// reportAccess checked the message is the tenant's; filtering on
	// message_id alone keeps SQLite (which has no statistics unless ANALYZE
	// ran) on the (message_id, ...) index instead of a scan of the tenant.
	rows, err := q.Query(ctx, `SELECT status, COUNT(*) FROM deliveries WHERE message_id = $1 GROUP BY status`, id)
	if err != nil {
		return nil, fmt.Errorf("summarize deliveries: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summarize deliveries: %w", err)
		}
		rep.Summary[whitecross.DeliveryStatus(st)] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarize deliveries: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT `+deliveryWorkColumns("")+`
		FROM deliveries WHERE message_id = $1 ORDER BY recipient_id, channel, round LIMIT $2`, id, MaxDeliveryItems)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	items, err := collect(rows, func(r Row) (*whitecross.Delivery, error) { return scanDeliveryWork(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	rep.Items = append(rep.Items, items...)
	return rep, nil
}

// Receipts implements whitecross.MessageService: one receipt per recipient
// (delivered_at is nil until the message is in their inbox; read_at is
// when they first read or replied to it, kept when they mark it unread), ordered by
// lower-cased name then user id, at most MaxReceipts. Errors as
// reportAccess; EUNAUTHORIZED without a caller.
func (s *Store) Receipts(ctx context.Context, id string) ([]*whitecross.Receipt, error) {
	_, q, id, err := s.reportTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	// By message_id alone, as in Deliveries.
	rows, err := q.Query(ctx, `SELECT mr.user_id, u.name, u.role, mr.delivered_at, mr.first_read_at
		FROM message_recipients mr JOIN users u ON u.id = mr.user_id
		WHERE mr.message_id = $1 ORDER BY LOWER(u.name), mr.user_id LIMIT $2`, id, MaxReceipts)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	out, err := collect(rows, scanReceipt)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	return append([]*whitecross.Receipt{}, out...), nil
}
