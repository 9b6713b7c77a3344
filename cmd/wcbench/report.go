package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// report is what a run measured.
type report struct {
	System     string  `json:"system"` // whitecross or centrifugo
	Servers    int     `json:"servers"`
	Conns      int     `json:"conns_requested"`
	FileLimit  uint64  `json:"wcbench_open_file_limit"`
	LoadBefore float64 `json:"load_average_before"`
	LoadAfter  float64 `json:"load_average_after"`
	Stopped    string  `json:"stopped,omitempty"`

	Refresh rate    `json:"refresh"`
	SignIn  summary `json:"sign_in"`

	Connected         int    `json:"connected"`
	ConnectFailed     int    `json:"connect_failed"`
	FirstConnectError string `json:"first_connect_error,omitempty"`
	Connect           rate   `json:"connect"`

	Memory *memoryReport `json:"memory,omitempty"`

	OneToOne *oneToOneReport `json:"one_to_one,omitempty"`
	FanOuts  []*fanOutReport `json:"fan_outs,omitempty"`

	// Dropped counts connections the servers closed during the run, by
	// close code (4001 token expired, 4008 too slow, 1001 going away, -1
	// no close frame).
	Dropped map[int]int `json:"dropped,omitempty"`
	// IdleCPU is the share of one core the servers used while only
	// holding the connections (the settle wait): pings, session checks,
	// the sweeper.
	IdleCPU float64 `json:"server_cpu_cores_idle"`
	// ServerCPU is the CPU seconds the servers used from after connecting
	// to the end (messages and fan-outs).
	ServerCPU float64 `json:"server_cpu_seconds_messaging"`
}

// rate is a count over a time.
type rate struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_second"`
}

func rateOf(n int, d time.Duration) rate {
	r := rate{Count: n, Seconds: math.Round(d.Seconds()*100) / 100}
	if d > 0 {
		r.PerSec = math.Round(float64(n) / d.Seconds())
	}
	return r
}

// memoryReport is the servers' memory with the connections open, less
// before, per connection.
type memoryReport struct {
	RSSBeforeMiB          float64 `json:"rss_before_mib"`
	RSSAfterMiB           float64 `json:"rss_after_mib"`
	RSSPerConn            float64 `json:"rss_bytes_per_conn"`
	HeapStackPerConn      float64 `json:"heap_and_stack_bytes_per_conn"`
	StackPerConn          float64 `json:"stack_bytes_per_conn"`
	GoroutinesPerConn     float64 `json:"goroutines_per_conn"`
	ServerOpenFDs         float64 `json:"server_open_fds"`
	ServerOpenFileLimit   float64 `json:"server_open_file_limit"`
	ServerCPUWhileConnect float64 `json:"server_cpu_seconds_connecting"`
	// CPUPerConnect is the servers' CPU from before the first dial to
	// the last connection up, per connection, in milliseconds.
	CPUPerConnect float64 `json:"server_cpu_ms_per_connect"`
}

// memory records the servers' growth from before the connections to after
// the settle wait, and the CPU used until the last one was up (held).
func (r *report) memory(before, held, after serverSample) {
	n := float64(max(r.Connected, 1))
	r.Memory = &memoryReport{
		RSSBeforeMiB: mib(before.RSS), RSSAfterMiB: mib(after.RSS),
		RSSPerConn:            math.Round((after.RSS - before.RSS) / n),
		HeapStackPerConn:      math.Round((after.HeapInuse + after.StackInuse - before.HeapInuse - before.StackInuse) / n),
		StackPerConn:          math.Round((after.StackInuse - before.StackInuse) / n),
		GoroutinesPerConn:     math.Round((after.Goroutines-before.Goroutines)/n*100) / 100,
		ServerOpenFDs:         after.OpenFDs,
		ServerOpenFileLimit:   after.MaxFDs,
		ServerCPUWhileConnect: math.Round((after.CPUSeconds-before.CPUSeconds)*10) / 10,
		CPUPerConnect:         math.Round((held.CPUSeconds-before.CPUSeconds)/n*1e5) / 100,
	}
}

// idle records the CPU the servers used over d while only holding the
// connections (not for a wait shorter than a second: too few samples).
func (r *report) idle(held, after serverSample, d time.Duration) {
	if d >= time.Second {
		r.IdleCPU = math.Round((after.CPUSeconds-held.CPUSeconds)/d.Seconds()*1000) / 1000
	}
}

// end records what the messaging phases cost the servers and which
// connections they lost.
func (r *report) end(after, end serverSample, t *tracker) {
	r.ServerCPU = math.Round((end.CPUSeconds-after.CPUSeconds)*10) / 10
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.down) > 0 {
		r.Dropped = map[int]int{}
		for code, n := range t.down {
			r.Dropped[code] = n
		}
	}
}

func mib(b float64) float64 { return math.Round(b/(1<<20)*10) / 10 }

// oneToOneReport is the 1:1 phase.
type oneToOneReport struct {
	Sent       int     `json:"sent"`
	Latency    summary `json:"publish_to_receive"`
	Accept     summary `json:"post_response"`
	Lost       int     `json:"lost"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// Skipped counts ticks with 64 messages already in flight.
	Skipped int `json:"skipped"`
}

// fanOutReport is one fan-out message.
type fanOutReport struct {
	Recipients int     `json:"recipients"`
	Accept     float64 `json:"post_response_ms"`
	Latency    summary `json:"publish_to_receive"`
	Lost       int     `json:"lost"`
	Error      string  `json:"error,omitempty"`
}

// print writes the report for people.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nwcbench: %s, %d server(s), load average %.2f before, %.2f after\n", r.System, r.Servers, r.LoadBefore, r.LoadAfter)
	if r.Stopped != "" {
		fmt.Fprintf(w, "stopped early: %s\n", r.Stopped)
	}
	if r.Refresh.Count > 0 {
		fmt.Fprintf(w, "token refresh:   %d in %.1fs (%.0f/s)\n", r.Refresh.Count, r.Refresh.Seconds, r.Refresh.PerSec)
	}
	if r.SignIn.Count > 0 {
		fmt.Fprintf(w, "sign-in:         %s each; all %d users would take ≈ %s one at a time\n", r.SignIn, r.Conns,
			(time.Duration(r.Conns) * r.SignIn.P50).Round(time.Second))
	}
	fmt.Fprintf(w, "connections:     %d of %d up, %d failed, in %.1fs (%.0f/s)\n", r.Connected, r.Conns, r.ConnectFailed,
		r.Connect.Seconds, r.Connect.PerSec)
	if r.FirstConnectError != "" {
		fmt.Fprintf(w, "                 first failure: %s\n", r.FirstConnectError)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(w, "server memory:   RSS %.1f -> %.1f MiB: %.0f bytes per connection (Go heap+stacks %.0f, of which stacks %.0f), %.2f goroutines per connection\n",
			m.RSSBeforeMiB, m.RSSAfterMiB, m.RSSPerConn, m.HeapStackPerConn, m.StackPerConn, m.GoroutinesPerConn)
		fmt.Fprintf(w, "server files:    %.0f open, limit %.0f per process; %.2f ms of CPU per connection opened\n",
			m.ServerOpenFDs, m.ServerOpenFileLimit, m.CPUPerConnect)
		fmt.Fprintln(w, "                 (RSS is meaningful only on a freshly started server: Go keeps freed memory for a while)")
		fmt.Fprintf(w, "server CPU idle: %.1f%% of one core while only holding the connections\n", r.IdleCPU*100)
	}
	if o := r.OneToOne; o != nil {
		fmt.Fprintf(w, "1:1 messages:    %d sent; publish->receive %s; POST %s; lost %d, errors %d, skipped %d\n",
			o.Sent, o.Latency, o.Accept, o.Lost, o.Errors, o.Skipped)
		if o.FirstError != "" {
			fmt.Fprintf(w, "                 first error: %s\n", o.FirstError)
		}
	}
	for i, f := range r.FanOuts {
		fmt.Fprintf(w, "fan-out %d:       %d recipients; POST %.0fms; publish->receive %s; lost %d\n",
			i+1, f.Recipients, f.Accept, f.Latency, f.Lost)
		if f.Error != "" {
			fmt.Fprintf(w, "                 error: %s\n", f.Error)
		}
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(w, "dropped by the server (close code: connections): %v\n", r.Dropped)
	}
	fmt.Fprintf(w, "server CPU while messaging: %.1f s\n", r.ServerCPU)
}
