package store

import (
	"context"
	"fmt"

	"whitecross"
)

// rosterRange is how many staged people one step of an import covers: a
// transaction short enough that the district's own work (sends, sign-ins)
// waits at most a moment for SQLite's single writer.
const rosterRange = 5000

// rangeCond limits a statement over roster_rows to one range of sourcedIds:
// above $3, and up to $4 unless $4 is ”.
const rangeCond = ` AND roster_rows.sourced_id > $3 AND ($4 = '' OR roster_rows.sourced_id <= $4)`

// eachRange runs step over the staged users.csv rows in ranges of
// rosterRange sourcedIds, each in its own transaction, with the args
// tenant, import, low and high bound ($1–$4).
func (r *rosterRun) eachRange(ctx context.Context, step func(tx *Tx, args []any) error) error {
	lo := ""
	for {
		hi, err := r.rangeEnd(ctx, lo)
		if err != nil {
			return err
		}
		args := []any{r.tenantID, r.importID, lo, hi}
		if err := r.s.db.InTx(ctx, func(tx *Tx) error { return step(tx, args) }); err != nil {
			return err
		}
		if err := r.heartbeat(ctx); err != nil || hi == "" {
			return err
		}
		lo = hi
	}
}

// rangeEnd is the last sourcedId of the range after lo, or "" when the
// rest fits in one range.
func (r *rosterRun) rangeEnd(ctx context.Context, lo string) (string, error) {
	var hi string
	err := r.s.db.Reader().QueryRow(ctx, `SELECT sourced_id FROM roster_rows WHERE import_id = $1 AND kind = 'user'
		AND sourced_id > $2 ORDER BY sourced_id LIMIT 1 OFFSET $3`, r.importID, lo, rosterRange-1).Scan(&hi)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("roster range: %w", err)
	}
	return hi, nil
}

// heartbeat tells other servers the import is alive (see rosterStale).
func (r *rosterRun) heartbeat(ctx context.Context) error {
	_, err := r.exec(ctx, "heartbeat", `UPDATE roster_imports SET heartbeat_at = $2 WHERE id = $1`, r.importID, r.s.db.now())
	return err
}

// exec runs one statement in its own transaction.
func (r *rosterRun) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	var n int64
	err := r.s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("roster %s: %w", what, err)
	}
	return n, nil
}
