package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// comparedMetric is one row of the side-by-side table: a figure read from
// each round's report. ok is false when the round did not measure it.
type comparedMetric struct {
	Key   string
	Label string
	value func(*report) (v float64, ok bool)
	// noRatio marks rows whose ratio means nothing (the load average).
	noRatio bool
}

// comparedMetrics are the rows, in the order. KB is 1,000 bytes.
var comparedMetrics = []comparedMetric{
	{Key: "load_average", Label: "load average (1 min) when the round started", noRatio: true,
		value: func(r *report) (float64, bool) { return r.LoadBefore, true }},
	{Key: "connected", Label: "connections held",
		value: func(r *report) (float64, bool) { return float64(r.Connected), true }},
	{Key: "rss_kb_per_conn", Label: "server memory per connection (RSS), KB",
		value: memoryField(func(m *memoryReport) float64 { return m.RSSPerConn / 1000 })},
	{Key: "heap_stack_kb_per_conn", Label: "Go heap + stacks per connection, KB",
		value: memoryField(func(m *memoryReport) float64 { return m.HeapStackPerConn / 1000 })},
	{Key: "cpu_ms_per_connect", Label: "server CPU per connect, ms",
		value: memoryField(func(m *memoryReport) float64 { return m.CPUPerConnect })},
	{Key: "connect_per_s", Label: "connect rate, per second",
		value: func(r *report) (float64, bool) { return r.Connect.PerSec, r.Connected > 0 }},
	{Key: "idle_cpu_pct", Label: "idle CPU holding the connections, % of a core",
		value: func(r *report) (float64, bool) { return r.IdleCPU * 100, r.Memory != nil }},
	{Key: "one_to_one_sent", Label: "1:1 messages sent (a tick is skipped while 64 are in flight)",
		value: oneToOneSent},
	{Key: "one_to_one_p50_ms", Label: "1:1 publish → receive p50, ms",
		value: oneToOneField(func(o *oneToOneReport) float64 { return o.Latency.P50ms })},
	{Key: "one_to_one_p99_ms", Label: "1:1 publish → receive p99, ms",
		value: oneToOneField(func(o *oneToOneReport) float64 { return o.Latency.P99ms })},
	{Key: "one_to_one_max_ms", Label: "1:1 publish → receive max, ms",
		value: oneToOneField(func(o *oneToOneReport) float64 { return o.Latency.MaxMs })},
	{Key: "one_to_one_send_p99_ms", Label: "1:1 the publish call p99, ms",
		value: oneToOneField(func(o *oneToOneReport) float64 { return o.Accept.P99ms })},
	{Key: "fanout_send_ms", Label: "fan-out: the send call itself, ms",
		value: fanOutField(func(f *fanOutReport) float64 { return f.Accept })},
	{Key: "fanout_first_ms", Label: "fan-out: first receive after the send started, ms",
		value: fanOutField(func(f *fanOutReport) float64 { return f.Latency.MinMs })},
	{Key: "fanout_p50_ms", Label: "fan-out: p50 receive after the send started, ms",
		value: fanOutField(func(f *fanOutReport) float64 { return f.Latency.P50ms })},
	{Key: "fanout_last_after_send_ms", Label: "fan-out: last receive after the send returned, ms",
		value: fanOutField(func(f *fanOutReport) float64 { return max(0, f.Latency.MaxMs-f.Accept) })},
	{Key: "lost", Label: "messages lost (1:1 and every fan-out recipient)", value: lostMessages},
	{Key: "dropped", Label: "connections the server closed",
		value: func(r *report) (float64, bool) { return float64(sumValues(r.Dropped)), true }},
}

func memoryField(f func(*memoryReport) float64) func(*report) (float64, bool) {
	return func(r *report) (float64, bool) {
		if r.Memory == nil {
			return 0, false
		}
		return f(r.Memory), true
	}
}

func oneToOneField(f func(*oneToOneReport) float64) func(*report) (float64, bool) {
	return func(r *report) (float64, bool) {
		if r.OneToOne == nil || r.OneToOne.Latency.Count == 0 {
			return 0, false
		}
		return f(r.OneToOne), true
	}
}

// fanOutField is the median over the round's fan-outs.
func fanOutField(f func(*fanOutReport) float64) func(*report) (float64, bool) {
	return func(r *report) (float64, bool) {
		var vs []float64
		for _, fo := range r.FanOuts {
			if fo.Error == "" && fo.Latency.Count > 0 {
				vs = append(vs, f(fo))
			}
		}
		return median(vs), len(vs) > 0
	}
}

func oneToOneSent(r *report) (float64, bool) {
	if r.OneToOne == nil {
		return 0, false
	}
	return float64(r.OneToOne.Sent), true
}

func lostMessages(r *report) (float64, bool) {
	lost := 0
	if r.OneToOne != nil {
		lost += r.OneToOne.Lost
	}
	for _, f := range r.FanOuts {
		lost += f.Lost
	}
	return float64(lost), r.OneToOne != nil || len(r.FanOuts) > 0
}

func sumValues(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// median of the values: the middle one, or the mean of the middle two.
// Zero for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// column is one system's figures of a row over the rounds.
type column struct {
	Values []float64 `json:"values"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
}

func newColumn(vs []float64) *column {
	if len(vs) == 0 {
		return nil
	}
	return &column{Values: vs, Median: median(vs), Min: slices.Min(vs), Max: slices.Max(vs)}
}

// tableRow is a row of the side-by-side table; Ratio is whitecross's
// median over Centrifugo's, absent when either is missing or Centrifugo's
// is zero.
type tableRow struct {
	Key        string   `json:"key"`
	Label      string   `json:"label"`
	Whitecross *column  `json:"whitecross,omitempty"`
	Centrifugo *column  `json:"centrifugo,omitempty"`
	Ratio      *float64 `json:"whitecross_over_centrifugo,omitempty"`
}

// sideBySide is the table of a comparison.
type sideBySide struct {
	Rounds int        `json:"rounds"`
	Rows   []tableRow `json:"rows"`
}

// buildTable reads every metric from the reports of each system.
func buildTable(reports []*report) *sideBySide {
	t := &sideBySide{}
	for _, r := range reports {
		if r.System == "whitecross" {
			t.Rounds++
		}
	}
	for _, m := range comparedMetrics {
		row := tableRow{Key: m.Key, Label: m.Label,
			Whitecross: newColumn(valuesOf(reports, "whitecross", m)),
			Centrifugo: newColumn(valuesOf(reports, "centrifugo", m))}
		if !m.noRatio && row.Whitecross != nil && row.Centrifugo != nil && row.Centrifugo.Median != 0 {
			ratio := row.Whitecross.Median / row.Centrifugo.Median
			row.Ratio = &ratio
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func valuesOf(reports []*report, system string, m comparedMetric) []float64 {
	var vs []float64
	for _, r := range reports {
		if r.System != system {
			continue
		}
		if v, ok := m.value(r); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// print writes the table in Markdown, for docs/performance.md as it is.
func (t *sideBySide) print(w io.Writer) {
	fmt.Fprintf(w, "\nside by side: %d round(s) of whitecross then Centrifugo; median (min–max over the rounds)\n\n", t.Rounds)
	fmt.Fprintln(w, "| | whitecross | Centrifugo | whitecross ÷ Centrifugo |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range t.Rows {
		ratio := "—"
		if r.Ratio != nil {
			ratio = formatFigure(*r.Ratio) + "×"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Label, r.Whitecross.String(), r.Centrifugo.String(), ratio)
	}
}

func (c *column) String() string {
	if c == nil {
		return "—"
	}
	if c.Min == c.Max {
		return formatFigure(c.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", formatFigure(c.Median), formatFigure(c.Min), formatFigure(c.Max))
}

// formatFigure shows three significant digits at most, thousands grouped.
func formatFigure(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return groupThousands(int64(math.Round(v)))
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return sign + b.String()
}
