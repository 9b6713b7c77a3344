// Package testutil holds the helpers that tests of several packages share,
// so that each is written once. Only tests import it.
package testutil

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers, such as a
// logger fed by a server's or a worker's goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (n int, err error) {
	s.locked(func() { n, err = s.buf.Write(p) })
	return n, err
}

// String returns everything written so far.
func (s *SyncBuffer) String() (out string) {
	s.locked(func() { out = s.buf.String() })
	return out
}

// locked runs f holding the buffer's lock.
func (s *SyncBuffer) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// pollEvery is how often WaitUntil checks: short enough that a test does not
// wait long after the condition holds, long enough not to busy-loop.
const pollEvery = 10 * time.Millisecond

// WaitUntil polls done until it holds, failing the test after limit with
// what it waited for and, when given, detail() as it is then (the state
// reached, a server's log).
func WaitUntil(t testing.TB, limit time.Duration, what string, done func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !done() {
		if !time.Now().Before(deadline) {
			msg := fmt.Sprintf("gave up waiting for %s after %s", what, limit)
			for _, d := range detail {
				msg += "\n" + d()
			}
			t.Fatal(msg)
		}
		time.Sleep(pollEvery)
	}
}
