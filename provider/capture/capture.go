// Package capture is a whitecross.Sender that sends nothing: it records each
// Outbound in a bounded in-memory outbox so a demo or a test can see what
// would have been sent. `serve --demo` routes email, SMS, voice and push here.
package capture

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"whitecross"
)

// DefaultCapacity is how many messages an Outbox keeps when New is given a
// capacity of zero or less.
const DefaultCapacity = 1000

// Message is one recorded send: a copy of the Outbound as it was given.
type Message struct {
	ID         string // "1", "2", ... in recording order; never reused by one Outbox
	ProviderID string // "capture-<ID>", as returned in the SendResult
	CapturedAt time.Time
	Outbound   whitecross.Outbound
}

// Filter selects messages for List. Zero values match everything.
type Filter struct {
	// TenantID keeps only one district's sends (Outbound.TenantID), so a
	// shared outbox shows each district its own; "" for all.
	TenantID string
	Channel  whitecross.Channel // exact channel, "" for all
	To       string             // case-insensitive substring of Outbound.To
	Limit    int                // at most this many; <= 0 for all
}

// Outbox implements whitecross.Sender by recording every Outbound in a ring
// of fixed capacity (the oldest is dropped when full). It is safe for
// concurrent use. The zero value is not usable; call New.
type Outbox struct {
	now func() time.Time

	mu       sync.Mutex
	ring     []Message // ring[(start+i)%cap] is the i-th oldest
	start    int
	count    int
	seq      uint64
	failNext int
	failErr  *whitecross.ProviderError
	delay    time.Duration
}

var _ whitecross.Sender = (*Outbox)(nil)

// New returns an empty Outbox keeping at most capacity messages (<= 0 means
// DefaultCapacity). now stamps each message; nil means time.Now in UTC.
func New(capacity int, now func() time.Time) *Outbox {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Outbox{now: now, ring: make([]Message, capacity)}
}

// Send records a copy of out and returns ProviderID "capture-<id>" with
// status DELIVERED (for capture, acceptance is delivery). After FailNext it
// returns the configured *whitecross.ProviderError instead and records
// nothing. After SetDelay it first waits that long, returning ctx.Err() if
// ctx ends first.
func (o *Outbox) Send(ctx context.Context, out *whitecross.Outbound) (*whitecross.SendResult, error) {
	o.mu.Lock()
	delay := o.delay
	o.mu.Unlock()
	if delay > 0 {
		// A timer + select, not time.Sleep, so a canceled job stops waiting.
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failNext > 0 {
		o.failNext--
		e := *o.failErr // a copy, so callers cannot change the next failure
		return nil, &e
	}
	o.seq++
	id := strconv.FormatUint(o.seq, 10)
	m := Message{ID: id, ProviderID: "capture-" + id, CapturedAt: o.now(), Outbound: *out}
	capacity := len(o.ring)
	if o.count < capacity {
		o.ring[(o.start+o.count)%capacity] = m
		o.count++
	} else {
		o.ring[o.start] = m
		o.start = (o.start + 1) % capacity
	}
	return &whitecross.SendResult{ProviderID: m.ProviderID, Status: whitecross.DeliveryDelivered}, nil
}

// List returns the recorded messages matching f, newest first.
func (o *Outbox) List(f Filter) []Message {
	to := strings.ToLower(f.To)
	o.mu.Lock()
	defer o.mu.Unlock()
	var res []Message
	for i := o.count - 1; i >= 0; i-- {
		m := o.ring[(o.start+i)%len(o.ring)]
		if f.TenantID != "" && m.Outbound.TenantID != f.TenantID {
			continue
		}
		if f.Channel != "" && m.Outbound.Channel != f.Channel {
			continue
		}
		if to != "" && !strings.Contains(strings.ToLower(m.Outbound.To), to) {
			continue
		}
		res = append(res, m)
		if f.Limit > 0 && len(res) == f.Limit {
			break
		}
	}
	return res
}

// Get returns the message with the given id (Message.ID, or its ProviderID
// "capture-<id>"). It returns ENOTFOUND when there is none, including when
// the message has been dropped from the ring or cleared.
func (o *Outbox) Get(id string) (*Message, error) {
	id = strings.TrimPrefix(id, "capture-")
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := 0; i < o.count; i++ {
		m := o.ring[(o.start+i)%len(o.ring)]
		if m.ID == id {
			return &m, nil
		}
	}
	return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Captured message not found.")
}

// Len returns how many messages the outbox holds now.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count
}

// Cap returns the capacity given to New.
func (o *Outbox) Cap() int { return len(o.ring) }

// Clear drops every recorded message. Ids keep counting up, so an id is
// never reused.
func (o *Outbox) Clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.ring)
	o.start, o.count = 0, 0
}

// FailNext makes the next n calls to Send return a copy of err (which must
// not be nil) without recording; n <= 0 cancels a pending failure. It is for
// testing the delivery pipeline's retry and fallback.
func (o *Outbox) FailNext(n int, err *whitecross.ProviderError) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n <= 0 || err == nil {
		o.failNext, o.failErr = 0, nil
		return
	}
	o.failNext, o.failErr = n, err
}

// SetDelay makes every later Send wait d before answering (0 turns it off),
// to simulate a slow provider. The wait ends early when the ctx given to
// Send ends; tests should cancel ctx rather than rely on wall time.
func (o *Outbox) SetDelay(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delay = d
}
