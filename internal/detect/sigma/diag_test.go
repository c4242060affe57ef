package sigma

import (
	"fmt"
	"sort"
	"testing"
)

func TestDiagCandidates(t *testing.T) {
	rs := loadCorpus(t, nil)
	e := NewEngine(rs)
	events := genEvents(5000, 1, (*eventGen).windows)
	freq := map[*Rule]int{}
	total := 0
	for _, ev := range events {
		sc := e.pool.Get().(*scratch)
		sc.reset(MapEvent(ev))
		ln := e.route(sc)
		e.matchLane(ln, sc, nil)
		for _, ri := range sc.cands {
			freq[ln.rules[ri]]++
		}
		total += len(sc.cands)
		e.pool.Put(sc)
	}
	t.Logf("avg candidates/event %.1f", float64(total)/float64(len(events)))
	type kv struct {
		r *Rule
		n int
	}
	var l []kv
	for r, n := range freq {
		l = append(l, kv{r, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n })
	for _, x := range l[:40] {
		w := ""
		for i, a := range x.r.det.witness {
			if i > 3 {
				w += "..."
				break
			}
			w += fmt.Sprintf("[%s %q %d] ", rs.fields.names[a.field], a.lit, a.anchor)
		}
		t.Logf("%5d %s  %s", x.n, x.r.Title, w)
	}
}
