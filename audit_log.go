package whitecross

import (
	"context"
	"time"
)

// AuditMessageRead is the event of every read of message content (API.md,
// "Records, retention and audit"): a detail, a thread, a list page that
// carries bodies, live frames, an export. Its detail names the messages in
// "message_ids" (comma-separated) and where they were read in "via"
// (detail, thread, list, live, export). Events written before it existed
// say message.viewed (AuditMessageViewed) for a detail or thread read;
// they stay in the chain as written.
const AuditMessageRead = "message.read"

// AuditFilter selects events of the caller's district for the audit
// viewer; zero fields do not filter. Since is inclusive, Until exclusive.
// TargetID also matches the message.read events naming that message among
// others (a list page, live frames).
type AuditFilter struct {
	ActorID  string
	Action   string
	TargetID string
	Since    time.Time
	Until    time.Time
	Cursor   string
	Limit    int
}

// AuditPage is one page of the audit viewer, newest first.
type AuditPage struct {
	Items      []*AuditEvent
	NextCursor string // "" on the last page
}

// AuditVerdict is the result of checking a district's chain.
type AuditVerdict struct {
	OK       bool
	Events   int64 // events checked (all of them when OK)
	BrokenAt int64 // the first broken event's Seq when not OK
	Broken   string
}

// AuditLogService is the district administrator's reading of the audit
// log. Every method is for ADMINs of the caller's district only.
type AuditLogService interface {
	// ListAudit returns a page of the district's linked events, newest
	// first. EINVALID naming the query field for a bad filter or cursor.
	ListAudit(ctx context.Context, f AuditFilter) (*AuditPage, error)
	// EachAudit calls fn with every event f selects, newest first, reading
	// a bounded page at a time (f.Cursor and f.Limit are ignored).
	EachAudit(ctx context.Context, f AuditFilter, fn func(*AuditEvent) error) error
	// VerifyAudit walks the district's whole chain.
	VerifyAudit(ctx context.Context) (*AuditVerdict, error)
}

// LiveRead is what live frames sent one user: the messages whose content
// they carried, audited together as one message.read (via "live").
type LiveRead struct {
	Actor      *Actor
	MessageIDs []string
}
