package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRuleFile feeds arbitrary bytes to the rule loader: it must never
// panic, and whatever compiles must evaluate without panicking.
func FuzzRuleFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("title: t\nlogsource: {product: test}\ndetection:\n  s:\n    a|re|i: '(x+)+y'\n  condition: s\n"))
	f.Add([]byte("action: global\ntitle: g\nlogsource: {product: test}\n---\ndetection: {k: [a, b], condition: k}\n"))
	f.Add([]byte("title: t\nlogsource: {product: test}\ndetection:\n  s:\n    a|windash|base64offset|contains: '-x'\n    b|cidr: ::1/128\n    c|fieldref: a\n  condition: s\n"))
	gen := newEventGen(1)
	events := []MapEvent{MapEvent(gen.processCreation()), MapEvent(gen.firewall()), {"a": "x-y", "b": "::1", "c": nil, "message": "a b"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := NewRuleset(&Options{Placeholders: map[string][]string{"p": {"x*"}}})
		rs.AddFile("fuzz.yml", data)
		for _, e := range rs.Errors {
			if e.Reason == "" {
				t.Fatalf("error without a reason: %+v", e)
			}
		}
		if len(rs.Rules) == 0 {
			return
		}
		e := NewEngine(rs)
		for _, ev := range events {
			e.Match(ev, nil)
			e.MatchLogsource(ev, Logsource{Product: "test"}, nil)
		}
	})
}

// FuzzCondition checks the condition grammar: parsing never panics, and a
// parsed condition resolves against identifiers or fails cleanly.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"selection", "sel and not filter", "1 of sel_* and not all of filter_*",
		"(a or b) and (c or not (d and e))", "all of them", "any of them",
		"sel | count() by x > 3", "not not not a", "((((a))))", "1 of", "a and", "a or or b",
	} {
		f.Add(s)
	}
	names := []string{"a", "b", "c", "d", "e", "sel", "sel_1", "filter", "filter_x", "_hidden"}
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseCondition(s)
		if err != nil {
			return
		}
		if e == nil {
			t.Fatal("nil condition without error")
		}
		// Round trip: the printed form parses to the same printed form.
		again, err := parseCondition(e.String())
		if err != nil {
			t.Fatalf("printed condition %q does not parse: %v", e.String(), err)
		}
		if again.String() != e.String() {
			t.Fatalf("round trip changed %q to %q", e.String(), again.String())
		}
		n, err := resolve(e, names, index)
		if err != nil {
			return
		}
		d := &detection{sels: make([]selection, len(names)), cond: n}
		d.positive()
		sc := &scratch{}
		memo := make([]int8, len(names))
		for i := range memo {
			memo[i] = int8(1 - 2*(i%2)) // pre-decided selections: no events needed
		}
		sc.evalNode(d, n, memo)
	})
}

// FuzzRegexPrefilter checks that a regex matcher's prefilters (minimum
// length, mined literals, class runs) never reject a value the regex
// matches: the matcher agrees with the regex engine on every input.
func FuzzRegexPrefilter(f *testing.F) {
	f.Add(`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, "x "+strings.Repeat("ab", 32)+" 0123456789abcdef", "")
	f.Add(`(?i)[k]{4}`, "kKk\u212a", "i")
	f.Add(`(?i)inv[o0]ke-(expression|webrequest)`, "INV0KE-WebRequest", "")
	f.Add(`\\[a-zA-Z]{8}\.tmp$`, `C:\x\abcdEFGH.tmp`, "m")
	f.Fuzz(func(t *testing.T, expr, value, flags string) {
		if len(expr) > 200 || len(flags) > 3 || strings.Trim(flags, "ims") != "" {
			return
		}
		m, err := compileRegex(expr, flags)
		if err != nil {
			return
		}
		sc := &scratch{}
		v := fval{raw: value, str: value, isStr: true}
		if got, want := m.match(&v, sc), m.re.MatchString(value); got != want {
			t.Fatalf("%s (flags %q) on %q: matcher %v, regex %v", expr, flags, value, got, want)
		}
	})
}
