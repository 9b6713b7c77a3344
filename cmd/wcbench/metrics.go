package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// serverSample is a server's memory and load at one moment, from its
// /metrics (the Go and process collectors of Prometheus' client).
type serverSample struct {
	RSS        float64 // process_resident_memory_bytes
	HeapInuse  float64 // go_memstats_heap_inuse_bytes
	StackInuse float64 // go_memstats_stack_inuse_bytes
	Goroutines float64 // go_goroutines
	CPUSeconds float64 // process_cpu_seconds_total
	OpenFDs    float64 // process_open_fds
	MaxFDs     float64 // process_max_fds: the server's open-file limit
}

// sampledMetrics maps the metric names read to their fields.
var sampledMetrics = map[string]func(*serverSample) *float64{
	"process_resident_memory_bytes": func(s *serverSample) *float64 { return &s.RSS },
	"go_memstats_heap_inuse_bytes":  func(s *serverSample) *float64 { return &s.HeapInuse },
	"go_memstats_stack_inuse_bytes": func(s *serverSample) *float64 { return &s.StackInuse },
	"go_goroutines":                 func(s *serverSample) *float64 { return &s.Goroutines },
	"process_cpu_seconds_total":     func(s *serverSample) *float64 { return &s.CPUSeconds },
	"process_open_fds":              func(s *serverSample) *float64 { return &s.OpenFDs },
	"process_max_fds":               func(s *serverSample) *float64 { return &s.MaxFDs },
}

// sampleServer reads GET /metrics of the server at base (bearer token
// optional) and, when pid > 0, takes the RSS from /proc/<pid>/status
// instead (for a server without the process collector).
func sampleServer(ctx context.Context, hc *http.Client, base, token string, pid int) (serverSample, error) {
	var s serverSample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return s, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return s, fmt.Errorf("read %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("read %s/metrics: HTTP %d (set --metrics-token?)", base, resp.StatusCode)
	}
	if err := parseMetrics(resp.Body, &s); err != nil {
		return s, err
	}
	if pid > 0 {
		rss, err := procRSS(pid)
		if err != nil {
			return s, err
		}
		s.RSS = rss
	}
	return s, nil
}

// parseMetrics fills s from Prometheus' text format (unlabelled samples).
func parseMetrics(r io.Reader, s *serverSample) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		field := sampledMetrics[name]
		if !ok || field == nil {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil {
			*field(s) = v
		}
	}
	return sc.Err()
}

// procRSS reads VmRSS of a process from /proc, in bytes.
func procRSS(pid int) (float64, error) { return procMemory(pid, "VmRSS") }

// procMemory reads one memory field of a process's /proc status (VmRSS
// now, VmHWM its peak so far), in bytes.
func procMemory(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read server memory: %w", err)
	}
	return parseStatusField(string(b), field)
}

// parseStatusField finds "FIELD:  123456 kB" in a /proc status file.
func parseStatusField(status, field string) (float64, error) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err == nil {
					return kb * 1024, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no %s in the server's /proc status", field)
}

// loadAverage is the machine's 1-minute load average (0 when unreadable):
// other work on shared cores changes every figure, so the report says it.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
