package correlate

import (
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

// FuzzParse feeds arbitrary correlation files to the parser and, when they
// load, a few hits to an engine: neither may panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(eventCountRule))
	f.Add([]byte("title: t\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, a]\n  group-by: [h]\n  timespan: 1m\n  aliases: {h: {a: x, b: y}}\n"))
	f.Add([]byte("title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 1s\n  condition: {field: v, gte: 2, lt: 9}\n"))
	f.Add([]byte("title: t\ncorrelation:\n  type: value_percentile\n  rules: [a, b]\n  group-by: [h]\n  timespan: 1m\n  condition: {field: v, percentile: 90, gte: 2}\n"))
	f.Add([]byte("title: t\ncorrelation:\n  type: value_sum\n  rules: [a]\n  timespan: 1m\n  condition: {field: n, gt: 2, lte: 1e300}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := Parse("fuzz.yml", data)
		if len(rules) == 0 {
			return
		}
		e, err := New(rules, []*sigma.Rule{{Name: "a"}, {Name: "b"}, {Name: "fw_block"}}, &Options{MaxKeys: 4, MaxValues: 4, MaxSamples: 3})
		if err != nil {
			return
		}
		for i, name := range []string{"a", "b", "fw_block", "a", "b", "a"} {
			e.Observe(Hit{Name: name, Event: sigma.MapEvent{"h": "1", "x": "2", "y": "2", "v": name, "n": float64(i*i) - 3, "source.ip": "s"}, Time: t0.Add(time.Duration(i) * time.Second)})
		}
		e.Restore(e.Snapshot())
		e.Sweep(t0.Add(time.Hour))
	})
}
