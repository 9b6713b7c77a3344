package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// latencies is a set of samples for one measurement.
type latencies []time.Duration

// summary is what the report shows of a set of latencies.
type summary struct {
	Count              int           `json:"count"`
	Min, P50, P99, Max time.Duration `json:"-"`
	MinMs              float64       `json:"min_ms"`
	P50ms              float64       `json:"p50_ms"`
	P99ms              float64       `json:"p99_ms"`
	MaxMs              float64       `json:"max_ms"`
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted samples: the smallest sample that at least p% of the samples are
// less than or equal to. Zero for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize sorts a copy of the samples and returns p50, p99 and max.
func (l latencies) summarize() summary {
	s := slices.Clone([]time.Duration(l))
	slices.Sort(s)
	out := summary{Count: len(s), P50: percentile(s, 50), P99: percentile(s, 99)}
	if len(s) > 0 {
		out.Min, out.Max = s[0], s[len(s)-1]
	}
	out.MinMs, out.P50ms, out.P99ms, out.MaxMs = ms(out.Min), ms(out.P50), ms(out.P99), ms(out.Max)
	return out
}

// ms is d in milliseconds with two decimals.
func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*100) / 100 }

func (s summary) String() string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("n=%d min=%.1fms p50=%.1fms p99=%.1fms max=%.1fms", s.Count, s.MinMs, s.P50ms, s.P99ms, s.MaxMs)
}
