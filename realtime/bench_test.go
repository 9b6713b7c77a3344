package realtime_test

import (
	"bufio"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
	addr := strings.TrimPrefix(bu.first.url, "http://")
	request := "GET /api/v1/ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	heap, stack := memInUse()
	before := [2]int64{heap, stack}
	conns := make([]net.Conn, 0, b.N)
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", addr)
		require.NoError(b, err)
		_, err = c.Write([]byte(request))
		require.NoError(b, err)
		r := bufio.NewReader(c)
		status, err := r.ReadString('\n')
		require.NoError(b, err)
		require.Contains(b, status, "101")
		for line := ""; line != "\r\n"; {
			line, err = r.ReadString('\n')
			require.NoError(b, err)
		}
		hello := make([]byte, 2)
		_, err = r.Read(hello)
		require.NoError(b, err)
		conns = append(conns, c)
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
