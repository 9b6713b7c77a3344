package testutil

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "%02d\n", i)
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 150 {
		t.Fatalf("buffer holds %d bytes, want 150", got)
	}
}

func TestWaitUntilReturnsOnceDone(t *testing.T) {
	start := time.Now()
	calls := 0
	WaitUntil(t, time.Second, "third call", func() bool { calls++; return calls == 3 })
	if calls != 3 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("calls = %d after %s", calls, time.Since(start))
	}
}

// fatalRecorder records Fatal instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper()           {}
func (f *fatalRecorder) Fatal(args ...any) { f.msg = fmt.Sprint(args...); panic(f) }

func TestWaitUntilFailsAfterLimitWithDetail(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != rec {
				t.Fatalf("recovered %v, want the recorder's Fatal", r)
			}
		}()
		WaitUntil(rec, 30*time.Millisecond, "never", func() bool { return false }, func() string { return "state: stuck" })
	}()
	want := "gave up waiting for never after 30ms\nstate: stuck"
	if rec.msg != want {
		t.Fatalf("message %q, want %q", rec.msg, want)
	}
}
