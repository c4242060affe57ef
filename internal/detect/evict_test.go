package detect

import (
	"strconv"
	"testing"
	"time"
)

func TestEvictOldestKeepsTheNewest(t *testing.T) {
	base := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	m := map[string]time.Time{}
	for i := range 100 {
		m[strconv.Itoa(i)] = base.Add(time.Duration(i) * time.Second)
	}
	if n := evictOldest(m, 90, func(t time.Time) time.Time { return t }); n != 10 {
		t.Fatalf("evicted %d, want 10", n)
	}
	if len(m) != 90 {
		t.Fatalf("%d left, want 90", len(m))
	}
	for i := range 10 {
		if _, ok := m[strconv.Itoa(i)]; ok {
			t.Errorf("key %d (among the oldest) survived", i)
		}
	}
	if n := evictOldest(m, 95, func(t time.Time) time.Time { return t }); n != 0 {
		t.Errorf("evicted %d below the limit", n)
	}
}

// A flood of distinct dedup keys must keep the map bounded and pay for a
// prune once per tenth of the limit, not once per key.
func TestPruneDedupBoundedAndAmortized(t *testing.T) {
	e := &Engine{dedup: map[string]time.Time{}, opts: Options{MaxDedupKeys: 1000, DedupWindow: time.Hour}}
	base := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	prunes := 0
	for i := range 10_000 {
		now := base.Add(time.Duration(i) * time.Millisecond)
		if len(e.dedup) >= e.opts.MaxDedupKeys {
			e.pruneDedup(now)
			prunes++
		}
		e.dedup["k"+strconv.Itoa(i)] = now
		if len(e.dedup) > e.opts.MaxDedupKeys {
			t.Fatalf("dedup map grew to %d", len(e.dedup))
		}
	}
	if prunes > 10_000/100+1 {
		t.Errorf("%d prunes for 10,000 keys, want about one per 100 keys", prunes)
	}
	if e.stats.Evicted != uint64(10_000-len(e.dedup)) {
		t.Errorf("evicted counted %d, want %d", e.stats.Evicted, 10_000-len(e.dedup))
	}
	if _, ok := e.dedup["k9999"]; !ok {
		t.Error("the newest key was evicted")
	}
}
