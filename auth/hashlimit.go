package auth

import (
	"context"
	"runtime"
	"time"

	"whitecross"
)

var _ whitecross.PasswordHasher = (*BoundedHasher)(nil)

// DefaultHashWait is how long a password hash waits for a free slot before
// the caller is told the server is busy.
const DefaultHashWait = 2 * time.Second

// DefaultHashConcurrency is how many password hashes may run at once on
// this machine: one per usable CPU. argon2id with one lane keeps one CPU
// busy, so more at once add only memory (19 MiB each), not throughput.
func DefaultHashConcurrency() int { return max(runtime.GOMAXPROCS(0), 1) }

// BoundedHasher lets at most a fixed number of password hashes (verify or
// hash) run at once through the hasher it wraps, so a burst of sign-ins
// cannot take the process's memory and CPU: each argon2id run allocates
// 19 MiB. A caller beyond the bound waits up to its wait (or its context)
// for a slot, then gets EUNAVAILABLE with RetryAfterSeconds, which the API
// answers 503 with Retry-After.
type BoundedHasher struct {
	next  whitecross.PasswordHasher
	slots chan struct{}
	wait  time.Duration
}

// NewBoundedHasher bounds next to slots hashes at once (at least 1), each
// caller waiting up to wait for a slot (DefaultHashWait when not positive).
func NewBoundedHasher(next whitecross.PasswordHasher, slots int, wait time.Duration) *BoundedHasher {
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &BoundedHasher{next: next, slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// HashPassword implements whitecross.PasswordHasher: next's hash, in a
// slot. EUNAVAILABLE when no slot frees in time.
func (b *BoundedHasher) HashPassword(ctx context.Context, password string) (string, error) {
	release, err := b.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return b.next.HashPassword(ctx, password)
}

// VerifyPassword implements whitecross.PasswordHasher: next's check, in a
// slot. EUNAVAILABLE when no slot frees in time.
func (b *BoundedHasher) VerifyPassword(ctx context.Context, hash, password string) (bool, error) {
	release, err := b.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return b.next.VerifyPassword(ctx, hash, password)
}

// acquire takes a slot, waiting up to b.wait or until ctx ends, and returns
// the function that gives it back.
func (b *BoundedHasher) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-b.slots }
	select {
	case b.slots <- struct{}{}:
		return release, nil
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	select {
	case b.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, b.busy()
	}
}

// busy is the error of a caller that found no slot: come back after about
// one wait, by which time the slots have turned over many times.
func (b *BoundedHasher) busy() error {
	e := whitecross.Errorf(whitecross.EUNAVAILABLE, "The server is busy checking passwords. Try again shortly.")
	e.RetryAfterSeconds = max(int((b.wait+time.Second-1)/time.Second), 1)
	return e
}
