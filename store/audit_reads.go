package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"whitecross"
)

// Reads of message content are audited (message.read), and there are many
// more reads than changes: one write transaction per read would make every
// detail view wait for SQLite's single writer, and on PostgreSQL cost a
// commit (a WAL flush) each. Read events are therefore written by a group
// commit of their own: a read hands its event to readAudit and waits; the
// first waiter writes every event that queued meanwhile in one transaction
// (several rows a statement), then wakes them all. A read is answered only
// once its event is durable, as with a change, but a thousand reads a
// second cost a few dozen transactions, not a thousand. On PostgreSQL a
// few batches may be in flight at once (readWriters), so that reads
// arriving during one batch's commit (its WAL flush) need not wait for it
// to end before theirs starts; SQLite has one writer, so one batch.

// readAuditWait bounds how long a read waits for its event to be written.
const readAuditWait = 10 * time.Second

// readWriters is how many batches of read events PostgreSQL writes at once.
const readWriters = 4

// readAudit is the group commit of read events (see above).
type readAudit struct {
	mu      sync.Mutex
	queue   []*pendingRead
	writers int // batches being written
}

// pendingRead is one queued event and where its writer reports.
type pendingRead struct {
	e    *whitecross.AuditEvent
	done chan error
}

// auditReadEvents makes the durable record of reads: it returns once every
// event in events is committed to audit_pending (linked into the chain
// shortly after), or with the error that kept them from it.
func (s *Store) auditReadEvents(ctx context.Context, events ...*whitecross.AuditEvent) error {
	waits := make([]*pendingRead, len(events))
	s.reads.mu.Lock()
	for i, e := range events {
		waits[i] = &pendingRead{e: e, done: make(chan error, 1)}
	}
	s.reads.queue = append(s.reads.queue, waits...)
	lead := s.reads.writers < s.maxReadWriters()
	if lead {
		s.reads.writers++
	}
	s.reads.mu.Unlock()
	if lead {
		s.drainReads()
	}
	for _, w := range waits {
		select {
		case err := <-w.done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// drainReads writes queued read events, one transaction per round, until
// the queue is empty. The caller that started it is answered by its first
// round; later rounds (events that queued while it wrote) run in a fresh
// goroutine, so no reader carries others' writes on its own latency.
func (s *Store) drainReads() {
	s.reads.mu.Lock()
	batch := s.reads.queue
	s.reads.queue = nil
	if len(batch) == 0 { // another writer took them
		s.reads.writers--
		s.reads.mu.Unlock()
		return
	}
	s.reads.mu.Unlock()
	// A batch holds the reads of every district that arrived together.
	ctx, cancel := context.WithTimeout(AllTenants(context.Background()), readAuditWait)
	err := s.writeReadBatch(ctx, batch)
	cancel()
	for _, w := range batch {
		w.done <- err
	}
	s.reads.mu.Lock()
	more := len(s.reads.queue) > 0
	if !more {
		s.reads.writers--
	}
	s.reads.mu.Unlock()
	if more {
		go s.drainReads()
	}
}

// maxReadWriters is how many read batches may be written at once.
func (s *Store) maxReadWriters() int {
	if s.db.Dialect == Postgres {
		return readWriters
	}
	return 1
}

// writeReadBatch inserts the events of batch into audit_pending in one
// transaction, several rows a statement, in queue order.
func (s *Store) writeReadBatch(ctx context.Context, batch []*pendingRead) error {
	const cols = 9
	return s.db.InTx(ctx, func(tx *Tx) error {
		tenants := map[string]bool{}
		for chunk := range slices.Chunk(batch, tx.rowsPerInsert()/3) {
			var sql strings.Builder
			sql.WriteString(`INSERT INTO audit_pending
				(tenant_id, at, actor_id, action, target_type, target_id, outcome, client_ip, detail) VALUES `)
			args := make([]any, 0, len(chunk)*cols)
			for i, w := range chunk {
				if i > 0 {
					sql.WriteString(", ")
				}
				sql.WriteString("(" + placeholders(i*cols+1, cols) + ")")
				e := w.e
				args = append(args, e.TenantID, e.At, e.ActorID, e.Action, e.TargetType, e.TargetID, e.Outcome, e.ClientIP, string(e.StoredDetail))
				tenants[e.TenantID] = true
			}
			if _, err := tx.Exec(ctx, sql.String(), args...); err != nil {
				return fmt.Errorf("insert read audit events: %w", err)
			}
		}
		for id := range tenants {
			tx.AfterCommit(func() { s.auditCommitted(id) })
		}
		return nil
	})
}

// AuditReads records that the caller in ctx read the content of the
// messages ids via one of detail, thread, list, live or export: one
// message.read event naming them all (a page is one event, not fifty).
// No ids, no event. Events of the caller's own reads only; the system
// reads nothing on anyone's behalf that needs recording.
func (s *Store) AuditReads(ctx context.Context, via string, ids []string) error {
	a := whitecross.ActorFromContext(ctx)
	if a == nil {
		return fmt.Errorf("audit read: no caller in context")
	}
	e := readEvent(a, via, ids, s.db.now())
	if e == nil {
		return nil
	}
	return s.auditReadEvents(ctx, e)
}

// readEvent is the message.read event of a's read of ids, nil for none: a
// single message is the event's target; several are named in the detail.
func readEvent(a *whitecross.Actor, via string, ids []string, at time.Time) *whitecross.AuditEvent {
	if len(ids) == 0 || a.System {
		return nil
	}
	e := &whitecross.AuditEvent{
		TenantID: a.TenantID, ActorID: a.UserID, ClientIP: a.ClientIP, Action: whitecross.AuditMessageRead,
		At: at.UTC().Truncate(time.Microsecond), Outcome: whitecross.OutcomeSuccess, TargetType: "message",
		Detail: map[string]string{"via": via, "message_ids": strings.Join(ids, ","), "count": fmt.Sprint(len(ids))},
	}
	if len(ids) == 1 {
		e.TargetID = ids[0]
	}
	e.StoredDetail = e.CanonicalDetail()
	return e
}

// AuditLiveReads records reads of content sent by live frames: one
// message.read event (via "live") per read, all in one transaction of the
// read group commit, so a 10,000-recipient broadcast costs one write.
func (s *Store) AuditLiveReads(ctx context.Context, reads []whitecross.LiveRead) error {
	at := s.db.now()
	events := make([]*whitecross.AuditEvent, 0, len(reads))
	for _, r := range reads {
		if e := readEvent(r.Actor, "live", r.MessageIDs, at); e != nil {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return nil
	}
	return s.auditReadEvents(ctx, events...)
}
