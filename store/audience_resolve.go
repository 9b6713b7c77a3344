package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

var _ whitecross.AudienceService = (*Store)(nil)

// AudienceBatchSize is how many of the district's users one step of
// resolving an audience looks at: one INSERT … SELECT of those in the
// audience over a range of user ids, in the dispatch transaction.
const AudienceBatchSize = 10000

// firstUserID sorts before every user id: the range of the first batch.
const firstUserID = "00000000-0000-0000-0000-000000000000"

// resolveAudienceBatch adds the audience's users among the next
// AudienceBatchSize users of the district to the message's recipients, inside the dispatch transaction tx
// (the message row is locked), and reports whether the audience is fully
// resolved (true at once for a message without one). The audience is
// resolved with the sender's current role and locations: the rights used
// are those at dispatch, not at send. A user already a recipient (named,
// in a group, or matched before a crash) is not added twice. When no user
// is left, recipient_count becomes the number of recipients and
// message.audience.resolved is audited with it.
func (s *Store) resolveAudienceBatch(ctx context.Context, tx *Tx, tenantID, messageID string, now time.Time) (bool, error) {
	var (
		raw, after     *string
		resolvedAt     *time.Time
		senderID, role string
	)
	err := tx.QueryRow(ctx, `SELECT m.audience, m.audience_after, m.audience_resolved_at, m.sender_id, u.role
		FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.tenant_id = $1 AND m.id = $2`,
		tenantID, messageID).Scan(&raw, &after, &resolvedAt, &senderID, &role)
	if err != nil {
		return false, fmt.Errorf("resolve audience: %w", err)
	}
	sp, err := decodeAudience(raw)
	if err != nil || sp == nil || resolvedAt != nil {
		return err == nil, err
	}
	from := firstUserID
	if after != nil {
		from = *after
	}
	sender := &whitecross.Actor{TenantID: tenantID, UserID: strings.ToLower(senderID), Role: whitecross.Role(role)}
	args := queryArgs(reach{sender}.args())
	with, where := audienceSQL(sender, sp, &args)
	where += ` AND u.id > ` + args.add(from)
	// The step's last id: the AudienceBatchSize-th of the tenant's users
	// after from (none when fewer remain). Stepping over the tenant's users,
	// not the audience's, keeps each step one index range: counting the
	// audience's own users to find the boundary would evaluate its
	// condition over everyone left at every step.
	var last *string
	err = tx.QueryRow(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 1 OFFSET `+
		strconv.Itoa(AudienceBatchSize-1), tenantID, from).Scan(&last)
	if err != nil && whitecross.ErrorCode(err) != whitecross.ENOTFOUND {
		return false, fmt.Errorf("resolve audience: next batch: %w", err)
	}
	insert := with + `INSERT INTO message_recipients (tenant_id, message_id, user_id)
		SELECT $1, ` + args.add(messageID) + `, u.id FROM users u WHERE ` + where
	if last != nil {
		insert += ` AND u.id <= ` + args.add(strings.ToLower(*last))
	}
	if _, err := tx.Exec(ctx, insert+` ON CONFLICT (message_id, user_id) DO NOTHING`, args...); err != nil {
		return false, fmt.Errorf("resolve audience: add recipients: %w", err)
	}
	if last == nil {
		return true, s.finishAudience(ctx, tx, sender, tenantID, messageID, now)
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET audience_after = $3 WHERE tenant_id = $1 AND id = $2`,
		tenantID, messageID, strings.ToLower(*last)); err != nil {
		return false, fmt.Errorf("resolve audience: record progress: %w", err)
	}
	return false, nil
}

// finishAudience records that the audience is resolved, with the number of
// people the message now reaches.
func (s *Store) finishAudience(ctx context.Context, tx *Tx, sender *whitecross.Actor, tenantID, messageID string, now time.Time) error {
	var count int
	if err := tx.QueryRow(ctx, `UPDATE messages SET audience_resolved_at = $3,
		recipient_count = (SELECT COUNT(*) FROM message_recipients WHERE message_id = $2)
		WHERE tenant_id = $1 AND id = $2 RETURNING recipient_count`, tenantID, messageID, now).Scan(&count); err != nil {
		return fmt.Errorf("resolve audience: finish: %w", err)
	}
	return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{
		TenantID: tenantID, ActorID: sender.UserID, Action: whitecross.AuditMessageAudienceResolved,
		TargetType: "message", TargetID: messageID, Detail: map[string]string{"recipient_count": strconv.Itoa(count)},
	})
}

// PreviewAudience implements whitecross.AudienceService with one grouped
// count over the same condition that resolves the audience at dispatch.
func (s *Store) PreviewAudience(ctx context.Context, aud *whitecross.Audience) (*whitecross.AudiencePreview, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if aud == nil {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.audience", nil, "An audience is required.")
	}
	sp, err := s.audienceSpecFrom(ctx, a, aud)
	if err != nil {
		return nil, err
	}
	return s.countAudience(ctx, s.db.Reader(), a, sp)
}

// countAudience counts the audience sp of sender a as it stands now: in
// total, by role and by contact point.
func (s *Store) countAudience(ctx context.Context, q Querier, a *whitecross.Actor, sp *audienceSpec) (*whitecross.AudiencePreview, error) {
	args := queryArgs(reach{a}.args())
	with, where := audienceSQL(a, sp, &args)
	rows, err := q.Query(ctx, with+`SELECT u.role, COUNT(*),
		SUM(CASE WHEN u.email <> '' AND NOT EXISTS (SELECT 1 FROM email_suppressions es WHERE es.email = LOWER(u.email)) THEN 1 ELSE 0 END),
		SUM(CASE WHEN u.phone <> '' AND NOT EXISTS (SELECT 1 FROM phone_opt_outs po WHERE po.phone = u.phone) THEN 1 ELSE 0 END),
		SUM(CASE WHEN u.phone <> '' THEN 1 ELSE 0 END),
		SUM(CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = u.id AND ps.disabled_at IS NULL) THEN 1 ELSE 0 END)
		FROM users u WHERE `+where+` GROUP BY u.role`, args...)
	if err != nil {
		return nil, fmt.Errorf("preview audience: %w", err)
	}
	defer rows.Close()
	p := &whitecross.AudiencePreview{ByRole: map[whitecross.Role]int{}, Reachable: map[whitecross.Channel]int{
		whitecross.ChannelEmail: 0, whitecross.ChannelSMS: 0, whitecross.ChannelVoice: 0, whitecross.ChannelPush: 0}}
	for rows.Next() {
		var role string
		var n, email, sms, voice, push int
		if err := rows.Scan(&role, &n, &email, &sms, &voice, &push); err != nil {
			return nil, fmt.Errorf("preview audience: %w", err)
		}
		p.Count += n
		p.ByRole[whitecross.Role(role)] = n
		p.Reachable[whitecross.ChannelEmail] += email
		p.Reachable[whitecross.ChannelSMS] += sms
		p.Reachable[whitecross.ChannelVoice] += voice
		p.Reachable[whitecross.ChannelPush] += push
	}
	return p, rows.Err()
}
