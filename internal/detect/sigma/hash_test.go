package sigma

import "testing"

func TestRuleHash(t *testing.T) {
	hash := func(file, doc string) string {
		t.Helper()
		rs := NewRuleset(nil)
		if rs.AddFile(file, []byte(doc)) != 1 {
			t.Fatalf("%s did not compile: %v", doc, rs.Errors)
		}
		if h := rs.Rules[0].Hash; len(h) != 24 {
			t.Fatalf("hash %q", h)
		}
		return rs.Rules[0].Hash
	}
	base := hash("a.yml", "title: t\nlogsource: {product: p}\ndetection:\n  sel: {f: x}\n  condition: sel\n")
	for _, tc := range []struct {
		name, file, doc string
		same            bool
	}{
		{"other file, comments, block style", "b/c.yml", "# c\ntitle: t # title\nlogsource:\n  product: p\ndetection:\n  sel:\n    f: 'x'\n  condition: sel\n", true},
		{"value changed", "a.yml", "title: t\nlogsource: {product: p}\ndetection:\n  sel: {f: y}\n  condition: sel\n", false},
		{"number instead of string", "a.yml", "title: t\nlogsource: {product: p}\ndetection:\n  sel: {f: 1}\n  condition: sel\n", false},
		{"modifier added", "a.yml", "title: t\nlogsource: {product: p}\ndetection:\n  sel: {f|contains: x}\n  condition: sel\n", false},
		{"logsource changed", "a.yml", "title: t\nlogsource: {product: q}\ndetection:\n  sel: {f: x}\n  condition: sel\n", false},
	} {
		if got := hash(tc.file, tc.doc); (got == base) != tc.same {
			t.Errorf("%s: hash %s vs %s, want same=%v", tc.name, got, base, tc.same)
		}
	}
	// A global document merged in is part of the rule.
	g := hash("g.yml", "action: global\nlogsource: {product: p}\n---\ntitle: t\ndetection:\n  sel: {f: x}\n  condition: sel\n")
	if g != base {
		t.Errorf("rule assembled from a global document: %s, want %s", g, base)
	}
}
