package sigma

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVetoAtoms checks which negated conjuncts give veto literals: only a
// plain, case-insensitive string condition standing alone in a branch of a
// selection (or an OR of such) proves the filter true.
func TestVetoAtoms(t *testing.T) {
	for _, tc := range []struct {
		name string
		det  string
		want []string // lit/anchor
	}{
		{"and not", `  sel:
    Image|endswith: '\svchost.exe'
  filter:
    ParentImage|startswith: 'C:\Windows\System32\'
  condition: sel and not filter
`, []string{`c:\windows\system32\/1`}},
		{"pure negation of 1 of", `  known:
    Image|endswith: ['.exe', '.com']
  filter_a:
    Image: 'System'
  filter_b:
    Image|contains: ':\Windows\Temp\'
  condition: not known and not 1 of filter_*
`, []string{".exe/2", ".com/2", "system/0", `:\windows\temp\/3`}},
		{"two conditions in a branch", `  sel:
    Image|endswith: '\a.exe'
  filter:
    ParentImage|startswith: 'C:\x\'
    User: 'bob'
  condition: sel and not filter
`, nil},
		{"list of maps: each branch alone", `  sel:
    Image|endswith: '\a.exe'
  filter:
    - ParentImage|startswith: 'C:\x\'
    - User: 'bob'
      Image: 'c'
  condition: sel and not filter
`, []string{`c:\x\/1`}},
		{"case-sensitive, all, not under and", `  sel:
    Image|endswith: '\a.exe'
  f1:
    ParentImage|cased: 'C:\X'
  f2:
    CommandLine|contains|all: ['a', 'b']
  f3:
    User: 'x'
  condition: sel and not f1 and not f2 or not f3
`, nil},
		{"not of an and", `  sel:
    Image|endswith: '\a.exe'
  f1:
    ParentImage: 'x'
  f2:
    User: 'y'
  condition: sel and not (f1 and f2)
`, nil},
		{"regex and exists are skipped, strings kept", `  sel:
    Image|endswith: '\a.exe'
  filter:
    ParentImage:
      - 'c:\p.exe'
      - null
  filter_re:
    User|re: 'adm.*'
  condition: sel and not filter and not filter_re
`, []string{`c:\p.exe/0`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, _ := compileOne(t, tc.det, nil)
			var got []string
			for _, a := range rs.Rules[0].det.vetoAtoms() {
				got = append(got, a.lit+"/"+itoa(int(a.anchor)))
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("veto atoms (-want +got):\n%s", d)
			}
		})
	}
}

// TestVetoCorpusDifferential runs the corpus with vetoes on and checks, per
// event, that the engine reports exactly what evaluating every rule of the
// lane reports, and that vetoes did drop candidates (otherwise the check
// would prove nothing about them). Generated events carry the common
// system paths the corpus's filters name.
func TestVetoCorpusDifferential(t *testing.T) {
	rs := loadCorpus(t, nil)
	n := 8000
	if testing.Short() {
		n = 1000
	}
	events := genEvents(n, 17, (*eventGen).mixed)
	for _, count := range []int{3000, 0} {
		sub := rs
		if count > 0 {
			sub = sampleRules(rs, count)
		}
		e := NewEngine(sub)
		vetoed, hits := 0, 0
		var buf []Match
		for i, ev := range events {
			buf = e.Match(MapEvent(ev), buf[:0])
			got, want := matchIDs(buf), bruteMatch(e, MapEvent(ev))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%d rules, event %d %v: indexed and brute-force matches differ (-brute +indexed):\n%s", count, i, ev, d)
			}
			hits += len(got)
			// Count the candidates a veto dropped: Match leaves the
			// event's candidates and veto marks in a scratch; redo its
			// steps on one taken from the pool.
			sc := e.pool.Get().(*scratch)
			sc.reset(MapEvent(ev))
			if ln := e.route(sc); len(ln.rules) > 0 {
				e.matchLane(ln, sc, nil)
				for _, ri := range sc.cands {
					if vs := ln.veto[ri]; len(vs) > 0 && sc.vetoed(vs, sc.cgen) {
						vetoed++
					}
				}
			}
			sc.ev = nil
			e.pool.Put(sc)
		}
		if vetoed == 0 {
			t.Errorf("%d rules: no candidate was vetoed; the check proves nothing about vetoes", count)
		}
		t.Logf("%d rules: %d events, %d matches, %d candidates vetoed, identical to brute force", count, n, hits, vetoed)
	}
}

// TestVetoHitAnchors checks the full-literal verification of a veto hit
// (patterns are literal tails, so a hit alone proves nothing).
func TestVetoHitAnchors(t *testing.T) {
	ln := &lane{vlits: []vetoLit{
		{lit: `c:\windows\system32\`, anchor: skPrefix},
		{lit: `.exe`, anchor: skSuffix},
		{lit: `system`, anchor: skExact},
		{lit: `\temp\`, anchor: skContains},
	}}
	for _, tc := range []struct {
		id  int32
		v   string
		end int32
		ok  bool
	}{
		{0, `C:\Windows\System32\cmd.exe`, 20, true},
		{0, `D:\Windows\System32\cmd.exe`, 20, false}, // tail matches, head does not
		{0, `xC:\Windows\System32\cmd.exe`, 21, false},
		{1, `a.EXE`, 5, true},
		{1, `a.exe.txt`, 5, false},
		{2, `System`, 6, true},
		{2, `Systems`, 6, false},
		{3, `c:\Temp\x`, 8, true},
		{3, `c:\Tmp\x`, 7, false},
		{3, `\temp`, 3, false}, // literal would start before the value
	} {
		if got := ln.vetoHit(tc.id, tc.end, tc.v); got != tc.ok {
			t.Errorf("veto %q in %q ending at %d: %v, want %v", ln.vlits[tc.id].lit, tc.v, tc.end, got, tc.ok)
		}
	}
}
