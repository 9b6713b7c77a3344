package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"whitecross"
)

// ListEmailSuppressions implements whitecross.DeadLetterService: the
// caller's district's users whose address (lower-cased) is in
// email_suppressions, newest suppression first, a page of limit (default
// 50, at most 100). The cursor holds a time and a user id, never the
// address, as it travels in URLs. EINVALID naming query.limit or
// query.cursor; EFORBIDDEN for anyone but an ADMIN.
func (s *Store) ListEmailSuppressions(ctx context.Context, limit int, cursor string) (*whitecross.EmailSuppressionPage, error) {
	a, err := requireAdmin(ctx, "see suppressed email addresses")
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	args := []any{a.TenantID}
	after := ""
	if cursor != "" {
		at, id, err := decodeTimeIDCursor(cursor)
		if err != nil {
			return nil, err
		}
		args = append(args, at, id)
		after = `AND (es.created_at < $2 OR (es.created_at = $2 AND u.id < $3))`
	}
	args = append(args, limit+1)
	rows, err := s.db.Reader().Query(ctx, `SELECT u.id, u.name, es.email, es.reason, es.created_at
		FROM email_suppressions es JOIN users u ON LOWER(u.email) = es.email
		WHERE u.tenant_id = $1 `+after+`
		ORDER BY es.created_at DESC, u.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list email suppressions: %w", err)
	}
	items, err := collect(rows, func(r Row) (*whitecross.EmailSuppression, error) {
		var es whitecross.EmailSuppression
		if err := r.Scan(&es.UserID, &es.UserName, &es.Email, &es.Reason, &es.Since); err != nil {
			return nil, err
		}
		es.UserID, es.Since = strings.ToLower(es.UserID), es.Since.UTC()
		return &es, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list email suppressions: %w", err)
	}
	page := &whitecross.EmailSuppressionPage{Items: []*whitecross.EmailSuppression{}}
	items, page.NextCursor = keysetPage(items, limit, func(last *whitecross.EmailSuppression) string {
		return encodeTimeIDCursor(last.Since, last.UserID)
	})
	page.Items = append(page.Items, items...)
	return page, nil
}

// LiftEmailSuppression implements whitecross.DeadLetterService: it deletes
// the suppression of the address of userID, a user of the caller's
// district, so the pipeline emails it again (for every district: the
// suppression belongs to the address), and records an
// email_suppression.lifted audit event naming the user, not the address.
// ENOTFOUND when the user is not the district's or their address is not
// suppressed; EFORBIDDEN for anyone but an ADMIN. Deliveries that already
// failed stay failed: retry them from the dead letters.
func (s *Store) LiftEmailSuppression(ctx context.Context, userID string) error {
	a, err := requireAdmin(ctx, "lift an email suppression")
	if err != nil {
		return err
	}
	id, ok := parseID(userID)
	if !ok {
		return whitecross.Errorf(whitecross.ENOTFOUND, "No such user.")
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		var email *string
		err := tx.QueryRow(ctx, `SELECT LOWER(email) FROM users WHERE tenant_id = $1 AND id = $2`, a.TenantID, id).Scan(&email)
		if err != nil {
			if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
				return whitecross.Errorf(whitecross.ENOTFOUND, "No such user.")
			}
			return fmt.Errorf("lift email suppression: %w", err)
		}
		if email == nil || *email == "" {
			return whitecross.Errorf(whitecross.ENOTFOUND, "This user's email address is not suppressed.")
		}
		n, err := tx.Exec(ctx, `DELETE FROM email_suppressions WHERE email = $1`, *email)
		if err != nil {
			return fmt.Errorf("lift email suppression: %w", err)
		}
		if n == 0 {
			return whitecross.Errorf(whitecross.ENOTFOUND, "This user's email address is not suppressed.")
		}
		return s.auditTx(ctx, tx, whitecross.AuditEmailSuppressionLifted, "user", id, nil)
	})
}
