package realtime_test

import (
	"net"
	"runtime"
	"testing"

	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkConnectionMemory opens b.N connections (one user, SQLite) and
// reports the server's heap and stack growth per connection once they are
// idle. The clients are bare sockets that did the handshake by hand, so
// they add only their file descriptors' bookkeeping to the figure. Run it
// with e.g. -benchtime 2000x (the process needs that many descriptors
// twice over).
func BenchmarkConnectionMemory(b *testing.B) {
	bu := setup(b, storetest.Open(b, store.SQLite), options{config: noPresence})
	token := bu.login(b, bu.first, bu.d.LincolnStaff).AccessToken
	heap, stack := memInUse()
	before := [2]int64{heap, stack}
	conns := make([]net.Conn, 0, b.N)
	b.ResetTimer()
	for range b.N {
		conns = append(conns, rawConnect(b, bu.first, token))
	}
	b.StopTimer()
	for bu.first.gw.Stats().Connections < b.N {
		runtime.Gosched()
	}
	heap, stack = memInUse()
	b.ReportMetric(float64(heap+stack-before[0]-before[1])/float64(b.N), "bytes/conn")
	b.ReportMetric(float64(stack-before[1])/float64(b.N), "stack-bytes/conn")
	for _, c := range conns {
		c.Close()
	}
}

// memInUse is the heap and goroutine stack memory in use after a GC.
func memInUse() (heap, stack int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse), int64(m.StackInuse)
}
