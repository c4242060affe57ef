package correlate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func mustParse(t *testing.T, src string) []*Rule {
	t.Helper()
	rules, errs := Parse("c.yml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs[0])
	}
	return rules
}

func mustEngine(t *testing.T, src string, base []string, opts *Options) *Engine {
	t.Helper()
	var bs []*sigma.Rule
	for _, b := range base {
		bs = append(bs, &sigma.Rule{Name: b, Title: b})
	}
	e, err := New(mustParse(t, src), bs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func hit(name string, sec int, kv ...string) Hit {
	ev := sigma.MapEvent{}
	for i := 0; i+1 < len(kv); i += 2 {
		ev[kv[i]] = kv[i+1]
	}
	return Hit{Name: name, Event: ev, Time: at(sec)}
}

// fired feeds hits in order and returns "title@index" for every alert.
func fired(e *Engine, hits ...Hit) []string {
	var out []string
	for i, h := range hits {
		for _, a := range e.Observe(h) {
			out = append(out, a.Rule.Title+"@"+string(rune('0'+i)))
		}
	}
	return out
}

const eventCountRule = `title: Many blocks
name: many_blocks
correlation:
  type: event_count
  rules: [fw_block]
  group-by: [source.ip]
  timespan: 1m
  condition: {gte: 3}
level: high
`

func TestEventCount(t *testing.T) {
	cases := []struct {
		name string
		hits []Hit
		want []string
	}{
		{"three within a minute", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 10, "source.ip", "a"), hit("fw_block", 59, "source.ip", "a")}, []string{"Many blocks@2"}},
		{"spread over more than a minute", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 40, "source.ip", "a"), hit("fw_block", 61, "source.ip", "a")}, nil},
		{"sliding window, not buckets", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 50, "source.ip", "a"), hit("fw_block", 70, "source.ip", "a"), hit("fw_block", 80, "source.ip", "a")}, []string{"Many blocks@3"}},
		{"separate groups", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 1, "source.ip", "b"), hit("fw_block", 2, "source.ip", "a")}, nil},
		{"fires once then starts over", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 1, "source.ip", "a"), hit("fw_block", 2, "source.ip", "a"), hit("fw_block", 3, "source.ip", "a"), hit("fw_block", 4, "source.ip", "a"), hit("fw_block", 5, "source.ip", "a")}, []string{"Many blocks@2", "Many blocks@5"}},
		{"missing group-by field is skipped", []Hit{hit("fw_block", 0), hit("fw_block", 1), hit("fw_block", 2)}, nil},
		{"other rules ignored", []Hit{hit("fw_block", 0, "source.ip", "a"), hit("other", 1, "source.ip", "a"), hit("fw_block", 2, "source.ip", "a")}, nil},
		{"out of order within window", []Hit{hit("fw_block", 30, "source.ip", "a"), hit("fw_block", 10, "source.ip", "a"), hit("fw_block", 40, "source.ip", "a")}, []string{"Many blocks@2"}},
		{"too late for the window", []Hit{hit("fw_block", 100, "source.ip", "a"), hit("fw_block", 10, "source.ip", "a"), hit("fw_block", 101, "source.ip", "a")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEngine(t, eventCountRule, []string{"fw_block", "other"}, nil)
			if d := cmp.Diff(tc.want, fired(e, tc.hits...)); d != "" {
				t.Errorf("alerts (-want +got):\n%s", d)
			}
		})
	}
}

func TestEventCountAlertContents(t *testing.T) {
	e := mustEngine(t, eventCountRule, []string{"fw_block"}, nil)
	e.Observe(hit("fw_block", 0, "source.ip", "a"))
	e.Observe(hit("fw_block", 5, "source.ip", "a"))
	got := e.Observe(hit("fw_block", 9, "source.ip", "a"))
	if len(got) != 1 {
		t.Fatalf("got %d alerts", len(got))
	}
	a := got[0]
	want := Alert{Rule: a.Rule, Group: []GroupValue{{"source.ip", "a"}}, Start: at(0), End: at(9), Count: 3}
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("alert (-want +got):\n%s", d)
	}
	if a.Rule.Level != "high" {
		t.Errorf("level %q", a.Rule.Level)
	}
}

func TestValueCount(t *testing.T) {
	src := `title: Port scan
correlation:
  type: value_count
  rules: [fw_conn]
  group-by: [source.ip]
  timespan: 30s
  condition: {field: destination.port, gt: 2}
`
	cases := []struct {
		name string
		hits []Hit
		want []string
		vals []string
	}{
		{"three distinct ports", []Hit{hit("fw_conn", 0, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 1, "source.ip", "a", "destination.port", "80"), hit("fw_conn", 2, "source.ip", "a", "destination.port", "443")}, []string{"Port scan@2"}, []string{"22", "443", "80"}},
		{"repeated port counts once", []Hit{hit("fw_conn", 0, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 1, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 2, "source.ip", "a", "destination.port", "80")}, nil, nil},
		{"old values leave the window", []Hit{hit("fw_conn", 0, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 1, "source.ip", "a", "destination.port", "80"), hit("fw_conn", 40, "source.ip", "a", "destination.port", "443")}, nil, nil},
		{"a repeat keeps a value in the window", []Hit{hit("fw_conn", 0, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 20, "source.ip", "a", "destination.port", "22"), hit("fw_conn", 25, "source.ip", "a", "destination.port", "80"), hit("fw_conn", 45, "source.ip", "a", "destination.port", "443")}, []string{"Port scan@3"}, []string{"22", "443", "80"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEngine(t, src, []string{"fw_conn"}, nil)
			var got []string
			var vals []string
			for i, h := range tc.hits {
				for _, a := range e.Observe(h) {
					got = append(got, a.Rule.Title+"@"+string(rune('0'+i)))
					vals = a.Values
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("alerts (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.vals, vals); d != "" {
				t.Errorf("values (-want +got):\n%s", d)
			}
		})
	}
}

func TestTemporal(t *testing.T) {
	unordered := `title: Both seen
correlation:
  type: temporal
  rules: [a, b]
  group-by: [host]
  timespan: 10s
`
	ordered := strings.Replace(strings.Replace(unordered, "type: temporal", "type: temporal_ordered", 1), "Both seen", "In order", 1)
	cases := []struct {
		name, src string
		hits      []Hit
		want      []string
	}{
		{"temporal a then b", unordered, []Hit{hit("a", 0, "host", "h"), hit("b", 5, "host", "h")}, []string{"Both seen@1"}},
		{"temporal b then a", unordered, []Hit{hit("b", 0, "host", "h"), hit("a", 5, "host", "h")}, []string{"Both seen@1"}},
		{"temporal too far apart", unordered, []Hit{hit("a", 0, "host", "h"), hit("b", 11, "host", "h")}, nil},
		{"temporal other host", unordered, []Hit{hit("a", 0, "host", "h"), hit("b", 1, "host", "x")}, nil},
		{"temporal same rule twice", unordered, []Hit{hit("a", 0, "host", "h"), hit("a", 1, "host", "h")}, nil},
		{"ordered a then b", ordered, []Hit{hit("a", 0, "host", "h"), hit("b", 5, "host", "h")}, []string{"In order@1"}},
		{"ordered b then a", ordered, []Hit{hit("b", 0, "host", "h"), hit("a", 5, "host", "h")}, nil},
		{"ordered b a b", ordered, []Hit{hit("b", 0, "host", "h"), hit("a", 5, "host", "h"), hit("b", 6, "host", "h")}, []string{"In order@2"}},
		{"ordered too slow", ordered, []Hit{hit("a", 0, "host", "h"), hit("b", 11, "host", "h")}, nil},
		{"ordered later start rescues", ordered, []Hit{hit("a", 0, "host", "h"), hit("a", 8, "host", "h"), hit("b", 15, "host", "h")}, []string{"In order@2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEngine(t, tc.src, []string{"a", "b"}, nil)
			if d := cmp.Diff(tc.want, fired(e, tc.hits...)); d != "" {
				t.Errorf("alerts (-want +got):\n%s", d)
			}
		})
	}
}

// TestChainWithAliases is the WAF example: many blocks from a client, then
// a successful response to it, where the two rules name the client field
// differently.
func TestChainWithAliases(t *testing.T) {
	src := `title: WAF blocks then success
name: waf_blocks_then_success
correlation:
  type: temporal_ordered
  rules: [waf_many_blocks, http_success]
  group-by: [client]
  timespan: 15m
  aliases:
    client:
      waf_many_blocks: source.ip
      http_success: client.address
level: critical
---
title: Many WAF blocks from one client
name: waf_many_blocks
correlation:
  type: event_count
  rules: [waf_block]
  group-by: [source.ip]
  timespan: 5m
  condition:
    gte: 3
`
	e := mustEngine(t, src, []string{"waf_block", "http_success"}, nil)
	got := fired(e,
		hit("waf_block", 0, "source.ip", "198.51.100.7"),
		hit("http_success", 1, "client.address", "198.51.100.7"),
		hit("waf_block", 2, "source.ip", "198.51.100.7"),
		hit("waf_block", 3, "source.ip", "198.51.100.7"),
		hit("http_success", 4, "client.address", "203.0.113.1"),
		hit("http_success", 5, "client.address", "198.51.100.7"),
	)
	want := []string{"Many WAF blocks from one client@3", "WAF blocks then success@5"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("alerts (-want +got):\n%s", d)
	}
	if e.Standalone("", "waf_block") {
		t.Error("waf_block is referenced without generate: its standalone alerts should be suppressed")
	}
	if !e.Standalone("", "unrelated") {
		t.Error("an unreferenced rule must stay standalone")
	}
}

func TestGenerate(t *testing.T) {
	e := mustEngine(t, strings.Replace(eventCountRule, "level: high", "level: high\ngenerate: true", 1), []string{"fw_block"}, nil)
	if !e.Standalone("", "fw_block") {
		t.Error("generate: true keeps the base rule's alerts")
	}
}

func TestBoundedState(t *testing.T) {
	e := mustEngine(t, eventCountRule, []string{"fw_block"}, &Options{MaxKeys: 2})
	e.Observe(hit("fw_block", 0, "source.ip", "a"))
	e.Observe(hit("fw_block", 1, "source.ip", "b"))
	e.Observe(hit("fw_block", 2, "source.ip", "c")) // evicts a
	if s := e.Stats(); s.Keys != 2 || s.Evicted != 1 {
		t.Errorf("stats %+v, want 2 keys and 1 eviction", s)
	}
	// a starts over: two more hits are not enough.
	if got := fired(e, hit("fw_block", 3, "source.ip", "a"), hit("fw_block", 4, "source.ip", "a")); got != nil {
		t.Errorf("evicted key kept its count: %v", got)
	}
	if n := e.Sweep(at(200)); n != 2 || e.Stats().Keys != 0 {
		t.Errorf("sweep removed %d, %d keys left", n, e.Stats().Keys)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
		line            int
	}{
		{"value type without field", "title: x\ncorrelation:\n  type: value_sum\n  rules: [a]\n  timespan: 1m\n  condition: {gt: 1}\n", "needs condition.field", 3},
		{"unknown type", "title: x\ncorrelation:\n  type: nope\n  rules: [a]\n  timespan: 1m\n", "unknown correlation type", 3},
		{"no timespan", "title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  condition: {gt: 1}\n", "no timespan", 3},
		{"bad timespan", "title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gt: 1}\n", "timespan unit", 5},
		{"no condition", "title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n", "needs a condition", 3},
		{"lt only", "title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {lt: 3}\n", "only lt/lte", 3},
		{"value_count without field", "title: x\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 3}\n", "condition.field", 3},
		{"temporal with one rule", "title: x\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 5m\n", "at least two", 3},
		{"bad operator", "title: x\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {over: 3}\n", "unknown operator", 6},
		{"unknown key", "title: x\ncorrelation:\n  type: event_count\n  rulez: [a]\n", "correlation.rulez", 4},
		{"no title", "correlation:\n  type: event_count\n", "no title", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, errs := Parse("bad.yml", []byte(tc.src))
			if len(rules) != 0 || len(errs) != 1 {
				t.Fatalf("rules %d errors %v", len(rules), errs)
			}
			if !strings.Contains(errs[0].Reason, tc.want) || errs[0].Line != tc.line {
				t.Errorf("error %v, want %q at line %d", errs[0], tc.want, tc.line)
			}
		})
	}
}

func TestNewRejectsBadReferences(t *testing.T) {
	cycle := `title: A
name: ca
correlation: {type: event_count, rules: [cb], timespan: 1m, condition: {gt: 1}}
---
title: B
name: cb
correlation: {type: event_count, rules: [ca], timespan: 1m, condition: {gt: 1}}
`
	if _, err := New(mustParse(t, cycle), nil, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v", err)
	}
	if _, err := New(mustParse(t, eventCountRule), nil, nil); err == nil || !strings.Contains(err.Error(), `unknown rule "fw_block"`) {
		t.Errorf("unknown reference: err = %v", err)
	}
	huge := strings.Replace(eventCountRule, "{gte: 3}", "{gt: 5000000}", 1)
	if _, err := New(mustParse(t, huge), []*sigma.Rule{{Name: "fw_block"}}, nil); err == nil || !strings.Contains(err.Error(), "limit 100000") {
		t.Errorf("huge threshold: err = %v", err)
	}
}

func TestLoadDirAndTimespans(t *testing.T) {
	dir := t.TempDir()
	body := "title: base\nlogsource: {product: x}\ndetection: {s: {a: b}, condition: s}\n---\n" + eventCountRule
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, errs, err := Load(dir)
	if err != nil || len(errs) != 0 || len(rules) != 1 || rules[0].Name != "many_blocks" || rules[0].Timespan != time.Minute {
		t.Fatalf("Load: %v %v %+v", err, errs, rules)
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1M": 30 * 24 * time.Hour} {
		if got, err := ParseTimespan(in); err != nil || got != want {
			t.Errorf("ParseTimespan(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "m", "0m", "-1h", "10", "1000y"} {
		if _, err := ParseTimespan(bad); err == nil {
			t.Errorf("ParseTimespan(%q) accepted", bad)
		}
	}
}

func BenchmarkEventCount(b *testing.B) {
	rules, _ := Parse("b.yml", []byte(eventCountRule))
	e, err := New(rules, []*sigma.Rule{{Name: "fw_block"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	hits := make([]Hit, 1024)
	for i := range hits {
		hits[i] = Hit{Name: "fw_block", Event: sigma.MapEvent{"source.ip": string(rune('a' + i%200))}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := hits[i%len(hits)]
		h.Time = t0.Add(time.Duration(i) * time.Millisecond)
		e.Observe(h)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
