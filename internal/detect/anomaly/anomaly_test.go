package anomaly

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type ev map[string]any

func (e ev) Get(f string) (any, bool) { v, ok := e[f]; return v, ok }

var t0 = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

func TestRateSpike(t *testing.T) {
	d, err := New(&Config{Rate: []RateConfig{{Name: "fw_rate", GroupBy: []string{"source.ip"}, When: When{"event.dataset": {"pfsense.*"}},
		Interval: time.Minute, MinCount: 20, Warmup: 10, Z: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []Finding
	e := ev{"event.dataset": "pfsense.filterlog", "source.ip": "192.0.2.31"}
	// 30 minutes of 8–12 events a minute, then a minute of 80.
	for m := 0; m < 30; m++ {
		n := 8 + m%5
		for i := 0; i < n; i++ {
			got = append(got, d.Observe(e, t0.Add(time.Duration(m)*time.Minute+time.Duration(i)*time.Second))...)
		}
	}
	if len(got) != 0 {
		t.Fatalf("baseline period fired: %+v", got)
	}
	for i := 0; i < 80; i++ {
		got = append(got, d.Observe(e, t0.Add(30*time.Minute+time.Duration(i)*500*time.Millisecond))...)
	}
	if len(got) != 1 {
		t.Fatalf("spike: %d findings", len(got))
	}
	f := got[0]
	if f.Kind != KindRate || f.Detector != "fw_rate" || f.Baseline < 8 || f.Baseline > 12 || f.Observed < f.Threshold || f.Observed > 40 ||
		f.Group[0] != (Group{"source.ip", "192.0.2.31"}) || !strings.Contains(f.Explanation, "baseline") {
		t.Fatalf("finding %+v", f)
	}
	// Other datasets and events lacking the group-by field are ignored.
	if fs := d.Observe(ev{"event.dataset": "suricata.eve", "source.ip": "192.0.2.31"}, t0.Add(31*time.Minute)); len(fs) != 0 {
		t.Fatal(fs)
	}
	if fs := d.Observe(ev{"event.dataset": "pfsense.filterlog"}, t0.Add(31*time.Minute)); len(fs) != 0 {
		t.Fatal(fs)
	}
}

func TestRateNeedsWarmup(t *testing.T) {
	d, _ := New(&Config{Rate: []RateConfig{{Name: "r", GroupBy: []string{"user.name"}, Warmup: 5, MinCount: 5}}})
	e := ev{"user.name": "ana"}
	var n int
	// Three quiet minutes then a burst: not enough history to judge.
	for m := 0; m < 3; m++ {
		n += len(d.Observe(e, t0.Add(time.Duration(m)*time.Minute)))
	}
	for i := 0; i < 100; i++ {
		n += len(d.Observe(e, t0.Add(3*time.Minute+time.Duration(i)*100*time.Millisecond)))
	}
	if n != 0 {
		t.Fatalf("fired during warmup: %d", n)
	}
}

func TestFirstSeen(t *testing.T) {
	d, err := New(&Config{FirstSeen: []FirstSeenConfig{{Name: "new_port", GroupBy: []string{"source.ip"}, Field: "destination.port", Learn: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []Finding
	obs := func(at time.Duration, port int64) {
		got = append(got, d.Observe(ev{"source.ip": "192.0.2.31", "destination.port": port}, t0.Add(at))...)
	}
	obs(0, 443)
	obs(10*time.Minute, 53)  // learning
	obs(2*time.Hour, 443)    // known
	obs(3*time.Hour, 4444)   // new after learning
	obs(3*time.Hour+1, 4444) // now known
	if len(got) != 1 || got[0].Value != "4444" || got[0].Count != 2 || got[0].Field != "destination.port" || got[0].Kind != KindFirstSeen {
		t.Fatalf("findings %+v", got)
	}
	// A different entity has its own history and learning period.
	if fs := d.Observe(ev{"source.ip": "192.0.2.32", "destination.port": int64(22)}, t0.Add(4*time.Hour)); len(fs) != 0 {
		t.Fatalf("new entity fired: %+v", fs)
	}
}

func TestFirstSeenMaxValues(t *testing.T) {
	d, _ := New(&Config{FirstSeen: []FirstSeenConfig{{Name: "tool", GroupBy: []string{"mcp.client.name"}, Field: "mcp.tool.name", Learn: time.Minute, MaxValues: 3}}})
	n := 0
	for i := 0; i < 10; i++ {
		n += len(d.Observe(ev{"mcp.client.name": "cursor", "mcp.tool.name": fmt.Sprint("t", i)}, t0.Add(time.Duration(i)*time.Hour)))
	}
	// t0 learnt, t1 and t2 new (after the learning minute), then the
	// entity is too diverse: nothing more.
	if n != 2 {
		t.Fatalf("findings %d", n)
	}
}

func TestBeacon(t *testing.T) {
	d, err := New(&Config{Beacon: []BeaconConfig{{Name: "c2", When: When{"event.action": {"pass"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	beacon := func(dst string, i int, jitter time.Duration) []Finding {
		return d.Observe(ev{"event.action": "pass", "source.ip": "192.0.2.31", "destination.ip": dst, "destination.port": int64(443)},
			t0.Add(time.Duration(i)*time.Minute+jitter))
	}
	var got []Finding
	for i := 0; i < 10; i++ {
		j := time.Duration(i%3) * time.Second // ≤ 2 s of jitter on 60 s
		got = append(got, beacon("203.0.113.66", i, j)...)
	}
	if len(got) != 1 {
		t.Fatalf("beacon findings %d: %+v", len(got), got)
	}
	f := got[0]
	if f.Kind != KindBeacon || f.Observed < 55 || f.Observed > 65 || f.Baseline > 0.1 || f.Count != 8 ||
		!strings.Contains(f.Explanation, "destination.ip=203.0.113.66") {
		t.Fatalf("finding %+v", f)
	}
	// Irregular browsing to another host: no finding.
	n := 0
	gaps := []int{0, 1, 7, 8, 30, 31, 32, 90, 200, 201, 260}
	for _, g := range gaps {
		n += len(d.Observe(ev{"event.action": "pass", "source.ip": "192.0.2.31", "destination.ip": "203.0.113.80", "destination.port": int64(443)},
			t0.Add(time.Duration(g)*time.Minute)))
	}
	// Too fast to be a callback (every second).
	for i := 0; i < 20; i++ {
		n += len(d.Observe(ev{"event.action": "pass", "source.ip": "192.0.2.31", "destination.ip": "203.0.113.81", "destination.port": int64(443)},
			t0.Add(time.Duration(i)*time.Second)))
	}
	if n != 0 {
		t.Fatalf("irregular or fast traffic fired %d", n)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(&Config{
		Rate:      []RateConfig{{Name: "a", GroupBy: []string{"x"}, Alpha: 2}, {Name: "a", GroupBy: []string{"x"}}},
		FirstSeen: []FirstSeenConfig{{Name: "b"}},
		Beacon:    []BeaconConfig{{Name: "c", MinEvents: 2}, {}},
	})
	for _, want := range []string{"alpha", "duplicate name", "field is required", "group_by is required", "min_events", "without a name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestKeysBounded(t *testing.T) {
	d, _ := New(&Config{Beacon: []BeaconConfig{{Name: "b", MaxKeys: 100}}})
	for i := 0; i < 1000; i++ {
		d.Observe(ev{"source.ip": fmt.Sprint("10.0.", i/256, ".", i%256), "destination.ip": "203.0.113.1", "destination.port": int64(443)}, t0)
	}
	if s := d.Stats(); s.Keys != 100 || s.Evicted != 900 {
		t.Fatalf("stats %+v", s)
	}
}
