// Package audit verifies a tenant's hash-chained audit log. Events are
// written by the store inside the transaction of the change they record and
// linked into the chain in batches after the commit; this package proves
// afterwards that no linked event was edited, deleted or reordered.
package audit

import (
	"bytes"
	"context"
	"fmt"

	"whitecross"
)

// pageSize bounds memory while verifying logs of any length.
const pageSize = 1000

// Report is the outcome of verifying one tenant's chain.
type Report struct {
	// OK is true when every link holds.
	OK bool
	// Events is the number of events checked before the first break (all of
	// them when OK).
	Events int64
	// BrokenAt is the Seq of the first event that does not hold (for a
	// chain head that does not match, the head's Seq); 0 when OK.
	BrokenAt int64
	// Broken describes the first broken link, "" when OK.
	Broken string
}

// Verify walks the tenant's audit log in order and reports the first broken
// link: a gap or repeat in sequence numbers (a deleted or reordered row), a
// predecessor hash that does not match (a removed or inserted row), a stored
// detail that is not the canonical encoding its hash covers (an edited row
// that decodes to the logged values but shows a reader others: a duplicate
// key, spacing, key order, escapes), an event whose hash does not match its
// content (an edited row), or a chain head that does not match the last event
// (deleted newest rows). It returns an error
// only when the log cannot be read.
func Verify(ctx context.Context, st whitecross.AuditStore, tenantID string) (*Report, error) {
	var (
		lastSeq  int64
		lastHash       = []byte{}
		seenHead int64 = -1
	)
	// The head is read after the events: the linker moves events and the
	// head in one transaction, so on a live server an honest head is never
	// behind the events read before it; when it is ahead, the events linked
	// meanwhile are walked too; a head the events never reach is broken.
	for range 100 {
		rep, err := walk(ctx, st, tenantID, &lastSeq, &lastHash)
		if rep != nil || err != nil {
			return rep, err
		}
		head, err := st.AuditHead(ctx, tenantID)
		if err != nil {
			return nil, fmt.Errorf("read audit head: %w", err)
		}
		if head.Seq > lastSeq && head.Seq != seenHead {
			seenHead = head.Seq // walk what was linked meanwhile, once per head
			continue
		}
		if head.Seq != lastSeq || !bytes.Equal(head.Hash, lastHash) {
			return &Report{Events: lastSeq, BrokenAt: head.Seq, Broken: fmt.Sprintf(
				"chain head says %d events but the log ends at event %d: newest events deleted or head altered", head.Seq, lastSeq)}, nil
		}
		return &Report{OK: true, Events: lastSeq}, nil
	}
	return nil, fmt.Errorf("audit chain of %s kept growing while verified", tenantID)
}

// walk checks the events after *lastSeq to the end of the log, advancing
// *lastSeq and *lastHash; a report when a link is broken.
func walk(ctx context.Context, st whitecross.AuditStore, tenantID string, lastSeq *int64, lastHash *[]byte) (*Report, error) {
	for {
		events, err := st.AuditEvents(ctx, tenantID, *lastSeq, pageSize)
		if err != nil {
			return nil, fmt.Errorf("read audit events: %w", err)
		}
		for _, e := range events {
			if broken := checkLink(e, *lastSeq, *lastHash); broken != "" {
				return &Report{Events: *lastSeq, BrokenAt: *lastSeq + 1, Broken: broken}, nil
			}
			*lastSeq, *lastHash = e.Seq, e.Hash
		}
		if len(events) < pageSize {
			return nil, nil
		}
	}
}

// checkLink returns why e does not follow the event (prevSeq, prevHash), or "".
func checkLink(e *whitecross.AuditEvent, prevSeq int64, prevHash []byte) string {
	switch {
	case e.Seq != prevSeq+1:
		return fmt.Sprintf("event %d follows event %d: an event is missing or out of order", e.Seq, prevSeq)
	case !bytes.Equal(e.PrevHash, prevHash):
		return fmt.Sprintf("event %d does not link to event %d: an event was removed, inserted or reordered", e.Seq, prevSeq)
	case !bytes.Equal(e.StoredDetail, e.CanonicalDetail()):
		return fmt.Sprintf("event %d detail is not in canonical form: it was edited", e.Seq)
	case !bytes.Equal(e.Hash, e.ChainHash(e.PrevHash)):
		return fmt.Sprintf("event %d does not match its hash: it was edited", e.Seq)
	}
	return ""
}
