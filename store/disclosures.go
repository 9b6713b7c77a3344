package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"whitecross"
)

// Disclosures implements whitecross.StudentRecordService: the accounting of
// disclosures of a student's information (FERPA 99.32, HIPAA 164.528). Two
// set-based reads, each driven by message_students_student and bounded by
// MaxDisclosures+1 rows: the external deliveries (channel not IN_APP,
// status SENT or DELIVERED; at is when it was sent, else delivered) and
// the read receipts (first_read_at, channel IN_APP) of the messages about
// the student. They are merged oldest first, then by message, person, kind
// and channel. Since is inclusive, Until exclusive. The read is audited
// (student.disclosures.listed with the range and count). EFORBIDDEN for
// anyone but an ADMIN (and the system); EINVALID query.student_id when
// missing, query.until before since, or query.until when the range holds
// more than MaxDisclosures items (narrow it); ENOTFOUND "Student not
// found." for a student not in the tenant.
func (s *Store) Disclosures(ctx context.Context, f whitecross.DisclosureFilter) ([]*whitecross.Disclosure, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !a.System && a.Role != whitecross.RoleAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only district administrators may account for disclosures.")
	}
	if strings.TrimSpace(f.StudentID) == "" {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.student_id", nil, "Name the student (student_id).")
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.until", nil, "Until must not be before since.")
	}
	st, err := s.FindStudentByID(ctx, f.StudentID)
	if err != nil {
		return nil, err
	}
	delivered, err := s.disclosedDeliveries(ctx, a.TenantID, st.ID, f)
	if err != nil {
		return nil, err
	}
	read, err := s.disclosedReads(ctx, a.TenantID, st.ID, f)
	if err != nil {
		return nil, err
	}
	out := append(delivered, read...)
	if len(out) > whitecross.MaxDisclosures {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "query.until", nil,
			"More than %d disclosures in this range; narrow since and until.", whitecross.MaxDisclosures)
	}
	slices.SortFunc(out, compareDisclosures)
	err = s.db.InTx(ctx, func(tx *Tx) error {
		return s.auditTx(ctx, tx, whitecross.AuditDisclosuresListed, "student", st.ID, disclosureDetail(f, len(out)))
	})
	if err != nil {
		return nil, fmt.Errorf("audit disclosures: %w", err)
	}
	return out, nil
}

// compareDisclosures is the documented order: at, message, person, kind,
// channel.
func compareDisclosures(x, y *whitecross.Disclosure) int {
	return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.MessageID, y.MessageID), cmp.Compare(x.ToUserID, y.ToUserID),
		cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Channel, y.Channel))
}

func disclosureDetail(f whitecross.DisclosureFilter, n int) map[string]string {
	d := map[string]string{"count": fmt.Sprint(n)}
	if f.Since != nil {
		d["since"] = f.Since.UTC().Format(time.RFC3339Nano)
	}
	if f.Until != nil {
		d["until"] = f.Until.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// rangeWhere returns the since/until conditions on the time column at.
func rangeWhere(f whitecross.DisclosureFilter, at string, args *queryArgs) string {
	var b strings.Builder
	if f.Since != nil {
		b.WriteString(` AND ` + at + ` >= ` + args.add(f.Since.UTC()))
	}
	if f.Until != nil {
		b.WriteString(` AND ` + at + ` < ` + args.add(f.Until.UTC()))
	}
	return b.String()
}

// disclosedDeliveries reads the external deliveries of the messages about
// the student (at most MaxDisclosures+1).
func (s *Store) disclosedDeliveries(ctx context.Context, tenantID, studentID string, f whitecross.DisclosureFilter) ([]*whitecross.Disclosure, error) {
	args := queryArgs{tenantID, studentID}
	at := `COALESCE(d.sent_at, d.delivered_at)`
	rows, err := s.db.Reader().Query(ctx, `SELECT d.sent_at, d.delivered_at, d.message_id, d.recipient_id, d.channel
		FROM message_students ms JOIN deliveries d ON d.message_id = ms.message_id
		WHERE ms.tenant_id = $1 AND ms.student_id = $2 AND d.tenant_id = $1
		AND d.channel <> 'IN_APP' AND d.status IN ('SENT', 'DELIVERED') AND `+at+` IS NOT NULL`+rangeWhere(f, at, &args)+`
		ORDER BY `+at+` LIMIT `+fmt.Sprint(whitecross.MaxDisclosures+1), args...)
	if err != nil {
		return nil, fmt.Errorf("disclosed deliveries: %w", err)
	}
	return collect(rows, func(r Row) (*whitecross.Disclosure, error) {
		var sent, delivered *time.Time
		d := &whitecross.Disclosure{Kind: whitecross.DisclosureDelivered}
		if err := r.Scan(&sent, &delivered, &d.MessageID, &d.ToUserID, &d.Channel); err != nil {
			return nil, err
		}
		d.At = cmp.Or(sent, delivered).UTC()
		d.MessageID, d.ToUserID = strings.ToLower(d.MessageID), strings.ToLower(d.ToUserID)
		return d, nil
	})
}

// disclosedReads reads the read receipts of the messages about the student
// (at most MaxDisclosures+1).
func (s *Store) disclosedReads(ctx context.Context, tenantID, studentID string, f whitecross.DisclosureFilter) ([]*whitecross.Disclosure, error) {
	args := queryArgs{tenantID, studentID}
	rows, err := s.db.Reader().Query(ctx, `SELECT mr.first_read_at, mr.message_id, mr.user_id
		FROM message_students ms JOIN message_recipients mr ON mr.message_id = ms.message_id
		WHERE ms.tenant_id = $1 AND ms.student_id = $2 AND mr.tenant_id = $1
		AND mr.first_read_at IS NOT NULL`+rangeWhere(f, `mr.first_read_at`, &args)+`
		ORDER BY mr.first_read_at LIMIT `+fmt.Sprint(whitecross.MaxDisclosures+1), args...)
	if err != nil {
		return nil, fmt.Errorf("disclosed reads: %w", err)
	}
	return collect(rows, func(r Row) (*whitecross.Disclosure, error) {
		d := &whitecross.Disclosure{Kind: whitecross.DisclosureRead, Channel: whitecross.ChannelInApp}
		if err := r.Scan(&d.At, &d.MessageID, &d.ToUserID); err != nil {
			return nil, err
		}
		d.At = d.At.UTC()
		d.MessageID, d.ToUserID = strings.ToLower(d.MessageID), strings.ToLower(d.ToUserID)
		return d, nil
	})
}
