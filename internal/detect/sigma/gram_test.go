package sigma

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gramScanReport scans v[from:to] with a gram index over pats and returns,
// per pattern, whether it was reported occurring anywhere in the window, at
// the value's start and at its end: each pattern gets three rules, one per
// anchoring, so the end positions the scan reports are checked too.
func gramScanReport(g *gramIndex, pats []string, v string, from, to int) []bool {
	refs := make([][]patRef, len(pats))
	for i, p := range pats {
		for k, a := range []strKind{skContains, skPrefix, skSuffix} {
			refs[i] = append(refs[i], patRef{rule: int32(3*i + k), anchor: a, llen: int32(len(p)), slot: 1})
		}
	}
	n := 3 * len(pats)
	ln := &lane{need: slices.Repeat([]uint8{1}, n)}
	sc := &scratch{cmask: make([]uint8, n)}
	got := make([]bool, n)
	for _, r := range sc.scanGrams(ln, g, flatRefs(refs), v, from, to, make([]uint32, n), 1, nil) {
		got[r] = true
	}
	return got
}

// bruteReport is what gramScanReport must return, by comparing every
// pattern at every position of the window.
func bruteReport(pats []string, v string, from, to int) []bool {
	want := make([]bool, 3*len(pats))
	for i, p := range pats {
		for s := from; s+len(p) <= to; s++ {
			if !equalFoldLower(v[s:s+len(p)], p) {
				continue
			}
			want[3*i] = true
			want[3*i+1] = want[3*i+1] || s == 0
			want[3*i+2] = want[3*i+2] || s+len(p) == len(v)
		}
	}
	return want
}

// checkGramScan compares the gram index with brute force on one value and
// window (pats are distinct and lower-case, as buildLane makes them).
func checkGramScan(t *testing.T, pats []string, v string, from, to int) {
	t.Helper()
	checkGramScanFor(t, pats, v, from, to, false)
}

// checkGramScanFor is checkGramScan for a contains set or (anchored) a
// set of prefix, suffix and exact literals, of which only occurrences at
// the value's start or end count.
func checkGramScanFor(t *testing.T, pats []string, v string, from, to int, anchored bool) {
	t.Helper()
	defer func(old int) { gramIndexThreshold = old }(gramIndexThreshold)
	gramIndexThreshold = 0 // every set gets a gram index
	_, g := indexPatternsFor(pats, anchored)
	if g == nil {
		t.Fatal("no gram index")
	}
	got, want := gramScanReport(g, pats, v, from, to), bruteReport(pats, v, from, to)
	for r := range want {
		if anchored && r%3 == 0 {
			continue // contains anchoring: not in an anchored set
		}
		if got[r] != want[r] {
			t.Fatalf("pattern %q (anchoring %d) in %q[%d:%d] (stride %d): reported %v, brute force %v",
				pats[r/3], r%3, v, from, to, g.stride, got[r], want[r])
		}
	}
}

// TestGramIndexDifferential checks the gram index against brute force over
// random pattern sets and values drawn from a small alphabet (so patterns
// occur often, overlapping, at the edges of windows): sets with one-, two-
// and three-byte patterns (in the small automaton), sets of long patterns
// only (scanned at a stride), and non-ASCII patterns.
func TestGramIndexDifferential(t *testing.T) {
	defer func() { gramStrides = true }()
	for _, on := range []bool{true, false} {
		gramStrides = on
		t.Run(fmt.Sprintf("strides_%v", on), func(t *testing.T) { gramDifferential(t, on) })
	}
}

func gramDifferential(t *testing.T, strided bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "A", "B", "\\", ".", " ", "-", "é", "К", "к", "x"}
	word := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	strides := map[int]int{}
	direct := 0
	for iter := range 3000 {
		minLen := []int{1, 2, 3, 4, 5, 7, 9, 12}[iter%8]
		seen := map[string]bool{}
		var pats []string
		for range 1 + rng.IntN(60) {
			p := word(minLen + rng.IntN(6))
			p = strings.ToLower(p)
			if len(p) > maxPatternLen {
				p = p[len(p)-maxPatternLen:]
			}
			if len(p) < minLen || seen[p] || !isValidUTF8Tail(p) {
				continue
			}
			seen[p] = true
			pats = append(pats, p)
		}
		if len(pats) == 0 {
			continue
		}
		for range 8 {
			v := word(rng.IntN(40))
			if rng.IntN(2) == 0 && len(v) > 0 {
				// Plant a pattern, upper-cased at random.
				p := pats[rng.IntN(len(pats))]
				if rng.IntN(2) == 0 {
					p = strings.ToUpper(p)
				}
				at := rng.IntN(len(v) + 1)
				v = v[:at] + p + v[at:]
			}
			if !isASCII(v) {
				v = strings.ToLower(v) // as scanValue does
			}
			from, to := 0, len(v)
			if rng.IntN(2) == 0 && len(v) > 0 {
				from = rng.IntN(len(v) + 1)
				to = from + rng.IntN(len(v)-from+1)
			}
			_, g := func() (*acMatcher, *gramIndex) {
				defer func(old int) { gramIndexThreshold = old }(gramIndexThreshold)
				gramIndexThreshold = 0
				return indexPatterns(pats)
			}()
			strides[g.stride]++
			if g.direct != nil {
				direct++
			}
			checkGramScan(t, pats, v, from, to)
			checkGramScanFor(t, pats, v, from, to, true)
		}
	}
	if direct == 0 {
		t.Error("no pattern set had its short patterns found directly")
	}
	for _, s := range []int{1, 2, 4, 8} {
		if strided && strides[s] == 0 {
			t.Errorf("no pattern set got stride %d (strides seen: %v); the check misses a scan path", s, strides)
		}
	}
}

// isValidUTF8Tail reports whether p does not start inside a UTF-8 sequence
// (cutting a pattern to its last bytes may split a character; the engine
// does so too, which is sound, but keeps the generated cases readable).
func isValidUTF8Tail(p string) bool {
	return len(p) == 0 || p[0] < 0x80 || p[0] >= 0xC0
}

// FuzzGramIndex checks the gram index against brute force on arbitrary
// patterns and values: the input is split at 0x00 bytes, the first field
// being the value and the others patterns.
func FuzzGramIndex(f *testing.F) {
	f.Add([]byte("C:\\Windows\\System32\\CMD.EXE /c whoami\x00cmd.exe\x00 /c\x00\\system32\\\x00w"))
	f.Add([]byte("SHA1=0123456789ABCDEF,MD5=FEDCBA9876543210\x0089abcdef,md5=\x00fedcba9876543210"))
	f.Add([]byte("\xd0\x9a\xd0\xba a\x00\xd0\xba\x00\xd0\xba a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := strings.Split(string(data), "\x00")
		if len(parts) < 2 || len(parts) > 200 {
			return
		}
		v := parts[0]
		if !isASCII(v) {
			v = strings.ToLower(v)
		}
		seen := map[string]bool{}
		var pats []string
		for _, p := range parts[1:] {
			p = strings.ToLower(p)
			if len(p) > maxPatternLen {
				p = p[len(p)-maxPatternLen:]
			}
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			pats = append(pats, p)
		}
		if len(pats) == 0 {
			return
		}
		checkGramScan(t, pats, v, 0, len(v))
		if len(v) > 2 {
			checkGramScan(t, pats, v, 1, len(v)-1)
		}
	})
}

// TestGramScanNonASCII checks gram-indexed fields on non-ASCII values:
// upper-case non-ASCII letters whose lower case is ASCII (the Kelvin sign)
// or shorter or longer in UTF-8 must still make the rule a candidate,
// anchored literals included, and the index must agree with brute force.
func TestGramScanNonASCII(t *testing.T) {
	defer func(old int) { gramIndexThreshold = old }(gramIndexThreshold)
	gramIndexThreshold = 0
	rs := NewRuleset(nil)
	rules := []string{
		"title: kelvin\nlogsource: {product: test}\ndetection:\n  s:\n    CommandLine|contains: 'kb5034441'\n  condition: s\n",
		"title: short\nlogsource: {product: test}\ndetection:\n  s:\n    CommandLine|contains: ' /k'\n  condition: s\n",
		"title: cyrillic\nlogsource: {product: test}\ndetection:\n  s:\n    CommandLine|contains: 'кк'\n  condition: s\n",
		"title: suffix\nlogsource: {product: test}\ndetection:\n  s:\n    CommandLine|endswith: 'x.exe'\n    CommandLine|contains: 'run'\n  condition: s\n",
	}
	for i, r := range rules {
		if rs.AddFile(fmt.Sprintf("r%d.yml", i), []byte(r)) != 1 {
			t.Fatalf("rule %d: %v", i, rs.Errors)
		}
	}
	e := NewEngine(rs)
	for _, c := range []struct {
		cmd  string
		want int
	}{
		{"install \u212AB5034441", 1},       // Kelvin sign: 3 bytes, lower case 'k'
		{"cmd /\u212A dir", 1},              // the same in a short literal
		{"ÉCHO КК", 1},                      // Cyrillic upper case, 2 bytes each
		{"İrun X.EXE", 1},                   // İ lowers to two runes of other length
		{"run \u212Ax.EXE", 1},              // non-ASCII inside the suffix window
		{"plain kb5034441 /k run x.exe", 3}, // ASCII
		{"ÉCHO nothing", 0},
	} {
		ev := MapEvent{"CommandLine": c.cmd}
		got := matchIDs(e.Match(ev, nil))
		if d := cmp.Diff(bruteMatch(e, ev), got); d != "" {
			t.Errorf("%q: indexed and brute-force matches differ:\n%s", c.cmd, d)
		}
		if len(got) != c.want {
			t.Errorf("%q: %d matches %v, want %d", c.cmd, len(got), got, c.want)
		}
	}
}

// TestGramIndexLongPatterns checks that a set with a pattern longer than a
// gram slot holds gets an automaton, which finds it.
func TestGramIndexLongPatterns(t *testing.T) {
	defer func(old int) { gramIndexThreshold = old }(gramIndexThreshold)
	gramIndexThreshold = 0
	long := strings.Repeat("ab", maxPatternLen)
	ac, g := indexPatterns([]string{"baba", long})
	if g != nil || ac == nil {
		t.Fatalf("a %d-byte pattern got a gram index", len(long))
	}
	refs := flatRefs([][]patRef{{{rule: 0, anchor: skContains, llen: 4, slot: 1}}, {{rule: 1, anchor: skContains, llen: int32(len(long)), slot: 1}}})
	ln := &lane{need: []uint8{1, 1}}
	sc := &scratch{cmask: make([]uint8, 2)}
	v := "x" + strings.ToUpper(long) + "y"
	got := sc.scanRangeIDs(ln, ac, nil, refs, v, 0, len(v), make([]uint32, 2), 1, nil)
	slices.Sort(got)
	if !slices.Equal(got, []int32{0, 1}) {
		t.Errorf("rules %v in %q, want [0 1]", got, v)
	}
}

// TestGramIndexCommonText checks patterns made of commonText (keyed by a
// common gram only when they have no other) against values holding them,
// whole, cut and in other case, with the preference on and off.
func TestGramIndexCommonText(t *testing.T) {
	defer func() { gramAvoidCommon = true }()
	pats := []string{`\system32\`, `c:\users\`, `\appdata\`, `\appdata\lo`, `users\public`, `.exe" -nop`,
		`ws\system32\`, `programdata\`, `cmd.exe /c w`, `temp\`, `.dll`, `x86)\micro`}
	vals := []string{
		`C:\Windows\System32\cmd.exe /c whoami`,
		`c:\users\public\AppData\Local\x.dll`,
		`"C:\Program Files (x86)\Microsoft\a.EXE" -nop`,
		`C:\ProgramData\a\temp\`,
		`c:\user\appdat\system3`,
	}
	for _, on := range []bool{true, false} {
		gramAvoidCommon = on
		for _, v := range vals {
			checkGramScan(t, pats, v, 0, len(v))
			checkGramScan(t, pats, v, 3, len(v)-2)
		}
	}
}
