package sigma

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPackSame checks that every corpus rule, compiled with its data packed
// (packRules) and without, evaluates alike, with the same matched fields, on
// generated events of every kind.
func TestPackSame(t *testing.T) {
	defer func() { packRules = true }()
	packRules = false
	off := loadCorpus(t, nil)
	packRules = true
	on := loadCorpus(t, nil)
	if len(on.Rules) != len(off.Rules) {
		t.Fatalf("%d rules packed, %d not", len(on.Rules), len(off.Rules))
	}
	n := 250
	if testing.Short() {
		n = 40
	}
	e := NewEngine(on)
	sc := e.pool.Get().(*scratch)
	defer e.pool.Put(sc)
	evals, trues := 0, 0
	for si, set := range inputSets {
		for _, ev := range genEvents(n, uint64(11+si), set.kind) {
			sc.reset(MapEvent(ev))
			for i, r := range on.Rules {
				ro := off.Rules[i]
				if r.Title != ro.Title || r.File != ro.File {
					t.Fatalf("rule %d: %s packed, %s not", i, r.File, ro.File)
				}
				if len(sc.memo) < len(r.det.sels) {
					sc.memo = make([]int8, len(r.det.sels))
				}
				memo := sc.memo[:len(r.det.sels)]
				clear(memo)
				got := sc.evalNode(r.det, r.det.cond, memo)
				var gotF []MatchedField
				if got {
					gotF = sc.details(r.det, memo)
				}
				clear(memo)
				want := sc.evalNode(ro.det, ro.det.cond, memo)
				var wantF []MatchedField
				if want {
					wantF = sc.details(ro.det, memo)
				}
				evals++
				if got {
					trues++
				}
				if got != want {
					t.Fatalf("%s on %v: packed %v, not packed %v", r.File, ev, got, want)
				}
				if d := cmp.Diff(wantF, gotF); d != "" {
					t.Fatalf("%s on %v: matched fields differ (-not packed +packed):\n%s", r.File, ev, d)
				}
			}
		}
	}
	if trues == 0 {
		t.Fatalf("no rule matched in %d evaluations", evals)
	}
	t.Logf("%d evaluations, %d true", evals, trues)
}
