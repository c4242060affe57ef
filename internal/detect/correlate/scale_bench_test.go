package correlate

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

// BenchmarkEventCount1M100kGroups is the sizing case: 1M events
// through an event_count rule grouped by source.ip, with 100,000 distinct
// source addresses, over ten minutes of event time. It reports throughput,
// the state held after the run (live heap after GC) and the process's peak
// resident memory.
//
//	go test ./internal/detect/correlate -run '^$' -bench 1M100k -benchtime 1x
func BenchmarkEventCount1M100kGroups(b *testing.B) {
	const events, groups = 1_000_000, 100_000
	rules, _ := Parse("b.yml", []byte(`title: Many blocks
name: many_blocks
correlation:
  type: event_count
  rules: [fw_block]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 20}
level: high
`))
	ips := make([]sigma.MapEvent, groups)
	for i := range ips {
		ips[i] = sigma.MapEvent{"source.ip": fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)}
	}
	runScale(b, rules, "fw_block", ips, events)
}

// BenchmarkValue1M100kGroups is the same sizing case for the numeric
// types: 1M events carrying source.bytes through value_sum and
// value_percentile rules grouped by source.ip, 100,000 distinct sources.
//
//	go test ./internal/detect/correlate -run '^$' -bench Value1M100k -benchtime 1x
func BenchmarkValue1M100kGroups(b *testing.B) {
	const events, groups = 1_000_000, 100_000
	for _, typ := range []string{"value_sum", "value_percentile"} {
		cond := "{field: source.bytes, gte: 2000000}"
		if typ == "value_percentile" {
			cond = "{field: source.bytes, percentile: 95, gte: 50000000}"
		}
		rules, errs := Parse("b.yml", []byte(`title: Volume
name: volume
correlation:
  type: `+typ+`
  rules: [flow]
  group-by: [source.ip]
  timespan: 5m
  condition: `+cond+`
level: high
`))
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		evs := make([]sigma.MapEvent, groups)
		for i := range evs {
			evs[i] = sigma.MapEvent{"source.ip": fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), "source.bytes": int64(1000 + i%5000)}
		}
		b.Run(typ, func(b *testing.B) { runScale(b, rules, "flow", evs, events) })
	}
}

// runScale feeds n hits of base rule name to a new engine per iteration,
// over the events evs in a skewed mix (every fourth hit from one of 100
// busy groups, the rest spread over all of them), 600 µs of event time
// apart, and reports throughput, the state left after GC and peak RSS.
func runScale(b *testing.B, rules []*Rule, name string, evs []sigma.MapEvent, n int) {
	for b.Loop() {
		e, err := New(rules, []*sigma.Rule{{Name: name}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		alerts := 0
		for i := 0; i < n; i++ {
			g := (i * 7919) % len(evs)
			if i%4 == 0 {
				g = i % 100
			}
			alerts += len(e.Observe(Hit{Name: name, Event: evs[g], Time: t0.Add(time.Duration(i) * 600 * time.Microsecond)}))
		}
		el := time.Since(start)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "state-MiB")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
		b.ReportMetric(float64(alerts), "alerts")
		runtime.KeepAlive(e)
	}
}
