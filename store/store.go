package store

import (
	"sync/atomic"

	"github.com/google/uuid"

	"whitecross"
	"whitecross/netguard"
)

// Store implements the domain services on a DB. Every method that reads or
// writes tenant data takes the tenant from the caller in ctx
// (whitecross.ActorFromContext), never from its arguments.
type Store struct {
	db     *DB
	hasher whitecross.PasswordHasher
	sealer whitecross.Sealer
	queue  DispatchQueue
	// notices sends sign-in codes and reset links (see notices.go).
	notices NoticeQueue
	// rekeys re-encrypts old rows after a data key rotation (datakeys.go).
	rekeys RekeyQueue
	// dataKeys caches unwrapped tenant data keys (see contentkeys.go).
	dataKeys dataKeyCache
	// notifier is told of realtime events after commit (see events.go).
	// It is atomic: serve sets it once the gateway exists, while the
	// queue's workers already commit.
	notifier atomic.Pointer[whitecross.EventNotifier]
	// auditLinker links committed audit events into their chains; nil
	// links each commit's events at once (see audit_link.go).
	auditLinker atomic.Pointer[AuditLinker]
	// reads is the group commit of message.read events (audit_reads.go).
	reads readAudit
	// pushGuard decides which push endpoints may be registered.
	pushGuard netguard.Guard
}

// New returns a Store on db. hasher hashes user passwords; sealer protects
// signing keys at rest.
func New(db *DB, hasher whitecross.PasswordHasher, sealer whitecross.Sealer) *Store {
	return &Store{db: db, hasher: hasher, sealer: sealer}
}

// DB returns the underlying database.
func (s *Store) DB() *DB { return s.db }

// newID returns a UUIDv7: time-ordered, so inserts append to indexes and ids
// double as keyset-pagination cursors.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validUUID reports whether s parses as a UUID. Ids that do not parse are
// "not found" rather than a database error on PostgreSQL's uuid columns.
func validUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}
