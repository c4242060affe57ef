package sigma

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wideParts are the pieces the wide-literal tests build literals and values
// from: ASCII letters and dashes, the Unicode dashes windash substitutes,
// Cyrillic and Greek look-alikes of Latin letters (upper and lower case),
// the Kelvin sign (upper case, lower-cases to ASCII 'k'), 'İ' (lower-cases
// to a rune of another length) and a lone continuation byte.
var wideParts = []string{"a", "B", "c", "k", "K", "i", "-", "/", " ", "x",
	"\u2013", "\u2014", "\u2015", "\u02c6", "К", "к", "с", "ϲ", "\u212A", "İ", "é", "É", "\x80"}

func wideLiteral(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(4) {
		b.WriteString(wideParts[r.IntN(len(wideParts))])
	}
	return b.String()
}

// TestWideLiteralSplit checks the separate index of literals with a byte
// >= 0x80 (litIndex.wide): rules whose literals mix Unicode look-alikes,
// ASCII and case, with every anchoring, against values that are pure ASCII
// or not, must match exactly what brute-force evaluation matches, whether
// the fields get automata or gram indexes, and with the split off.
func TestWideLiteralSplit(t *testing.T) {
	defer func() { splitWide, gramIndexThreshold = true, defaultGramIndexThreshold }()
	r := rand.New(rand.NewPCG(41, 43))
	rs := NewRuleset(nil)
	mods := []string{"contains", "startswith", "endswith", ""}
	for i := range 300 {
		field := "CommandLine"
		mod := mods[r.IntN(len(mods))]
		if mod != "" {
			mod = "|" + mod
		}
		sel := fmt.Sprintf("    %s%s: %q\n", field, mod, wideLiteral(r))
		if r.IntN(3) == 0 {
			sel += fmt.Sprintf("    %s|contains: %q\n", field, wideLiteral(r))
		}
		rule := fmt.Sprintf("title: w%d\nlogsource: {product: test}\ndetection:\n  s:\n%s  condition: s\n", i, sel)
		if rs.AddFile(fmt.Sprintf("w%d.yml", i), []byte(rule)) != 1 {
			t.Fatalf("rule %d %q: %v", i, rule, rs.Errors)
		}
	}
	var events []MapEvent
	for range 4000 {
		var b strings.Builder
		ascii := r.IntN(2) == 0
		for range r.IntN(12) {
			p := wideParts[r.IntN(len(wideParts))]
			if ascii && !isASCII(p) {
				continue
			}
			b.WriteString(p)
		}
		events = append(events, MapEvent{"CommandLine": b.String()})
	}
	for _, v := range []struct {
		name      string
		split     bool
		threshold int
	}{{"split_ac", true, defaultGramIndexThreshold}, {"split_grams", true, 0}, {"joined_ac", false, defaultGramIndexThreshold}, {"joined_grams", false, 0}} {
		t.Run(v.name, func(t *testing.T) {
			splitWide, gramIndexThreshold = v.split, v.threshold
			e := NewEngine(rs)
			hits, asciiHits, wide := 0, 0, false
			for i, ev := range events {
				got := matchIDs(e.Match(ev, nil))
				if d := cmp.Diff(bruteMatch(e, ev), got); d != "" {
					t.Fatalf("event %d %q: indexed and brute-force matches differ (-brute +indexed):\n%s", i, ev["CommandLine"], d)
				}
				hits += len(got)
				if isASCII(ev["CommandLine"].(string)) {
					asciiHits += len(got)
				}
			}
			for _, ln := range *e.lanes.Load() {
				for _, lf := range ln.fields {
					for _, li := range []*litIndex{lf.contains, lf.anchored} {
						wide = wide || (li != nil && li.wide != nil)
					}
				}
			}
			if wide != v.split {
				t.Errorf("wide index built: %v, want %v", wide, v.split)
			}
			if hits == asciiHits || asciiHits == 0 {
				t.Errorf("%d matches, %d on ASCII values: both kinds of value must match for the check to prove anything", hits, asciiHits)
			}
			t.Logf("%d matches, %d on ASCII values", hits, asciiHits)
		})
	}
}
