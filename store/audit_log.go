package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"whitecross"
	"whitecross/audit"
)

var _ whitecross.AuditLogService = (*Store)(nil)

// auditEachPage is how many events EachAudit reads a query, bounding the
// memory of an export of any length.
const auditEachPage = 500

// ListAudit implements whitecross.AuditLogService: linked events of the
// caller's district, newest first, keyset on seq (the indexes of migration
// 00024 serve each filter). f.TargetID also selects the message.read events
// that name it among several messages. EFORBIDDEN for anyone but an ADMIN; EINVALID
// naming query.until, query.cursor or query.limit.
func (s *Store) ListAudit(ctx context.Context, f whitecross.AuditFilter) (*whitecross.AuditPage, error) {
	a, err := requireAdmin(ctx, "read the audit log")
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	before := int64(0)
	if f.Cursor != "" {
		if before, err = decodeSeqCursor(f.Cursor); err != nil {
			return nil, err
		}
	}
	items, err := s.auditRange(ctx, a.TenantID, f, before, limit+1)
	if err != nil {
		return nil, err
	}
	page := &whitecross.AuditPage{}
	page.Items, page.NextCursor = keysetPage(items, limit, func(last *whitecross.AuditEvent) string {
		return encodeSeqCursor(last.Seq)
	})
	return page, nil
}

// EachAudit implements whitecross.AuditLogService, a page of
// auditEachPage events a query.
func (s *Store) EachAudit(ctx context.Context, f whitecross.AuditFilter, fn func(*whitecross.AuditEvent) error) error {
	a, err := requireAdmin(ctx, "read the audit log")
	if err != nil {
		return err
	}
	before := int64(0)
	for {
		items, err := s.auditRange(ctx, a.TenantID, f, before, auditEachPage)
		if err != nil {
			return err
		}
		for _, e := range items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(items) < auditEachPage {
			return nil
		}
		before = items[len(items)-1].Seq
	}
}

// auditRange reads at most limit of tenantID's events that f selects with
// seq below before (0: from the newest), newest first.
func (s *Store) auditRange(ctx context.Context, tenantID string, f whitecross.AuditFilter, before int64, limit int) ([]*whitecross.AuditEvent, error) {
	if !f.Until.IsZero() && !f.Since.IsZero() && !f.Until.After(f.Since) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.until", f.Until, "Until must be after since.")
	}
	args := queryArgs{tenantID}
	where := []string{`tenant_id = $1`}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+` = `+args.add(v))
		}
	}
	eq("actor_id", strings.ToLower(f.ActorID))
	eq("action", f.Action)
	if f.TargetID != "" {
		// The target, or one of the messages a read names (migration 00024).
		id := args.add(strings.ToLower(f.TargetID))
		where = append(where, `(target_id = `+id+` OR seq IN (SELECT seq FROM audit_read_messages WHERE tenant_id = $1 AND message_id = `+id+`))`)
	}
	if !f.Since.IsZero() {
		where = append(where, `at >= `+args.add(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		where = append(where, `at < `+args.add(f.Until.UTC()))
	}
	if before > 0 {
		where = append(where, `seq < `+args.add(before))
	}
	out, err := queryAll(ctx, s.db.Reader(), scanAuditEvent, `SELECT tenant_id, seq, at, actor_id, action, target_type, target_id, outcome, client_ip, detail, prev_hash, hash
		FROM audit_events WHERE `+strings.Join(where, ` AND `)+` ORDER BY seq DESC LIMIT `+args.add(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}

// VerifyAudit implements whitecross.AuditLogService with audit.Verify.
func (s *Store) VerifyAudit(ctx context.Context) (*whitecross.AuditVerdict, error) {
	a, err := requireAdmin(ctx, "verify the audit log")
	if err != nil {
		return nil, err
	}
	rep, err := audit.Verify(ctx, s, a.TenantID)
	if err != nil {
		return nil, err
	}
	return &whitecross.AuditVerdict{OK: rep.OK, Events: rep.Events, BrokenAt: rep.BrokenAt, Broken: rep.Broken}, nil
}

// encodeSeqCursor makes the cursor of the page after the event seq.
func encodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

// decodeSeqCursor reverses encodeSeqCursor. EINVALID query.cursor for
// anything it did not make.
func decodeSeqCursor(c string) (int64, error) {
	bad := whitecross.FieldErrorf(whitecross.EINVALID, "query.cursor", c, "Cursor is not one this listing made.")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 64 {
		return 0, bad
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), "seq:"), 10, 64)
	if err != nil || !strings.HasPrefix(string(b), "seq:") || n < 1 {
		return 0, bad
	}
	return n, nil
}
