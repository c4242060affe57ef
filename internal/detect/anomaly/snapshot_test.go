package anomaly

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSnapshotRoundTrip: a baseline learnt before a snapshot still judges
// the spike after Restore into a new detector of the same configuration,
// and a detector whose configuration changed starts empty.
func TestSnapshotRoundTrip(t *testing.T) {
	cfg := &Config{
		Rate:      []RateConfig{{Name: "r", GroupBy: []string{"source.ip"}, MinCount: 20, Warmup: 10}},
		FirstSeen: []FirstSeenConfig{{Name: "f", GroupBy: []string{"host.name"}, Field: "destination.port", Learn: time.Hour}},
		Beacon:    []BeaconConfig{{Name: "b", GroupBy: []string{"source.ip"}, MinEvents: 5}},
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := ev{"source.ip": "192.0.2.1", "host.name": "h1", "destination.port": "443"}
	for m := range 30 {
		for i := range 10 {
			d.Observe(e, t0.Add(time.Duration(m)*time.Minute+time.Duration(i)*time.Second))
		}
	}
	raw, err := json.Marshal(d.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	d2, _ := New(cfg)
	if n := d2.Restore(snap); n != 3 {
		t.Fatalf("restored %d keys, want 3", n)
	}
	var got []Finding
	for i := range 80 {
		got = append(got, d2.Observe(ev{"source.ip": "192.0.2.1"}, t0.Add(30*time.Minute+time.Duration(i)*500*time.Millisecond))...)
	}
	got = append(got, d2.Observe(ev{"host.name": "h1", "destination.port": "22"}, t0.Add(2*time.Hour))...)
	kinds := map[string]int{}
	for _, f := range got {
		kinds[f.Kind]++
	}
	if kinds[KindRate] != 1 || kinds[KindFirstSeen] != 1 {
		t.Fatalf("after restore: %+v", got)
	}
	// Another z threshold is another detector: its baseline starts over.
	changed := *cfg
	changed.Rate = []RateConfig{{Name: "r", GroupBy: []string{"source.ip"}, MinCount: 20, Warmup: 10, Z: 6}}
	d3, _ := New(&changed)
	if n := d3.Restore(snap); n != 2 {
		t.Fatalf("restored %d keys into a changed detector, want 2 (first_seen and beacon)", n)
	}
}
