package store

import (
	"context"
	"fmt"
	"strings"
)

// collect scans every row with scan and closes rows, so a listing is one
// call instead of a hand-written Next/Scan/Close/Err loop that can forget
// the Close on an early return or the Err check at the end. It returns the
// first scan or iteration error unwrapped; the caller names the operation.
func collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// queryAll runs query on q and collects its rows with scan.
func queryAll[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// queryArgs holds the arguments of a query whose WHERE clause is built
// piece by piece; add appends one and returns its $N placeholder, so the
// numbering can never drift from the list.
type queryArgs []any

func (a *queryArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// list adds vs and returns their placeholders, comma-separated (an IN list).
func (a *queryArgs) list(vs []string) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

// scanLowerID scans a single id column in its canonical lower-case form.
func scanLowerID(r Row) (string, error) {
	var id string
	err := r.Scan(&id)
	return strings.ToLower(id), err
}
