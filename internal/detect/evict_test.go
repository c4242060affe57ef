package detect

import (
	"hash/maphash"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
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

// checkEvidenceList fails unless the evidence list and map hold the same
// groups.
func checkEvidenceList(t *testing.T, e *Engine) {
	t.Helper()
	n := 0
	var prev *evidence
	for ev := e.recent.Front(); ev != nil; ev = e.recent.Next(ev) {
		if e.evidence[ev.hash] != ev || ev.hash != maphash.String(e.seed, ev.key) || e.recent.Prev(ev) != prev {
			t.Fatalf("listed group %q is not linked or not in the map", ev.key)
		}
		prev, n = ev, n+1
	}
	if prev != e.recent.Back() || n != len(e.evidence) {
		t.Fatalf("%d groups listed, %d in the map", n, len(e.evidence))
	}
}

// A flood of new correlation groups keeps the evidence map at its limit:
// live groups dropped are counted as evicted, expired ones are not, a
// group hit all along survives, and a correlation firing afterwards lists
// exactly its triggering events.
func TestEvidenceBoundedAndCounted(t *testing.T) {
	e := stateEngine(t, stateRules)
	e.opts.MaxDedupKeys = 100
	at := func(sec int) time.Time {
		return time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)
	}
	ev := func(host string, sec int) sigma.MapEvent {
		return sigma.MapEvent{"@timestamp": at(sec).Format(time.RFC3339), "event.outcome": "failure",
			"host.name": host, "event.id": host + "-" + strconv.Itoa(sec)}
	}
	e.Process(ev("hot", 0))
	for i := range 1000 {
		if i%50 == 0 {
			// Hits too far apart to fire: the group lives on.
			e.Process(ev("hot", 700*(i/50+1)))
		}
		e.Process(ev("h"+strconv.Itoa(i), i/10))
		if len(e.evidence) > 100 {
			t.Fatalf("evidence grew to %d groups", len(e.evidence))
		}
	}
	checkEvidenceList(t, e)
	if got, want := e.Stats().Evicted, uint64(1000+1-100); got != want {
		t.Errorf("evicted %d, want %d (every group the flood pushed out)", got, want)
	}
	if e.evidence[maphash.String(e.seed, "\x00many_failures\x1fhot")] == nil {
		t.Fatal("a group hit throughout the flood was evicted")
	}
	// Later than every window: the old groups expire, uncounted.
	before := e.Stats().Evicted
	for i := range 100 {
		e.Process(ev("late"+strconv.Itoa(i), 20000))
	}
	checkEvidenceList(t, e)
	if got := e.Stats().Evicted; got != before {
		t.Errorf("expired groups counted as evicted: %d, was %d", got, before)
	}
	var alerts []Alert
	for _, sec := range []int{20001, 20002, 20003} {
		alerts = append(alerts, e.Process(ev("x", sec))...)
	}
	if len(alerts) != 1 {
		t.Fatalf("alerts %+v, want one correlation", alerts)
	}
	if got, want := strings.Join(alerts[0].EventIDs, ","), "x-20001,x-20002,x-20003"; got != want {
		t.Errorf("event ids %s, want %s", got, want)
	}
	if _, ok := e.evidence[maphash.String(e.seed, "\x00many_failures\x1fx")]; ok {
		t.Error("a fired correlation kept its evidence")
	}
	checkEvidenceList(t, e)
	e.Sweep(at(30000))
	checkEvidenceList(t, e)
	if len(e.evidence) != 0 {
		t.Errorf("%d groups left after a sweep past every window", len(e.evidence))
	}
}

// Two groups under one evidence hash (a collision, forced here) never
// share evidence: the group hit pushes the other out, counted as evicted.
func TestEvidenceHashCollision(t *testing.T) {
	e := stateEngine(t, stateRules)
	ev := func(host string, sec int) sigma.MapEvent {
		return sigma.MapEvent{"@timestamp": time.Date(2026, 11, 21, 10, 0, sec, 0, time.UTC).Format(time.RFC3339),
			"event.outcome": "failure", "host.name": host, "event.id": host + "-" + strconv.Itoa(sec)}
	}
	e.Process(ev("a", 0))
	e.Process(ev("a", 1))
	// File a's group under b's hash, as a collision would.
	a := e.evidence[maphash.String(e.seed, "\x00many_failures\x1fa")]
	e.dropEvidence(a)
	a.hash = maphash.String(e.seed, "\x00many_failures\x1fb")
	e.evidence[a.hash] = a
	e.recent.PushFront(a)
	before := e.Stats().Evicted
	e.Process(ev("b", 2))
	e.Process(ev("b", 3))
	got := e.Process(ev("b", 4))
	if len(got) != 1 || strings.Join(got[0].EventIDs, ",") != "b-2,b-3,b-4" {
		t.Fatalf("b's alert %+v, want b's three events only", got)
	}
	if e.Stats().Evicted != before+1 {
		t.Errorf("the group pushed out was not counted: %d, was %d", e.Stats().Evicted, before)
	}
	checkEvidenceList(t, e)
}
