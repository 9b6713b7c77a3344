package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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

// throttleRow is one key's row of login_throttle.
type throttleRow struct {
	failures int        // attempts charged in the window (failed or in flight)
	window   time.Time  // start of the counting window: its first charge
	lockouts int        // lockouts since the key was last quiet for a Window
	until    *time.Time // end of the latest lockout
}

// lockedAt reports whether the key is locked out at now.
func (r *throttleRow) lockedAt(now time.Time) bool {
	return r.until != nil && now.Before(*r.until)
}

// charge counts one attempt at now under p and returns the charge. The
// count restarts at a charge one Window or more after the window began
// (forgiving earlier lockouts too when the last one ended a whole Window
// ago, so a school sharing one address does not stay on the longest
// lockout for ever), or at the first charge after a lockout ended. The
// charge that brings the count to p.Threshold starts the key's n-th
// lockout, of Lockout * 2^(n-1) capped at MaxLockout.
func (r *throttleRow) charge(key string, now time.Time, p whitecross.ThrottlePolicy) whitecross.ThrottleCharge {
	switch {
	case !now.Before(r.window.Add(p.Window)):
		if r.until == nil || !now.Before(r.until.Add(p.Window)) {
			r.lockouts = 0
		}
		r.failures, r.window = 0, now
	case r.failures >= p.Threshold:
		// Only a lockout that has ended leaves a full count behind.
		r.failures, r.window = 0, now
	}
	r.failures++
	c := whitecross.ThrottleCharge{Key: key, At: now, Window: r.window}
	if r.failures >= p.Threshold {
		r.lockouts++
		c.LockedUntil = now.Add(lockoutDuration(p, r.lockouts))
		r.until = &c.LockedUntil
	}
	return c
}

// refund takes c off the count if its window is still the row's, lifting
// the lockout c started. It reports whether the row changed. A lifted
// lockout is recorded as having ended at c.At, which keeps the row's
// lockout history (a later lockout still doubles) without locking anyone.
func (r *throttleRow) refund(c whitecross.ThrottleCharge) bool {
	if !r.window.Equal(c.Window) || r.failures == 0 {
		return false
	}
	r.failures--
	if !c.LockedUntil.IsZero() && r.until != nil && r.until.Equal(c.LockedUntil) {
		r.lockouts = max(r.lockouts-1, 0)
		at := c.At
		r.until = &at
	}
	return true
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

// errThrottleLocked rolls back a Reserve that found a key locked, so that
// it charges nothing (and leaves no row for a key it created).
var errThrottleLocked = errors.New("login throttle key locked")

// Reserve implements whitecross.LoginThrottle. Every key's row is locked in
// one transaction, in key order so that concurrent reservations on any
// number of instances cannot deadlock: the upsert creates the row or, as a
// no-op update, locks it (PostgreSQL waits and returns the latest committed
// values; SQLite has a single writer), so no two reservations read the same
// count.
func (s *Store) Reserve(ctx context.Context, now time.Time, keys []whitecross.ThrottleKey) ([]whitecross.ThrottleCharge, time.Time, error) {
	if err := validThrottleKeys(keys); err != nil {
		return nil, time.Time{}, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	order := keyOrder(len(keys), func(i int) string { return keys[i].Key })
	var charges []whitecross.ThrottleCharge
	var lockedUntil time.Time
	err := s.db.InTx(ctx, func(tx *Tx) error {
		rows := make([]throttleRow, len(keys))
		for _, i := range order {
			if err := lockThrottleRow(ctx, tx, keys[i].Key, now, &rows[i]); err != nil {
				return err
			}
			if rows[i].lockedAt(now) && rows[i].until.After(lockedUntil) {
				lockedUntil = rows[i].until.UTC()
			}
		}
		if !lockedUntil.IsZero() {
			return errThrottleLocked
		}
		charges = make([]whitecross.ThrottleCharge, len(keys))
		for _, i := range order {
			charges[i] = rows[i].charge(keys[i].Key, now, keys[i].Policy)
			if err := updateThrottleRow(ctx, tx, keys[i].Key, &rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errThrottleLocked) {
		return nil, lockedUntil, nil
	} else if err != nil {
		return nil, time.Time{}, err
	}
	return charges, time.Time{}, nil
}

// validThrottleKeys refuses unusable policies and a key named twice (its
// row would be counted from a stale read).
func validThrottleKeys(keys []whitecross.ThrottleKey) error {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		p := k.Policy
		if p.Threshold <= 0 || p.Window <= 0 || p.Lockout <= 0 {
			return errors.New("reserve login attempt: policy needs a positive threshold, window and lockout")
		}
		if seen[k.Key] {
			return errors.New("reserve login attempt: key given twice")
		}
		seen[k.Key] = true
	}
	return nil
}

// keyOrder returns the indexes 0..n-1 sorted by key(i): the one order in
// which rows are locked.
func keyOrder(n int, key func(i int) string) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(key(a), key(b)) })
	return order
}

// lockThrottleRow creates key's row (an empty count from now) or locks the
// existing one, reading it into r.
func lockThrottleRow(ctx context.Context, tx *Tx, key string, now time.Time, r *throttleRow) error {
	err := tx.QueryRow(ctx, `INSERT INTO login_throttle (key, failures, window_start, lockouts) VALUES ($1, 0, $2, 0)
		ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
		RETURNING failures, window_start, lockouts, locked_until`, key, now).Scan(&r.failures, &r.window, &r.lockouts, &r.until)
	if err != nil {
		return fmt.Errorf("lock login throttle: %w", err)
	}
	return nil
}

// updateThrottleRow writes r back to key's row.
func updateThrottleRow(ctx context.Context, tx *Tx, key string, r *throttleRow) error {
	if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = $2, window_start = $3, lockouts = $4, locked_until = $5 WHERE key = $1`,
		key, r.failures, r.window, r.lockouts, r.until); err != nil {
		return fmt.Errorf("update login throttle: %w", err)
	}
	return nil
}

// Refund implements whitecross.LoginThrottle, in one transaction that locks
// the rows in key order (as Reserve does). A key without a row was Reset.
func (s *Store) Refund(ctx context.Context, charges []whitecross.ThrottleCharge) error {
	if len(charges) == 0 {
		return nil
	}
	order := keyOrder(len(charges), func(i int) string { return charges[i].Key })
	return s.db.InTx(ctx, func(tx *Tx) error {
		for _, i := range order {
			c := charges[i]
			var r throttleRow
			err := tx.QueryRow(ctx, `UPDATE login_throttle SET failures = failures WHERE key = $1
				RETURNING failures, window_start, lockouts, locked_until`, c.Key).Scan(&r.failures, &r.window, &r.lockouts, &r.until)
			if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
				continue
			} else if err != nil {
				return fmt.Errorf("lock login throttle: %w", err)
			}
			if !r.refund(c) {
				continue
			}
			if err := updateThrottleRow(ctx, tx, c.Key, &r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reset implements whitecross.LoginThrottle: it forgets the key's count and
// lockouts (no error when there were none). A charge still in flight for
// the key is forgotten with them: it was made before this success.
func (s *Store) Reset(ctx context.Context, key string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
			return fmt.Errorf("reset login throttle: %w", err)
		}
		return nil
	})
}
