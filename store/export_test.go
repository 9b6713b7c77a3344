package store

import (
	"context"

	"whitecross"
)

// AppendEventsForTest appends evs in one transaction, as a change does, and
// notifies after commit. Tests only.
func (s *Store) AppendEventsForTest(ctx context.Context, evs []whitecross.Event) ([]whitecross.Event, error) {
	ev := &txEvents{pending: evs}
	if err := s.db.InTx(ctx, func(tx *Tx) error { return s.flushEvents(ctx, tx, ev) }); err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return ev.appended, nil
}
