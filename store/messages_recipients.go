package store

import (
	"context"
	"fmt"
	"strings"

	"whitecross"
)

// Recipients implements whitecross.BroadcastReportService: one page of the
// message's recipients by user id, each with the receipt Receipts gives
// (delivered_at, read_at), read as one range of the recipients' primary
// key, so a page costs the same at 100 and at 100,000 recipients. cursor is
// the previous page's next_cursor ("" for the first page); EINVALID
// query.cursor for anything else. Errors as reportAccess; EUNAUTHORIZED
// without a caller.
func (s *Store) Recipients(ctx context.Context, id, cursor string, limit int) (*whitecross.RecipientPage, error) {
	q, id, after, limit, err := s.recipientPage(ctx, id, cursor, limit)
	if err != nil {
		return nil, err
	}
	items, err := queryAll(ctx, q, scanReceipt, `SELECT mr.user_id, u.name, u.role, mr.delivered_at, mr.first_read_at
		FROM message_recipients mr JOIN users u ON u.id = mr.user_id
		WHERE mr.message_id = $1 AND mr.user_id > $2 ORDER BY mr.user_id LIMIT $3`, id, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("list recipients: %w", err)
	}
	page := &whitecross.RecipientPage{}
	page.Items, page.NextCursor = keysetPage(items, limit, func(last *whitecross.Receipt) string { return last.UserID })
	return page, nil
}

// scanReceipt scans user_id, name, role, delivered_at and first_read_at.
func scanReceipt(row Row) (*whitecross.Receipt, error) {
	var r whitecross.Receipt
	var role string
	if err := row.Scan(&r.UserID, &r.Name, &role, &r.DeliveredAt, &r.ReadAt); err != nil {
		return nil, err
	}
	r.UserID, r.Role = strings.ToLower(r.UserID), whitecross.Role(role)
	r.DeliveredAt, r.ReadAt = utcPtr(r.DeliveredAt), utcPtr(r.ReadAt)
	return &r, nil
}
