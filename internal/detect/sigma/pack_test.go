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
	if testing.Short() || raceEnabled {
		n = 40 // every corpus rule on each event: 2.25M evaluations at 250
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

// TestMatcherExt checks that every corpus rule's matchers have their
// rarely used parts (mext), that matchers which need none share noExt, and
// that noExt stays zero.
func TestMatcherExt(t *testing.T) {
	rs := loadCorpus(t, nil)
	shared, own := 0, 0
	for _, r := range rs.Rules {
		for _, s := range r.det.sels {
			for _, br := range s.branches {
				for _, fc := range br {
					for _, g := range fc.groups {
						for i := range g {
							m := &g[i]
							switch {
							case m.mext == nil:
								t.Fatalf("%s: matcher %q has no mext", r.File, m.lit)
							case m.mext == noExt:
								shared++
							default:
								own++
							}
							if (m.kind == mRegex) != (m.re != nil) || (m.kind == mCIDR) != (m.cidr != nil) || (m.sk == skGlob && m.kind == mString) != (m.glob != nil) {
								t.Fatalf("%s: matcher %q (kind %d) has the wrong parts", r.File, m.lit, m.kind)
							}
						}
					}
				}
			}
		}
	}
	if extOf(*noExt) != noExt {
		t.Fatalf("noExt was written: %+v", *noExt)
	}
	t.Logf("%d matchers share noExt, %d have their own", shared, own)
}
