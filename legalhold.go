package whitecross

import (
	"context"
	"time"
)

// LegalHold keeps messages past the district's retention: while it is
// active (ReleasedAt nil) the purge keeps every message its person sent or
// received, or every message about its student. Exactly one of UserID and
// StudentID is set. A released hold is kept as the record of the hold.
type LegalHold struct {
	ID         string
	UserID     string // "" for a student hold
	StudentID  string // "" for a person hold
	Name       string // the person's or the student's name
	Reason     string
	CreatedBy  string
	CreatedAt  time.Time
	ReleasedAt *time.Time
	ReleasedBy string
}

// LegalHoldCreate is a new hold: one of UserID or StudentID, and a reason.
type LegalHoldCreate struct {
	UserID    string
	StudentID string
	Reason    string
}

// MaxLegalHoldReason bounds a hold's reason (characters).
const MaxLegalHoldReason = 500

// Audit actions of legal holds and retention. A purge is one event per
// district and run, its detail the counts of rows deleted per table.
const (
	AuditLegalHoldPlaced   = "legal_hold.placed"
	AuditLegalHoldReleased = "legal_hold.released"
	AuditRetentionPurged   = "retention.purged"
)

// LegalHoldService places, lists and releases a district's legal holds
// (ADMIN only; others EFORBIDDEN). Each change is audited.
type LegalHoldService interface {
	// PlaceLegalHold holds a person's or a student's messages. EINVALID
	// naming body.user_id, body.student_id or body.reason: not exactly one
	// of the two ids, an id not of the district, or an empty or long reason.
	PlaceLegalHold(ctx context.Context, in LegalHoldCreate) (*LegalHold, error)
	// ListLegalHolds lists the district's holds, active first, newest first.
	ListLegalHolds(ctx context.Context) ([]*LegalHold, error)
	// ReleaseLegalHold ends an active hold and returns it; ENOTFOUND when
	// no active hold of the district has that id.
	ReleaseLegalHold(ctx context.Context, id string) (*LegalHold, error)
}
