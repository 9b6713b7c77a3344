package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"whitecross"
)

var _ whitecross.LoginThrottle = (*Store)(nil)

// LockedUntil implements whitecross.LoginThrottle: the end of the key's
// lockout if it is after now, else the zero time.
func (s *Store) LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	var until *time.Time
	err := s.db.Reader().QueryRow(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1`, key).Scan(&until)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("read login throttle: %w", err)
	}
	if until == nil || !until.After(now) {
		return time.Time{}, nil
	}
	return until.UTC(), nil
}

// RecordFailure implements whitecross.LoginThrottle. Failures are counted
// in a fixed window that starts at the first failure; one at or after
// window start + Window starts a new count at 1. The failure that brings
// the count to Threshold starts a lockout of Lockout * 2^(n-1) for the key's
// n-th lockout, capped at MaxLockout, and resets the count. It returns the
// lockout end only when this failure started a lockout, else the zero time.
// The lockout count is kept until Reset, or until a failure comes a whole
// Window after the last lockout ended. Concurrent calls on any number of
// instances never lose a failure: the row is locked for the read-modify-
// write.
func (s *Store) RecordFailure(ctx context.Context, key string, now time.Time, p whitecross.ThrottlePolicy) (time.Time, error) {
	if p.Threshold <= 0 || p.Window <= 0 || p.Lockout <= 0 {
		return time.Time{}, errors.New("record login failure: policy needs a positive threshold, window and lockout")
	}
	now = now.UTC().Truncate(time.Microsecond)
	var lockedUntil time.Time
	err := s.db.InTx(ctx, func(tx *Tx) error {
		// The upsert creates the row or, as a no-op update, locks it
		// (PostgreSQL returns the latest committed values after waiting;
		// SQLite has a single writer), so the update below cannot race.
		var failures, lockouts int
		var windowStart time.Time
		var until *time.Time
		err := tx.QueryRow(ctx, `INSERT INTO login_throttle (key, failures, window_start, lockouts) VALUES ($1, 0, $2, 0)
			ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
			RETURNING failures, window_start, lockouts, locked_until`, key, now).Scan(&failures, &windowStart, &lockouts, &until)
		if err != nil {
			return fmt.Errorf("lock login throttle: %w", err)
		}
		if !now.Before(windowStart.Add(p.Window)) {
			failures, windowStart = 0, now
			// A whole quiet window after the last lockout ended forgives the
			// earlier lockouts, so a school whose staff share one address
			// does not stay on the longest lockout for ever.
			if until == nil || !now.Before(until.Add(p.Window)) {
				lockouts = 0
			}
		}
		failures++
		if failures >= p.Threshold {
			lockouts++
			lockedUntil = now.Add(lockoutDuration(p, lockouts))
			until = &lockedUntil
			failures, windowStart = 0, now
		}
		if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = $2, window_start = $3, lockouts = $4, locked_until = $5 WHERE key = $1`,
			key, failures, windowStart, lockouts, until); err != nil {
			return fmt.Errorf("update login throttle: %w", err)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return lockedUntil, nil
}

// lockoutDuration is p.Lockout doubled for each lockout after the first,
// capped at p.MaxLockout. A MaxLockout below Lockout (or zero) means every
// lockout lasts Lockout.
func lockoutDuration(p whitecross.ThrottlePolicy, n int) time.Duration {
	limit := max(p.MaxLockout, p.Lockout)
	d := p.Lockout
	for i := 1; i < n && d < limit; i++ {
		d *= 2 // d < limit <= MaxInt64, and limit caps it below
		if d > limit || d <= 0 {
			d = limit
		}
	}
	return d
}

// Reset implements whitecross.LoginThrottle: it forgets the key's failures
// and lockouts (no error when there were none).
func (s *Store) Reset(ctx context.Context, key string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
			return fmt.Errorf("reset login throttle: %w", err)
		}
		return nil
	})
}
