package store

import (
	"context"

	"whitecross"
)

// AppendEventsForTest appends evs in one transaction, as a change does, and
// notifies after commit. Tests only.
func (s *Store) AppendEventsForTest(ctx context.Context, evs []whitecross.Event) ([]whitecross.Event, error) {
	ev := &txEvents{pending: evs}
	if err := s.db.InTx(AllTenants(ctx), func(tx *Tx) error { return s.flushEvents(ctx, tx, ev) }); err != nil {
		return nil, err
	}
	s.notifyEvents(ctx, ev)
	return ev.appended, nil
}

// countingQuerier counts the statements run through it.
type countingQuerier struct {
	Querier
	n *int
}

func (c countingQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	*c.n++
	return c.Querier.Query(ctx, query, args...)
}

func (c countingQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	*c.n++
	return c.Querier.QueryRow(ctx, query, args...)
}

func (c countingQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	*c.n++
	return c.Querier.Exec(ctx, query, args...)
}

// FilterMessageableCountingQueries is FilterMessageable that also returns
// how many statements it ran. Tests only.
func (s *Store) FilterMessageableCountingQueries(ctx context.Context, ids []string) (map[string]bool, int, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	var n int
	ok, err := s.filterMessageable(ctx, countingQuerier{s.db.Reader(), &n}, a, ids)
	return ok, n, err
}

// DispatchMessageCountingQueries is DispatchMessage that also returns how
// many statements the batch ran. Tests and benchmarks only.
func (s *Store) DispatchMessageCountingQueries(ctx context.Context, job DispatchJob) (done bool, n int, err error) {
	ev := &txEvents{}
	err = s.db.InTx(AllTenants(ctx), func(tx *Tx) error {
		tx.Querier = countingQuerier{tx.Querier, &n}
		if done, err = s.dispatchBatch(ctx, tx, job, ev); err != nil {
			return err
		}
		return s.flushEvents(ctx, tx, ev)
	})
	if err != nil {
		return false, 0, err
	}
	s.notifyEvents(ctx, ev)
	return done, n, nil
}
