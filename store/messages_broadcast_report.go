package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.BroadcastReportService = (*Store)(nil)

// reachedElsewhere is a condition on the deliveries row d: its recipient
// read the message or was sent it by some external channel.
const reachedElsewhere = `(EXISTS (SELECT 1 FROM deliveries o WHERE o.message_id = d.message_id AND o.recipient_id = d.recipient_id
	AND o.channel <> 'IN_APP' AND o.status IN ('SENT', 'DELIVERED'))
	OR EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = d.message_id AND r.user_id = d.recipient_id
	AND r.first_read_at IS NOT NULL))`

// notReached is a condition on the message_recipients row mr: the
// recipient has not read the message and no external channel sent it.
const notReached = `mr.first_read_at IS NULL AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.message_id = mr.message_id
	AND o.recipient_id = mr.user_id AND o.channel <> 'IN_APP' AND o.status IN ('SENT', 'DELIVERED'))`

// Report implements whitecross.BroadcastReportService with two grouped
// counts, whatever the audience's size.
func (s *Store) Report(ctx context.Context, id string) (*whitecross.BroadcastReport, error) {
	a, q, id, err := s.reportTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	rep := &whitecross.BroadcastReport{MessageID: id, Channels: map[whitecross.Channel]whitecross.ChannelProgress{}}
	var status string
	// One pass over the message's recipients for every count.
	err = q.QueryRow(ctx, `SELECT m.status, m.recipient_count,
		COALESCE(SUM(CASE WHEN mr.delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN mr.first_read_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN mr.delivered_at IS NOT NULL AND `+notReached+` THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN mr.acked_at IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM messages m LEFT JOIN message_recipients mr ON mr.message_id = m.id
		WHERE m.tenant_id = $1 AND m.id = $2 GROUP BY m.status, m.recipient_count`, a.TenantID, id).
		Scan(&status, &rep.RecipientCount, &rep.InApp, &rep.Read, &rep.NotReached, &rep.Acked)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rep.Status = whitecross.MessageStatus(status)
	rows, err := q.Query(ctx, `SELECT d.channel, d.status, COUNT(*),
		SUM(CASE WHEN d.status IN ('FAILED', 'BOUNCED') AND `+reachedElsewhere+` THEN 1 ELSE 0 END)
		FROM deliveries d WHERE d.message_id = $1 AND d.channel <> 'IN_APP' GROUP BY d.channel, d.status`, id)
	if err != nil {
		return nil, fmt.Errorf("report channels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var channel, st string
		var n, fellBack int
		if err := rows.Scan(&channel, &st, &n, &fellBack); err != nil {
			return nil, fmt.Errorf("report channels: %w", err)
		}
		p := rep.Channels[whitecross.Channel(channel)]
		switch whitecross.DeliveryStatus(st) {
		case whitecross.DeliveryPending:
			p.Pending += n
		case whitecross.DeliverySent:
			p.Sent += n
		case whitecross.DeliveryDelivered:
			p.Delivered += n
		default:
			p.Failed += n - fellBack
			p.FellBack += fellBack
		}
		rep.Channels[whitecross.Channel(channel)] = p
	}
	return rep, rows.Err()
}

// Unreached implements whitecross.BroadcastReportService: a keyset page of
// the recipients not reached, by user id, each with a reason from their
// external deliveries (one query for the page's reasons).
func (s *Store) Unreached(ctx context.Context, id, cursor string, limit int) (*whitecross.UnreachedPage, error) {
	q, id, after, limit, err := s.recipientPage(ctx, id, cursor, limit)
	if err != nil {
		return nil, err
	}
	items, err := queryAll(ctx, q, func(r Row) (*whitecross.Unreached, error) {
		var u whitecross.Unreached
		var role string
		err := r.Scan(&u.UserID, &u.Name, &role)
		u.UserID, u.Role = strings.ToLower(u.UserID), whitecross.Role(role)
		return &u, err
	}, `SELECT mr.user_id, u.name, u.role FROM message_recipients mr JOIN users u ON u.id = mr.user_id
		WHERE mr.message_id = $1 AND mr.delivered_at IS NOT NULL AND mr.user_id > $2 AND `+notReached+`
		ORDER BY mr.user_id LIMIT $3`, id, after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("unreached: %w", err)
	}
	page := &whitecross.UnreachedPage{}
	page.Items, page.NextCursor = keysetPage(items, limit, func(last *whitecross.Unreached) string { return last.UserID })
	return page, s.unreachedReasons(ctx, q, id, page.Items)
}

// unreachedReasons says why each of items was not reached: a delivery
// still waiting, else the last failure, else that only the app carried it.
func (s *Store) unreachedReasons(ctx context.Context, q Querier, messageID string, items []*whitecross.Unreached) error {
	if len(items) == 0 {
		return nil
	}
	byID := make(map[string]*whitecross.Unreached, len(items))
	ids := make([]string, len(items))
	for i, u := range items {
		byID[u.UserID], ids[i] = u, u.UserID
		u.Reason = "In the app, not opened yet."
	}
	args := queryArgs{messageID}
	rows, err := q.Query(ctx, `SELECT recipient_id, channel, status, error FROM deliveries
		WHERE message_id = $1 AND channel <> 'IN_APP' AND recipient_id IN (`+args.list(ids)+`) ORDER BY updated_at, id`, args...)
	if err != nil {
		return fmt.Errorf("unreached reasons: %w", err)
	}
	defer rows.Close()
	waiting := map[string]bool{}
	for rows.Next() {
		var user, channel, status string
		var reason *string
		if err := rows.Scan(&user, &channel, &status, &reason); err != nil {
			return fmt.Errorf("unreached reasons: %w", err)
		}
		u := byID[strings.ToLower(user)]
		switch {
		case u == nil || waiting[u.UserID]:
		case status == string(whitecross.DeliveryPending):
			u.Reason, waiting[u.UserID] = fmt.Sprintf("%s: waiting to be sent.", channel), true
		case reason != nil:
			u.Reason = fmt.Sprintf("%s: %s", channel, *reason)
		default:
			u.Reason = fmt.Sprintf("%s: %s.", channel, strings.ToLower(status))
		}
	}
	return rows.Err()
}

// exportPage is how many deliveries ExportDeliveries reads at a time.
const exportPage = 1000

// ExportDeliveries implements whitecross.BroadcastReportService, in keyset
// pages of exportPage deliveries ordered by recipient, channel and id.
func (s *Store) ExportDeliveries(ctx context.Context, id string, fn func(*whitecross.DeliveryRow) error) error {
	_, q, id, err := s.reportTarget(ctx, id)
	if err != nil {
		return err
	}
	type keyed struct {
		row *whitecross.DeliveryRow
		id  string
	}
	afterUser, afterChannel, afterID := firstUserID, "", firstUserID
	for {
		page, err := queryAll(ctx, q, func(r Row) (keyed, error) {
			var k keyed
			var d whitecross.DeliveryRow
			var role, channel, status string
			err := r.Scan(&k.id, &d.RecipientID, &d.Name, &role, &channel, &status, &d.Error, &d.SentAt, &d.DeliveredAt, &d.ReadAt, &d.AckedAt)
			d.RecipientID, d.Role = strings.ToLower(d.RecipientID), whitecross.Role(role)
			d.Channel, d.Status = whitecross.Channel(channel), whitecross.DeliveryStatus(status)
			for _, t := range []**time.Time{&d.SentAt, &d.DeliveredAt, &d.ReadAt, &d.AckedAt} {
				*t = utcPtr(*t)
			}
			k.row = &d
			return k, err
		}, `SELECT d.id, d.recipient_id, u.name, u.role, d.channel, d.status, d.error, d.sent_at, d.delivered_at, mr.first_read_at,
			mr.acked_at FROM deliveries d JOIN users u ON u.id = d.recipient_id
			LEFT JOIN message_recipients mr ON mr.message_id = d.message_id AND mr.user_id = d.recipient_id
			WHERE d.message_id = $1 AND (d.recipient_id > $2 OR (d.recipient_id = $2 AND (d.channel > $3 OR (d.channel = $3 AND d.id > $4))))
			ORDER BY d.recipient_id, d.channel, d.id LIMIT $5`, id, afterUser, afterChannel, afterID, exportPage)
		if err != nil {
			return fmt.Errorf("export deliveries: %w", err)
		}
		for _, k := range page {
			if err := fn(k.row); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		last := page[len(page)-1]
		afterUser, afterChannel, afterID = last.row.RecipientID, string(last.row.Channel), strings.ToLower(last.id)
	}
}

// recipientPage checks the caller may read the report of message id and
// reads a keyset page request over its recipients: the reader, the
// message's id, the user id the page starts after and the page size.
// EINVALID query.cursor for a cursor that is not a user id.
func (s *Store) recipientPage(ctx context.Context, id, cursor string, limit int) (Querier, string, string, int, error) {
	a, limit, err := pagingCaller(ctx, limit)
	if err != nil {
		return nil, "", "", 0, err
	}
	q := s.db.Reader()
	if id, err = s.reportAccess(ctx, q, a, id); err != nil {
		return nil, "", "", 0, err
	}
	after := firstUserID
	if cursor != "" {
		c, ok := parseID(cursor)
		if !ok {
			return nil, "", "", 0, whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", cursor, "Not a cursor of this list.")
		}
		after = c
	}
	return q, id, after, limit, nil
}
