package store

import (
	"context"
	"fmt"

	"whitecross"
)

// unackedGuardians selects the message's own recipients after $2 who are
// guardians, have the message and have not acknowledged it, in id order:
// the ones whose students' other guardians round 1 brings in.
const unackedGuardians = `SELECT mr.user_id FROM message_recipients mr JOIN users ru ON ru.id = mr.user_id
	WHERE mr.message_id = $1 AND mr.user_id > $2 AND mr.added_round IS NULL AND mr.delivered_at IS NOT NULL
	AND mr.acked_at IS NULL AND ru.role = 'GUARDIAN' ORDER BY mr.user_id`

// addOtherGuardians makes, for the next batch of guardians among the
// message's own recipients who have not acknowledged, the other custodial
// guardians of their students recipients: active guardians the sender may
// message (reach.go; the custody rule excludes non-custodial contacts a
// second time), not already recipients, with added_round set, the message
// in their inbox (an inbox_key taken now) and an IN_APP delivery of the
// round, DELIVERED. They get message.created and the recipient count
// grows. more: a batch was full.
func (s *Store) addOtherGuardians(ctx context.Context, r *escalationRound) (more bool, err error) {
	p := &r.job.Progress
	n, last, err := batchBounds(ctx, r.tx, unackedGuardians, r.messageID, p.GuardiansAfter)
	if err != nil {
		return false, fmt.Errorf("escalation: next guardians: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	var role string
	if err := r.tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, r.senderID).Scan(&role); err != nil {
		return false, fmt.Errorf("escalation: read sender: %w", err)
	}
	sender := reach{&whitecross.Actor{TenantID: r.tenantID, UserID: r.senderID, Role: whitecross.Role(role)}}
	args := queryArgs(sender.args())
	msg, lo, hi := args.add(r.messageID), args.add(firstAfter(p.GuardiansAfter)), args.add(last)
	now, prefix, round := args.add(r.now), args.add(idTimePrefix(r.now)), args.add(r.job.Round)
	// WHERE 1 = 1 keeps SQLite from reading ON CONFLICT as a join's ON.
	added, err := queryAll(ctx, r.tx, scanLowerID, reachWith+`INSERT INTO message_recipients
			(tenant_id, message_id, user_id, inbox_key, delivered_at, added_round)
		SELECT $1, `+msg+`, x.user_id, `+r.tx.newIDSQL(prefix)+`, `+now+`, `+round+`
		FROM (SELECT DISTINCT g2.user_id FROM message_recipients mr
			JOIN users ru ON ru.id = mr.user_id
			JOIN guardianships g1 ON g1.user_id = mr.user_id
			JOIN guardianships g2 ON g2.student_id = g1.student_id AND g2.custody AND g2.user_id <> mr.user_id
			JOIN users u ON u.id = g2.user_id
			WHERE mr.message_id = `+msg+` AND mr.user_id > `+lo+` AND mr.user_id <= `+hi+`
			AND mr.added_round IS NULL AND mr.delivered_at IS NOT NULL AND mr.acked_at IS NULL AND ru.role = 'GUARDIAN'
			AND u.tenant_id = $1 AND u.role = 'GUARDIAN' AND `+sender.messageable("u")+`
			AND NOT EXISTS (SELECT 1 FROM message_recipients o WHERE o.message_id = `+msg+` AND o.user_id = g2.user_id)) x
		WHERE 1 = 1 ON CONFLICT (message_id, user_id) DO NOTHING RETURNING user_id`, args...)
	if err != nil {
		return false, fmt.Errorf("escalation: add other guardians: %w", err)
	}
	if err := s.welcomeAddedGuardians(ctx, r, added); err != nil {
		return false, err
	}
	p.GuardiansAfter = last
	return n == DispatchBatchSize, nil
}

// welcomeAddedGuardians gives the guardians just added (by this step:
// delivered_at is its time) their IN_APP delivery of the round and
// message.created, and counts them into the message's recipient count.
func (s *Store) welcomeAddedGuardians(ctx context.Context, r *escalationRound, added []string) error {
	if len(added) == 0 {
		return nil
	}
	if _, err := r.tx.Exec(ctx, `UPDATE messages SET recipient_count = recipient_count + $2 WHERE id = $1`,
		r.messageID, len(added)); err != nil {
		return fmt.Errorf("escalation: count added guardians: %w", err)
	}
	// The (message_id, delivered_at) index finds this step's rows.
	ids, err := queryAll(ctx, r.tx, scanLowerID, `INSERT INTO deliveries (id, tenant_id, message_id, recipient_id, channel, status,
			queued_at, delivered_at, updated_at, attempt_kind, round)
		SELECT `+r.tx.newIDSQL("$4")+`, $3, $1, mr.user_id, 'IN_APP', 'DELIVERED', $2, $2, $2, 'ESCALATION', $5
		FROM message_recipients mr WHERE mr.message_id = $1 AND mr.delivered_at = $2 AND mr.added_round = $5
		ON CONFLICT (message_id, recipient_id, channel, round) DO NOTHING RETURNING id`,
		r.messageID, r.now, r.tenantID, idTimePrefix(r.now), r.job.Round)
	if err != nil {
		return fmt.Errorf("escalation: in-app deliveries: %w", err)
	}
	if err := s.startDeliveries(ctx, r, ids, whitecross.DeliveryDelivered); err != nil {
		return err
	}
	r.ev.addMessageCreated(r.tenantID, r.messageID, added, r.now)
	r.added += len(added)
	return nil
}

// firstAfter is the keyset start: after, or below every id.
func firstAfter(after string) string {
	if after == "" {
		return noUser
	}
	return after
}
