package store

import (
	"context"
	"fmt"
)

// purgeStep deletes (or counts) the rows of one table keyed to a batch of
// messages. where reads the batch's ids from $1 (inIDs). The ids are the
// district's (expiredBatch selects them by tenant), so the steps name no
// tenant: with tenant_id = $2 SQLite's planner walks a whole district's
// rows by a tenant index instead of probing the message ids.
type purgeStep struct {
	table string
	where string
	count func(*PurgeCounts) *int64
}

// purgeSteps are the tables keyed to a message, children before parents so
// that no foreign key is ever left dangling: every table of
// store/migrations with a message_id, and delivery_events through their
// deliveries. Attachments are sealed inside the message row. The audit
// chain is not here on purpose: it records what was done, not content.
func (db *DB) purgeSteps() []purgeStep {
	return []purgeStep{
		{"delivery_events", `delivery_id IN (SELECT id FROM deliveries WHERE ` + db.inIDs("message_id", "$1") + `)`,
			func(c *PurgeCounts) *int64 { return &c.DeliveryEvents }},
		{"deliveries", db.inIDs("message_id", "$1"), func(c *PurgeCounts) *int64 { return &c.Deliveries }},
		{"message_recipients", db.inIDs("message_id", "$1"), func(c *PurgeCounts) *int64 { return &c.Recipients }},
		{"idempotency_keys", db.inIDs("message_id", "$1"), func(c *PurgeCounts) *int64 { return &c.IdempotencyKeys }},
		{"user_events", db.inIDs("message_id", "$1"), func(c *PurgeCounts) *int64 { return &c.Events }},
		{"message_students", db.inIDs("message_id", "$1"), func(c *PurgeCounts) *int64 { return &c.Students }},
		{"messages", db.inIDs("id", "$1"), func(c *PurgeCounts) *int64 { return &c.Messages }},
	}
}

// purgeMessages deletes the messages ids of the tenant with every row keyed
// to them, one set-based statement per table, adding what each deleted to
// counts; dry, it counts instead. A kept reply to a purged message loses
// its reply_to_id (the parent is gone; its thread_id still groups it).
func (s *Store) purgeMessages(ctx context.Context, tx *Tx, ids []string, counts *PurgeCounts, dry bool) error {
	arg, err := s.db.idsArg(ids)
	if err != nil {
		return fmt.Errorf("purge messages: %w", err)
	}
	if !dry {
		if _, err := tx.Exec(ctx, `UPDATE messages SET reply_to_id = NULL
			WHERE `+s.db.inIDs("reply_to_id", "$1")+` AND NOT `+s.db.inIDs("id", "$1"), arg); err != nil {
			return fmt.Errorf("purge messages: detach replies: %w", err)
		}
	}
	for _, step := range s.db.purgeSteps() {
		var n int64
		if dry {
			err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+step.table+` WHERE `+step.where, arg).Scan(&n)
		} else {
			n, err = tx.Exec(ctx, `DELETE FROM `+step.table+` WHERE `+step.where, arg)
		}
		if err != nil {
			return fmt.Errorf("purge %s: %w", step.table, err)
		}
		*step.count(counts) += n
	}
	return nil
}
