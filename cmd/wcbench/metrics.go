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

// add sums s into the servers' total; the open-file limit is the
// lowest.
func (sum *serverSample) add(s serverSample) {
	sum.RSS += s.RSS
	sum.HeapInuse += s.HeapInuse
	sum.StackInuse += s.StackInuse
	sum.Goroutines += s.Goroutines
	sum.CPUSeconds += s.CPUSeconds
	sum.OpenFDs += s.OpenFDs
	if sum.MaxFDs == 0 || s.MaxFDs < sum.MaxFDs {
		sum.MaxFDs = s.MaxFDs
	}
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
// optional) and, when pid > 0, takes the RSS from /proc/<pid>/status and
// the CPU from /proc/<pid>/stat instead (for a server without the process
// collector, and so that two servers are read the same way).
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
		if s.CPUSeconds, err = procCPU(pid); err != nil {
			return s, err
		}
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

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times:
// 100 on every architecture Go supports (sysconf needs cgo).
const clockTicks = 100

// procCPU reads the user and system CPU seconds a process has used.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read server CPU: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line in seconds.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted from after its last ')': utime and stime are fields 14 and
// 15, the 12th and 13th after it.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc stat: %.60q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc stat: %.60q", stat)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable /proc stat times: %q %q", f[11], f[12])
	}
	return float64(utime+stime) / clockTicks, nil
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
