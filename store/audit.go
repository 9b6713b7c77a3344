package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"whitecross"
)

var _ whitecross.AuditStore = (*Store)(nil)

// AppendAudit implements whitecross.AuditStore in a transaction of its own.
func (s *Store) AppendAudit(ctx context.Context, e *whitecross.AuditEvent) error {
	ctx = inTenant(ctx, e.TenantID)
	return s.db.InTx(ctx, func(tx *Tx) error { return s.AppendAuditTx(ctx, tx, e) })
}

// AppendAuditTx records e inside tx, so that a change and its audit event
// commit together: the event is durable exactly when tx commits and never
// exists if it rolls back. It is written unlinked, touching no row another
// request writes; once tx commits the linker (audit_link.go) gives it its
// place in the tenant's chain. e.TenantID is required.
func (s *Store) AppendAuditTx(ctx context.Context, tx *Tx, e *whitecross.AuditEvent) error {
	if e.TenantID == "" {
		return fmt.Errorf("append audit: tenant id required")
	}
	if e.At.IsZero() {
		e.At = s.db.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if e.Outcome == "" {
		e.Outcome = whitecross.OutcomeSuccess
	}
	e.StoredDetail = e.CanonicalDetail()
	if _, err := tx.Exec(ctx, `INSERT INTO audit_pending
		(tenant_id, at, actor_id, action, target_type, target_id, outcome, client_ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.TenantID, e.At, e.ActorID, e.Action, e.TargetType, e.TargetID, e.Outcome, e.ClientIP, string(e.StoredDetail)); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	tenantID := e.TenantID
	tx.AfterCommit(func() { s.auditCommitted(tenantID) })
	return nil
}

// appendAuditTx is AppendAuditTx for the store's own callers.
func (s *Store) appendAuditTx(ctx context.Context, tx *Tx, e *whitecross.AuditEvent) error {
	return s.AppendAuditTx(ctx, tx, e)
}

// auditTx records an event by the caller in ctx inside tx.
func (s *Store) auditTx(ctx context.Context, tx *Tx, action, targetType, targetID string, detail map[string]string) error {
	a := whitecross.ActorFromContext(ctx)
	if a == nil {
		return fmt.Errorf("audit %s: no caller in context", action)
	}
	return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{
		TenantID: a.TenantID, ActorID: a.UserID, ClientIP: a.ClientIP,
		Action: action, TargetType: targetType, TargetID: targetID, Detail: detail,
	})
}

// AuditEvents implements whitecross.AuditStore.
func (s *Store) AuditEvents(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*whitecross.AuditEvent, error) {
	ctx = inTenant(ctx, tenantID)
	if !validUUID(tenantID) {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "tenant %s not found", tenantID)
	}
	out, err := queryAll(ctx, s.db.Reader(), scanAuditEvent, `SELECT tenant_id, seq, at, actor_id, action, target_type, target_id, outcome, client_ip, detail, prev_hash, hash
		FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// scanAuditEvent scans one audit_events row.
func scanAuditEvent(r Row) (*whitecross.AuditEvent, error) {
	var e whitecross.AuditEvent
	var detail string
	if err := r.Scan(&e.TenantID, &e.Seq, &e.At, &e.ActorID, &e.Action, &e.TargetType, &e.TargetID, &e.Outcome, &e.ClientIP, &detail, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.At = e.At.UTC()
	e.StoredDetail = []byte(detail)
	// An edited detail that does not decode must not hide the rest of
	// the log: it is left nil, and the verifier reports the row.
	if json.Unmarshal(e.StoredDetail, &e.Detail) != nil {
		e.Detail = nil
	}
	return &e, nil
}

// AuditHead implements whitecross.AuditStore.
func (s *Store) AuditHead(ctx context.Context, tenantID string) (*whitecross.AuditHead, error) {
	ctx = inTenant(ctx, tenantID)
	var h whitecross.AuditHead
	if !validUUID(tenantID) {
		return &h, nil
	}
	err := s.db.Reader().QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1`, tenantID).Scan(&h.Seq, &h.Hash)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return &whitecross.AuditHead{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	return &h, nil
}
