package sigma

import (
	"fmt"
	"slices"
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

// TestIndexSoundnessGrams repeats the testdata check with every field
// indexed by grams (the path large rule sets take) and with the
// refinements off, so each index form is checked without the corpus.
func TestIndexSoundnessGrams(t *testing.T) {
	defer func() { secondWitness, splitAnchored, gramIndexThreshold = true, true, defaultGramIndexThreshold }()
	for _, v := range []struct {
		name           string
		second, anchor bool
		threshold      int
	}{{"grams", true, true, 0}, {"plain", false, false, 1 << 62}} {
		t.Run(v.name, func(t *testing.T) {
			secondWitness, splitAnchored, gramIndexThreshold = v.second, v.anchor, v.threshold
			rs := NewRuleset(nil)
			if err := rs.LoadDir("testdata/rules"); err != nil {
				t.Fatal(err)
			}
			e := NewEngine(rs)
			if hits := checkIndexSound(t, e, genEvents(20000, 13, (*eventGen).mixed)); hits == 0 {
				t.Error("no matches; the check proves nothing")
			}
		})
	}
}

func TestGramIndexFindsEveryOccurrence(t *testing.T) {
	pats := []string{"abcd", "bcde", "xyz", "cmd.exe", "\\system32\\", "ab", "aaaa"}
	_, g := indexPatterns(append(pats, bigPatternSet()...))
	if g == nil {
		t.Fatal("a large pattern set did not get a gram index")
	}
	ln := &lane{need: make([]uint8, len(pats))}
	refs := make([][]patRef, len(pats)+len(bigPatternSet()))
	for i := range pats {
		ln.need[i] = 1
		refs[i] = []patRef{{rule: int32(i), anchor: skContains, llen: int32(len(pats[i])), slot: 1}}
	}
	sc := &scratch{cmask: make([]uint8, len(pats))}
	cstamp := make([]uint32, len(pats))
	for gen, c := range []struct {
		v    string
		want []int32
	}{
		{"xxABCDExx", []int32{0, 1, 5}},
		{"C:\\Windows\\System32\\CMD.EXE", []int32{3, 4}},
		{"aaaaa xyz", []int32{2, 6}},
		{"abc", []int32{5}},
		{"", nil},
	} {
		got := sc.scanGrams(ln, g, flatRefs(refs), c.v, 0, len(c.v), cstamp, uint32(gen+1), nil)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: rules %v, want %v", c.v, got, c.want)
		}
	}
}

// bigPatternSet is enough distinct literals to push an automaton over the
// gram threshold.
func bigPatternSet() []string {
	var out []string
	for i := range 6000 {
		out = append(out, fmt.Sprintf("q%05dzk%c", i, 'a'+i%26))
	}
	return out
}

// TestAllListSecondWitness checks that the values of a |all list are
// conjuncts of their own: the rule gets a second witness from the same
// list, and matches exactly as brute force does on values holding any
// subset of the list.
func TestAllListSecondWitness(t *testing.T) {
	rs := NewRuleset(nil)
	rule := "title: all\nlogsource: {product: test}\ndetection:\n  s:\n    CommandLine|contains|all:\n" +
		"      - 'regsvr32'\n      - '\\AppData\\Local\\'\n      - '.dll'\n      - ',DllEntry'\n  condition: s\n"
	if rs.AddFile("all.yml", []byte(rule)) != 1 {
		t.Fatalf("%v", rs.Errors)
	}
	d := rs.Rules[0].det
	if d.witness == nil || d.witness2 == nil {
		t.Fatalf("witnesses %v and %v: want two from the |all list", d.witness, d.witness2)
	}
	e := NewEngine(rs)
	parts := []string{"REGSVR32 ", `c:\users\x\appdata\local\`, "a.DLL", ",DllEntry"}
	hits := 0
	for mask := range 1 << len(parts) {
		var v string
		for i, p := range parts {
			if mask&(1<<i) != 0 {
				v += p
			}
		}
		ev := MapEvent{"CommandLine": v}
		got := matchIDs(e.Match(ev, nil))
		if d := cmp.Diff(bruteMatch(e, ev), got); d != "" {
			t.Errorf("%q: indexed and brute-force matches differ:\n%s", v, d)
		}
		hits += len(got)
	}
	if hits != 1 {
		t.Errorf("%d matches, want 1 (all four parts)", hits)
	}
}
