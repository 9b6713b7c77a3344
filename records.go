package whitecross

import (
	"context"
	"time"
)

// MaxStudentIDs caps the students one message may be about: a message
// about a class is a broadcast with an audience, not a list of students.
const MaxStudentIDs = 20

// Audit actions of a student's record.
const (
	// AuditDisclosuresListed is an ADMIN reading a student's accounting
	// of disclosures (detail: since, until, count).
	AuditDisclosuresListed = "student.disclosures.listed"
)

// DisclosureKind says how content about a student was disclosed.
type DisclosureKind string

// Disclosure kinds.
const (
	// DisclosureDelivered: an external channel (email, SMS, push, voice)
	// took the message out of the school to the person.
	DisclosureDelivered DisclosureKind = "DELIVERED"
	// DisclosureRead: the person read it (or replied to it) in the app.
	DisclosureRead DisclosureKind = "READ"
)

// DisclosureKinds lists every disclosure kind.
var DisclosureKinds = []DisclosureKind{DisclosureDelivered, DisclosureRead}

// MaxDisclosures bounds one accounting of disclosures; a wider range is
// EINVALID (narrow since/until), never silently cut short.
const MaxDisclosures = 10000

// Disclosure is one time content about a student reached someone: what
// FERPA 99.32 and HIPAA 164.528 ask a district to account for.
type Disclosure struct {
	At        time.Time
	MessageID string
	ToUserID  string
	Channel   Channel // IN_APP for a read
	Kind      DisclosureKind
}

// DisclosureFilter selects a student's disclosures; Since is inclusive,
// Until exclusive, both optional.
type DisclosureFilter struct {
	StudentID string
	Since     *time.Time
	Until     *time.Time
}

// StudentRecordService is the messaging part of a student's record.
type StudentRecordService interface {
	// StudentMessages returns one page (limit 1..100, default 50) of the
	// messages about the student, newest first, with their full content;
	// audited as one message.read event per page naming its messages.
	// The student must be one the caller may see (ENOTFOUND otherwise).
	// ADMIN, and NURSE and SCHOOL_ADMIN whose scope holds the student,
	// see every message about them; anyone else (STAFF, the student's
	// guardians) those they sent or received. EINVALID naming
	// query.limit or query.cursor.
	StudentMessages(ctx context.Context, studentID, cursor string, limit int) (*MessagePage, error)
	// Disclosures returns every delivery of a message about the student
	// by an external channel (SENT or DELIVERED) and every first read of
	// one, oldest first (then by message, person, kind and channel).
	// ADMIN only (EFORBIDDEN); ENOTFOUND for a student not in the
	// tenant; EINVALID naming query.student_id, query.until (before
	// since) or for more than MaxDisclosures items. Audited.
	Disclosures(ctx context.Context, f DisclosureFilter) ([]*Disclosure, error)
}
