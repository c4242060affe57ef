package sigma

import (
	"slices"
	"testing"
)

// TestScanCacheSound checks the cache of scan results: for every event, the
// candidates (the rules whose witness slots are all marked) and the matches
// are the same with the cache off, on (filling it) and on again (from the
// cache), and the matches are those of evaluating every rule. It runs with
// the default sizes, with a 4-slot cache (slots collide all the time), and
// with a ring barely larger than one value's marks (ring marks of live
// entries are overwritten all the time). Comparing candidates, not only matches, catches a lost or
// stale mark even when it changes no match.
func TestScanCacheSound(t *testing.T) {
	defer func(n, r int) { cacheEntries, cacheRing, useScanCache = n, r, true }(cacheEntries, cacheRing)
	for _, v := range []struct {
		name          string
		entries, ring int
	}{{"default", cacheEntries, cacheRing}, {"tiny", 4, cacheHitMax + 2}, {"small-ring", cacheEntries, cacheHitMax + 2}} {
		for _, name := range []string{"testdata", "corpus"} {
			t.Run(v.name+"/"+name, func(t *testing.T) {
				cacheEntries, cacheRing = v.entries, v.ring
				var e *Engine
				if name == "testdata" {
					e = loadTestdata(t, nil)
				} else {
					e = NewEngine(loadCorpus(t, nil)) // skips without the corpus
				}
				events := genEvents(3000, 23, (*eventGen).mixed)
				events = append(events, events[:500]...)
				sc := e.pool.Get().(*scratch)
				defer e.pool.Put(sc)
				run := func(ev MapEvent, cached bool) (cands []int32, ids []string) {
					useScanCache = cached
					sc.reset(ev)
					ln := e.route(sc)
					sc.cands = sc.cands[:0]
					ms := e.matchLane(ln, sc, nil)
					sc.ev = nil
					cands = slices.Clone(sc.cands)
					slices.Sort(cands)
					return cands, matchIDs(ms)
				}
				hits, cached := 0, 0
				for i, ev := range events {
					wantCands, wantIDs := run(MapEvent(ev), false)
					if brute := bruteMatch(e, MapEvent(ev)); !slices.Equal(wantIDs, brute) {
						t.Fatalf("%s, event %d: indexed %v, brute force %v", name, i, wantIDs, brute)
					}
					for k := range 2 {
						cands, ids := run(MapEvent(ev), true)
						if !slices.Equal(cands, wantCands) || !slices.Equal(ids, wantIDs) {
							t.Fatalf("%s, event %d, cached pass %d: candidates %v matches %v, uncached %v %v", name, i, k, cands, ids, wantCands, wantIDs)
						}
					}
					hits += len(wantIDs)
					cached += len(wantCands)
				}
				if hits == 0 || cached == 0 || sc.cache == nil {
					t.Errorf("%s: %d matches, %d candidates, cache used: %v; the check proves little", name, hits, cached, sc.cache != nil)
				}
			})
		}
	}
}
