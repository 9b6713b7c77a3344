package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"whitecross"
)

// Linking is the second half of an audit append. A change writes its event
// to audit_pending inside its own transaction (AppendAuditTx); linking then
// takes a tenant's pending events in the order they were written, gives each
// the next Seq and its hash over the previous one, and moves them to
// audit_events with the chain head, in one short transaction per batch.
// Only linking touches the audit_heads row, so requests of one tenant never
// wait for each other's commits on it; the head's lock serialises linkers
// (two instances, or a CLI beside a server).

// DefaultAuditBatch is how many events one linking transaction moves at most.
const DefaultAuditBatch = 500

// LinkAudit links every event of tenantID that is pending now, in batches of
// at most DefaultAuditBatch, and returns how many it linked.
func (s *Store) LinkAudit(ctx context.Context, tenantID string) (int, error) {
	ctx = inTenant(ctx, tenantID)
	total := 0
	for {
		n, err := s.linkAuditBatch(ctx, tenantID, DefaultAuditBatch)
		total += n
		if err != nil || n < DefaultAuditBatch {
			return total, err
		}
	}
}

// AuditPending returns how many of tenantID's events are committed but not
// yet linked into its chain.
func (s *Store) AuditPending(ctx context.Context, tenantID string) (int64, error) {
	ctx = inTenant(ctx, tenantID)
	var n int64
	if err := s.db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM audit_pending WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending audit events: %w", err)
	}
	return n, nil
}

// auditCommitted is called once a transaction holding an event of tenantID
// has committed: it wakes the running linker, or, without one (tests, CLI
// verbs), links at once so the event is in the chain when the call returns.
// A failure here loses nothing: the event stays pending for the next link.
func (s *Store) auditCommitted(tenantID string) {
	if l := s.auditLinker.Load(); l != nil {
		l.nudge(tenantID)
		return
	}
	if _, err := s.LinkAudit(context.Background(), tenantID); err != nil {
		slog.Warn("audit events stay pending", "tenant_id", tenantID, "err", err)
	}
}

// linkAuditBatch links at most limit of tenantID's pending events in one
// transaction and returns how many.
func (s *Store) linkAuditBatch(ctx context.Context, tenantID string, limit int) (int, error) {
	ctx = inTenant(ctx, tenantID)
	var n int
	err := s.db.InTx(ctx, func(tx *Tx) error {
		head, err := s.lockAuditHead(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		events, err := takePendingAudit(ctx, tx, tenantID, limit)
		if err != nil || len(events) == 0 {
			return err
		}
		for _, e := range events {
			e.Seq, e.PrevHash = head.Seq+1, head.Hash
			e.Hash = e.ChainHash(e.PrevHash)
			head = whitecross.AuditHead{Seq: e.Seq, Hash: e.Hash}
		}
		if err := insertLinkedAudit(ctx, tx, events); err != nil {
			return err
		}
		n = len(events)
		_, err = tx.Exec(ctx, `UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, tenantID, head.Seq, head.Hash)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("link audit events: %w", err)
	}
	return n, nil
}

// lockAuditHead returns the tenant's chain head, creating it, and on
// PostgreSQL locks it until tx ends (SQLite's writer is already alone).
func (s *Store) lockAuditHead(ctx context.Context, tx *Tx, tenantID string) (whitecross.AuditHead, error) {
	var head whitecross.AuditHead
	if _, err := tx.Exec(ctx, `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, []byte{}); err != nil {
		return head, fmt.Errorf("audit head: %w", err)
	}
	q := `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1`
	if s.db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	if err := tx.QueryRow(ctx, q, tenantID).Scan(&head.Seq, &head.Hash); err != nil {
		return head, fmt.Errorf("audit head: %w", err)
	}
	if head.Hash == nil {
		head.Hash = []byte{}
	}
	return head, nil
}

// takePendingAudit deletes and returns the tenant's oldest pending events,
// at most limit, in the order they were written. One statement both reads
// and removes them, so an event committed meanwhile is either taken here or
// left for the next batch, never removed unlinked.
func takePendingAudit(ctx context.Context, tx *Tx, tenantID string, limit int) ([]*whitecross.AuditEvent, error) {
	rows, err := tx.Query(ctx, `DELETE FROM audit_pending WHERE id IN
		(SELECT id FROM audit_pending WHERE tenant_id = $1 ORDER BY id LIMIT $2)
		RETURNING id, at, actor_id, action, target_type, target_id, outcome, client_ip, detail`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("take pending audit events: %w", err)
	}
	defer rows.Close()
	type pending struct {
		id int64
		e  *whitecross.AuditEvent
	}
	var taken []pending
	for rows.Next() {
		p := pending{e: &whitecross.AuditEvent{TenantID: tenantID}}
		var detail string
		if err := rows.Scan(&p.id, &p.e.At, &p.e.ActorID, &p.e.Action, &p.e.TargetType, &p.e.TargetID, &p.e.Outcome, &p.e.ClientIP, &detail); err != nil {
			return nil, fmt.Errorf("take pending audit events: %w", err)
		}
		p.e.At = p.e.At.UTC()
		if json.Unmarshal([]byte(detail), &p.e.Detail) != nil {
			p.e.Detail = map[string]string{"unreadable_detail": "true"}
		}
		taken = append(taken, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take pending audit events: %w", err)
	}
	// RETURNING promises no order.
	slices.SortFunc(taken, func(a, b pending) int { return cmp.Compare(a.id, b.id) })
	out := make([]*whitecross.AuditEvent, len(taken))
	for i, p := range taken {
		out[i] = p.e
	}
	return out, nil
}

// insertLinkedAudit writes linked events to audit_events, several rows a
// statement.
func insertLinkedAudit(ctx context.Context, tx *Tx, events []*whitecross.AuditEvent) error {
	// Twelve columns a row: a quarter of the rows of a narrow insert keeps
	// a statement's parameters in the same range.
	const cols = 12
	for chunk := range slices.Chunk(events, tx.rowsPerInsert()/4) {
		var sql strings.Builder
		sql.WriteString(`INSERT INTO audit_events
			(tenant_id, seq, at, actor_id, action, target_type, target_id, outcome, client_ip, detail, prev_hash, hash) VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, e := range chunk {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(" + placeholders(i*cols+1, cols) + ")")
			e.StoredDetail = e.CanonicalDetail()
			args = append(args, e.TenantID, e.Seq, e.At, e.ActorID, e.Action, e.TargetType, e.TargetID,
				e.Outcome, e.ClientIP, string(e.StoredDetail), e.PrevHash, e.Hash)
		}
		if _, err := tx.Exec(ctx, sql.String(), args...); err != nil {
			return fmt.Errorf("insert audit events: %w", err)
		}
	}
	return indexReadMessages(ctx, tx, events)
}

// indexReadMessages writes a row of audit_read_messages for each message
// that a linked message.read event names among several (one message is
// the event's target), so the viewer's target filter finds list and live
// reads of a message by index.
func indexReadMessages(ctx context.Context, tx *Tx, events []*whitecross.AuditEvent) error {
	var args []any
	for _, e := range events {
		ids := e.Detail["message_ids"]
		if e.Action != whitecross.AuditMessageRead || !strings.Contains(ids, ",") {
			continue
		}
		for id := range strings.SplitSeq(ids, ",") {
			args = append(args, e.TenantID, id, e.Seq)
		}
	}
	const cols = 3
	for chunk := range slices.Chunk(args, tx.rowsPerInsert()*cols) {
		var sql strings.Builder
		sql.WriteString(`INSERT INTO audit_read_messages (tenant_id, message_id, seq) VALUES `)
		for i := range len(chunk) / cols {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(" + placeholders(i*cols+1, cols) + ")")
		}
		sql.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.Exec(ctx, sql.String(), chunk...); err != nil {
			return fmt.Errorf("index read messages: %w", err)
		}
	}
	return nil
}
