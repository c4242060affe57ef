package sigma

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAtomIn compares the check of a lazily checked witness literal with
// lower-casing and the strings package, for every anchoring.
func TestAtomIn(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	alpha := "aAbB -\\.é"
	rnd := func(n int) string {
		var b strings.Builder
		for range n {
			c := alpha[r.IntN(len(alpha))]
			b.WriteByte(c)
		}
		return b.String()
	}
	for range 20000 {
		v := rnd(r.IntN(9))
		lit := strings.ToLower(rnd(1 + r.IntN(3)))
		low := strings.ToLower(v)
		for _, k := range []strKind{skExact, skPrefix, skSuffix, skContains} {
			var want bool
			switch k {
			case skExact:
				want = low == lit
			case skPrefix:
				want = strings.HasPrefix(low, lit)
			case skSuffix:
				want = strings.HasSuffix(low, lit)
			default:
				want = strings.Contains(low, lit)
			}
			if got := atomIn(v, lit, k); got != want && isASCII(v) {
				t.Fatalf("atomIn(%q, %q, %d) = %v, want %v", v, lit, k, got, want)
			}
		}
	}
}

// TestLazyWitness checks that a short second witness is checked on
// candidates instead of indexed, that a witness of blank bytes is not
// indexed, and that the rules still match exactly what evaluating every
// rule matches.
func TestLazyWitness(t *testing.T) {
	defer func() { lazyShort, dropBlank = true, true }()
	rules := []string{
		"title: curl\nlogsource: {product: test}\ndetection:\n  s:\n    Image|endswith: '\\curl.exe'\n" +
			"    CommandLine|contains: ' -k'\n  condition: s\n",
		"title: short first\nlogsource: {product: test}\ndetection:\n  s:\n    Image: 'x.e'\n" +
			"    Product|contains: 'longproductname'\n  condition: s\n",
		"title: snake\nlogsource: {product: test}\ndetection:\n  s:\n" +
			"    CommandLine|re: '\\s[a-fA-F0-9]{8}\\s[a-fA-F0-9]{4}'\n  condition: s\n",
	}
	rs := rulesetOf(t, rules...)
	if _, w2, chk := laneWitnesses(rs.Rules[0].det); w2 != nil || len(chk) != 1 || chk[0].lit != " -k" {
		t.Errorf("curl: indexed second witness %v, checked %v; want ' -k' checked", w2, chk)
	}
	if w1, w2, chk := laneWitnesses(rs.Rules[1].det); w2 != nil || len(chk) != 1 || chk[0].lit != "x.e" || len(w1) != 1 || w1[0].lit != "longproductname" {
		t.Errorf("short first: indexed %v and %v, checked %v; want the long one indexed, 'x.e' checked", w1, w2, chk)
	}
	if w1, w2, chk := laneWitnesses(rs.Rules[2].det); w1 != nil || w2 != nil || chk != nil {
		t.Errorf("snake: witnesses %v, %v, checked %v; want none (blank)", w1, w2, chk)
	}
	events := []MapEvent{
		{"Image": `C:\bin\CURL.EXE`, "CommandLine": "curl -K https://x"},
		{"Image": `C:\bin\curl.exe`, "CommandLine": "curl https://x"},
		{"Image": `C:\bin\wget.exe`, "CommandLine": "wget -k https://x"},
		{"Image": `X.E`, "Product": "a LongProductName"},
		{"Image": `X.Ex`, "Product": "a LongProductName"},
		{"Image": []any{"y", "x.e"}, "Product": "longproductname"},
		{"CommandLine": "run 0123abcd\tFFFF"},
		{"CommandLine": "run 0123abcd-FFFF"},
	}
	want := []int{1, 0, 0, 1, 0, 1, 1, 0}
	matchBothWays(t, "lazy", rs, events, want, func(on bool) { lazyShort, dropBlank = on, on })
}

// TestLaneChecks checks the necessary conditions tested on a candidate
// before it is evaluated: a third conjunct's witness, a field equality
// (fieldref) and a regex's length and run, and that the rules still match
// exactly what evaluating every rule matches, with the checks on and off.
func TestLaneChecks(t *testing.T) {
	defer func() { useChecks, regexChecks = true, true }()
	rules := []string{
		"title: third\nlogsource: {product: test}\ndetection:\n  s:\n    Image|endswith: '\\longimagename.exe'\n" +
			"    ParentImage|endswith: '\\longparentname.exe'\n    TargetFilename|endswith: '.exe'\n  condition: s\n",
		"title: itself\nlogsource: {product: test}\ndetection:\n  s:\n    Image|fieldref: ParentImage\n" +
			"  f:\n    Image|startswith: 'C:\\Program Files\\'\n  condition: s and not f\n",
		"title: itself cased\nlogsource: {product: test}\ndetection:\n  s:\n    Image|fieldref|cased: ParentImage\n  condition: s\n",
		"title: run\nlogsource: {product: test}\ndetection:\n  s:\n" +
			"    CommandLine|re: '\\s[a-fA-F0-9]{16}\\s'\n  condition: s\n",
	}
	rs := rulesetOf(t, rules...)
	if c := laneCheckOf(rs.Rules[0].det, nil); len(c.atoms) != 1 || c.atoms[0].lit != ".exe" {
		t.Errorf("third: check %v, want TargetFilename '.exe'", c.atoms)
	}
	if c := laneCheckOf(rs.Rules[1].det, nil); c.eqA < 0 || rs.fields.names[c.eqA] != "Image" || rs.fields.names[c.eqB] != "ParentImage" {
		t.Errorf("itself: check %+v, want Image equal to ParentImage", c)
	}
	if c := laneCheckOf(rs.Rules[3].det, nil); c.re == nil || c.re.run == nil {
		t.Errorf("run: check %+v, want the regex's run", c)
	}
	events := []MapEvent{
		{"Image": `C:\LongImageName.exe`, "ParentImage": `c:\longparentname.EXE`, "TargetFilename": `x.EXE`},
		{"Image": `C:\LongImageName.exe`, "ParentImage": `c:\longparentname.EXE`, "TargetFilename": `x.dll`},
		{"Image": `C:\LongImageName.exe`, "ParentImage": `c:\longparentname.EXE`, "TargetFilename": []any{"a", "b.exe"}},
		{"Image": `C:\a\b.exe`, "ParentImage": `c:\A\B.EXE`},
		{"Image": `c:\a\b.exe`, "ParentImage": `c:\a\b.exe`},
		{"Image": `C:\a\b.exe`, "ParentImage": `c:\a\c.exe`},
		{"Image": `C:\Program Files\b.exe`, "ParentImage": `c:\program files\b.exe`},
		{"Image": "c:\\ǅ.exe", "ParentImage": "c:\\ǆ.exe"},
		{"Image": []any{"x", `C:\a\b.exe`}, "ParentImage": []any{`C:\A\B.exe`, nil}},
		{"Image": nil, "ParentImage": nil},
		{"CommandLine": "run 0123456789abcdef x"},
		{"CommandLine": "run 0123456789abcdeF\tx"},
		{"CommandLine": "run 0123456789abcde x"},
		{"CommandLine": []any{"short", "run 0123456789abcdef x"}},
	}
	want := []int{1, 0, 1, 1, 2, 0, 0, 1, 1, 0, 1, 1, 0, 1}
	matchBothWays(t, "checks", rs, events, want, func(on bool) { useChecks, regexChecks = on, on })
}

// TestLazyVeto checks that a rule with a strong witness gets its veto
// literals checked on candidacy (a lane indexes vetoes only for weak
// rules), and still matches exactly what evaluating every rule matches.
func TestLazyVeto(t *testing.T) {
	defer func() { lazyVeto = true }()
	rs := NewRuleset(nil)
	y := "title: vetoed\nlogsource: {product: test}\ndetection:\n  s:\n    Image|endswith: '\\longimagename.exe'\n" +
		"  f1:\n    Image|startswith: 'C:\\Windows\\'\n  f2:\n    - ParentImage|contains: '\\Tools\\'\n    - User: 'svc'\n" +
		"  condition: s and not f1 and not f2\n"
	if rs.AddFile("v.yml", []byte(y)) != 1 {
		t.Fatalf("%v", rs.Errors)
	}
	events := []MapEvent{
		{"Image": `D:\x\LongImageName.exe`},
		{"Image": `c:\windows\LongImageName.exe`},
		{"Image": `D:\x\LongImageName.exe`, "ParentImage": `d:\tools\p.exe`},
		{"Image": `D:\x\LongImageName.exe`, "User": `SVC`},
		{"Image": `D:\x\LongImageName.exe`, "User": `svc2`},
	}
	want := []int{1, 0, 0, 0, 1}
	matchBothWays(t, "lazy veto", rs, events, want, func(on bool) { lazyVeto = on })
	lazyVeto = true
	e := NewEngine(rs)
	ln := e.route(func() *scratch { sc := e.pool.Get().(*scratch); sc.reset(events[0]); return sc }())
	if n := len(ln.check[0].veto); n != 3 {
		t.Errorf("lazy veto: %d veto literals checked on candidacy, want 3", n)
	}
}

// rulesetOf loads rules, one YAML text each, failing the test on any error.
func rulesetOf(t *testing.T, rules ...string) *Ruleset {
	t.Helper()
	rs := NewRuleset(nil)
	for i, y := range rules {
		if rs.AddFile(itoa(i)+".yml", []byte(y)) != 1 {
			t.Fatalf("%v", rs.Errors)
		}
	}
	return rs
}

// matchBothWays builds an engine of rs with a switch off and on (set) and
// checks that each event matches what evaluating every rule matches, and
// want[i] rules for events[i].
func matchBothWays(t *testing.T, name string, rs *Ruleset, events []MapEvent, want []int, set func(on bool)) {
	t.Helper()
	for _, on := range []bool{false, true} {
		set(on)
		e := NewEngine(rs)
		for i, ev := range events {
			got := matchIDs(e.Match(ev, nil))
			if d := cmp.Diff(bruteMatch(e, ev), got); d != "" {
				t.Errorf("%s %v, %v: indexed and brute-force matches differ:\n%s", name, on, ev, d)
			}
			if len(got) != want[i] {
				t.Errorf("%s %v, %v: %d matches (%v), want %d", name, on, ev, len(got), got, want[i])
			}
		}
	}
}
