package store

import (
	"context"
	"time"
)

// DispatchJob asks the queue to expand a stored message into inbox entries
// and deliveries. It is inserted inside the transaction that stores the
// message, so a message is never stored without its dispatch (nor the
// reverse).
type DispatchJob struct {
	TenantID  string
	MessageID string
	// RunAt is when to dispatch: now, or the message's scheduled_at.
	RunAt time.Time
	// ScheduledAt is the message's scheduled_at when the job was enqueued
	// (nil for an immediate send). A job whose ScheduledAt no longer matches
	// the message (rescheduled) or whose message was canceled does nothing.
	ScheduledAt *time.Time
	// Urgent selects the urgent lane (EMERGENCY category or URGENT priority),
	// so a bulk newsletter never delays an emergency.
	Urgent bool
}

// DispatchQueue inserts dispatch jobs into the job queue inside a store
// transaction: River's InsertTx with the transaction's native handle
// (tx.PgxTx() on PostgreSQL, tx.SQLTx() on SQLite). Implemented by package
// delivery; the store never imports it.
type DispatchQueue interface {
	EnqueueDispatch(ctx context.Context, tx *Tx, job DispatchJob) error
	// EnqueueDeliveries inserts one deliver job per PENDING delivery, in
	// the transaction that creates (or requeues) the deliveries.
	EnqueueDeliveries(ctx context.Context, tx *Tx, jobs []DeliverJob) error
}

// DeliverJob asks the queue to send one delivery through its channel's
// provider. It carries ids only, never content.
type DeliverJob struct {
	TenantID   string
	DeliveryID string
	// Urgent selects the urgent lane, as for DispatchJob.
	Urgent bool
}

// SetDispatchQueue sets the queue that SendMessage, Reply and Reschedule
// enqueue dispatch jobs on. Without one, every message is dispatched inline
// in its own transaction, which suits small audiences and tests but not a
// 10,000-recipient broadcast.
func (s *Store) SetDispatchQueue(q DispatchQueue) { s.queue = q }

// DispatchBatchSize is how many recipients one dispatch transaction handles,
// so that a large broadcast is expanded in bounded steps a crash can resume.
const DispatchBatchSize = 1000

// InlineDispatchMax is the largest audience dispatched inside the send
// transaction itself (the message is in every inbox when the request
// returns); larger or scheduled ones go through the queue.
const InlineDispatchMax = 100
