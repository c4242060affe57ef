package sigma

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bruteMatch evaluates every rule of the event's lane, bypassing the witness
// index: the reference the index must agree with.
func bruteMatch(e *Engine, ev Event) []string {
	sc := e.pool.Get().(*scratch)
	defer e.pool.Put(sc)
	sc.reset(ev)
	ln := e.route(sc)
	var ids []string
	for _, r := range ln.rules {
		memo := sc.memo[:len(r.det.sels)]
		clear(memo)
		if sc.evalNode(r.det, r.det.cond, memo) {
			ids = append(ids, r.File+"#"+r.Title)
		}
	}
	return ids
}

func matchIDs(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Rule.File+"#"+m.Rule.Title)
	}
	return ids
}

func checkIndexSound(t *testing.T, e *Engine, events []map[string]any) (hits int) {
	t.Helper()
	var buf []Match
	for i, ev := range events {
		buf = e.Match(MapEvent(ev), buf[:0])
		got, want := matchIDs(buf), bruteMatch(e, MapEvent(ev))
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("event %d %v: indexed and brute-force matches differ (-brute +indexed):\n%s", i, ev, d)
		}
		hits += len(got)
	}
	return hits
}

func TestIndexSoundnessCorpus(t *testing.T) {
	rs := loadCorpus(t, nil)
	e := NewEngine(rs)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	hits := checkIndexSound(t, e, genEvents(n, 7, (*eventGen).mixed))
	t.Logf("%d events, %d matches, identical with and without the witness index", n, hits)
}

func TestIndexSoundnessTestdata(t *testing.T) {
	rs := NewRuleset(nil)
	if err := rs.LoadDir("testdata/rules"); err != nil {
		t.Fatal(err)
	}
	if len(rs.Errors) > 0 {
		t.Fatalf("testdata rules: %v", rs.Errors)
	}
	e := NewEngine(rs)
	hits := checkIndexSound(t, e, genEvents(20000, 11, (*eventGen).mixed))
	if hits == 0 {
		t.Errorf("no testdata rule matched the generated events; the check proves nothing")
	}
	t.Logf("%d matches", hits)
}
