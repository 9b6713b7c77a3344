package whitecross

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"time"
)

// Audit actions recorded by the core service. Later features add their own.
const (
	AuditLoginSucceeded  = "auth.login.succeeded"
	AuditLoginFailed     = "auth.login.failed"
	AuditLoginLocked     = "auth.login.locked"
	AuditRefreshReused   = "auth.refresh.reused"
	AuditLogout          = "auth.logout"
	AuditTenantCreated   = "tenant.created"
	AuditUserCreated     = "user.created"
	AuditUserUpdated     = "user.updated"
	AuditUserDeactivated = "user.deactivated"
	AuditUserReactivated = "user.reactivated"
	AuditLocationCreated = "location.created"
	AuditLocationRenamed = "location.renamed"
	AuditStudentCreated  = "student.created"
	AuditGroupCreated    = "group.created"
)

// Audit actions of signing in without a password (signin.go). Their
// details carry a channel or a reason code, never the code, token or
// contact.
const (
	AuditCodeRequested          = "auth.code.requested"
	AuditCodeSucceeded          = "auth.code.succeeded"
	AuditCodeFailed             = "auth.code.failed"
	AuditPasswordResetRequested = "auth.password_reset.requested"
	AuditPasswordResetSucceeded = "auth.password_reset.succeeded"
	AuditPasswordResetFailed    = "auth.password_reset.failed"
)

// Audit outcomes.
const (
	OutcomeSuccess = "SUCCESS"
	OutcomeFailure = "FAILURE"
	OutcomeDenied  = "DENIED"
)

// AuditOutcomes lists every audit outcome, in the order the API documents.
var AuditOutcomes = []string{OutcomeSuccess, OutcomeFailure, OutcomeDenied}

// AuditEvent is one entry of a tenant's append-only, hash-chained audit log:
// who did what to which record, when, from where, with what outcome. It never
// holds PHI, passwords, tokens or contact details.
type AuditEvent struct {
	TenantID   string            `json:"tenant_id"`
	Seq        int64             `json:"seq"` // 1, 2, 3... per tenant, no gaps
	At         time.Time         `json:"at"`
	ActorID    string            `json:"actor_id"` // user id, "" for the system or an anonymous caller
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Outcome    string            `json:"outcome"`
	ClientIP   string            `json:"client_ip"`
	Detail     map[string]string `json:"detail,omitempty"` // small, PHI-free facts (reason codes)
	PrevHash   []byte            `json:"prev_hash"`
	Hash       []byte            `json:"hash"`
	// StoredDetail is the detail exactly as the store holds it, set by
	// AuditStore.AuditEvents. The hash covers Detail's canonical encoding,
	// and a JSON text can decode to that map while showing a reader other
	// values (a duplicate key, an escape); the verifier requires the stored
	// text to be the canonical encoding itself.
	StoredDetail []byte `json:"-"`
}

// CanonicalDetail returns the one encoding of e.Detail that the store
// writes and the hash covers: encoding/json of the map, which sorts keys,
// escapes HTML characters and adds no spaces; "null" when Detail is nil.
func (e *AuditEvent) CanonicalDetail() []byte {
	detail, _ := json.Marshal(e.Detail) // a map of strings always encodes
	return detail
}

// ChainHash returns the hash of e chained to prev: SHA-256 over the previous
// hash and a canonical encoding of every field but Hash. Seq and TenantID are
// inside, so an edited, deleted or reordered row breaks the chain.
func (e *AuditEvent) ChainHash(prev []byte) []byte {
	h := sha256.New()
	var n [8]byte
	write := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	write(prev)
	write([]byte(e.TenantID))
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	write([]byte(e.At.UTC().Format(time.RFC3339Nano)))
	write([]byte(e.ActorID))
	write([]byte(e.Action))
	write([]byte(e.TargetType))
	write([]byte(e.TargetID))
	write([]byte(e.Outcome))
	write([]byte(e.ClientIP))
	write(e.CanonicalDetail())
	return h.Sum(nil)
}

// AuditHead is the newest link of a tenant's chain, kept apart from the
// events so that deleting the newest events is detected too.
type AuditHead struct {
	Seq  int64
	Hash []byte
}

// AuditStore appends to and reads the audit log.
type AuditStore interface {
	// AppendAudit records e durably for its tenant (e.TenantID is
	// required). Its place in the chain (Seq, PrevHash, Hash) is assigned
	// when the store links it, in order with the tenant's other events and
	// in batches, shortly after the commit; AuditEvents and AuditHead show
	// linked events only.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AuditEvents returns the tenant's events with Seq > afterSeq in Seq
	// order, at most limit, exactly as stored (for verification): the
	// detail text in StoredDetail, and Detail decoded from it (nil when it
	// does not decode, which the verifier reports as an edited row).
	AuditEvents(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*AuditEvent, error)
	// AuditHead returns the tenant's chain head (zero Seq when empty).
	AuditHead(ctx context.Context, tenantID string) (*AuditHead, error)
}

// Pinger reports whether a dependency answers, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}
