package mcpsec

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// matcher is one branch of a family's pattern with the literals of which at
// least one must occur in any match. Running a branch only when one of its
// literals is present (a strings.Contains, vectorized) skips almost all regexp
// work on benign text: a family of forty alternatives costs forty substring
// checks instead of one forty-way NFA simulation.
type matcher struct {
	anchors []string // nil: no required literal could be derived; always run
	ids     []int32  // anchors as literal ids of the shared automaton
	idx     int      // index among all branches, for the per-text active set
	re      *regexp.Regexp
}

// splitPattern compiles each top-level alternative of pattern separately
// with its required literals.
func splitPattern(pattern string) []matcher {
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic("mcpsec: bad pattern: " + err.Error())
	}
	branches := []*syntax.Regexp{tree}
	if tree.Op == syntax.OpAlternate {
		branches = tree.Sub
	}
	out := make([]matcher, 0, len(branches))
	for _, b := range branches {
		out = append(out, matcher{anchors: requiredLiterals(b), re: regexp.MustCompile(b.String())})
	}
	return out
}

// requiredLiterals returns a set of strings at least one of which occurs in
// every match of re, or nil when no such set is known.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return []string{strings.ToLower(string(re.Rune))}
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		// Runs of children that match a small exact set of strings are
		// multiplied out ("a(?:i|ssistant): " → "ai: ", "assistant: "),
		// so anchors are as long and selective as the pattern allows.
		var best []string
		bestLen := 0
		consider := func(set []string) {
			if set != nil && minLen(set) > bestLen {
				best, bestLen = set, minLen(set)
			}
		}
		cur := []string{""}
		for _, s := range re.Sub {
			if ex := exactSet(s); ex != nil && len(cur)*len(ex) <= 64 {
				next := make([]string, 0, len(cur)*len(ex))
				for _, a := range cur {
					for _, b := range ex {
						next = append(next, a+b)
					}
				}
				cur = next
				continue
			}
			consider(cur)
			cur = []string{""}
			consider(requiredLiterals(s))
			if ex := exactSet(s); ex != nil {
				cur = ex
			}
		}
		consider(cur)
		return best
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			set := requiredLiterals(s)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		return all
	}
	return nil
}

// exactSet returns the strings re matches when that is a small finite set.
func exactSet(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpEmptyMatch:
		return []string{""}
	case syntax.OpCapture:
		return exactSet(re.Sub[0])
	case syntax.OpQuest:
		if in := exactSet(re.Sub[0]); in != nil {
			return append(in, "")
		}
	case syntax.OpAlternate:
		var all []string
		for _, s := range re.Sub {
			in := exactSet(s)
			if in == nil || len(all)+len(in) > 64 {
				return nil
			}
			all = append(all, in...)
		}
		return all
	case syntax.OpConcat:
		cur := []string{""}
		for _, s := range re.Sub {
			in := exactSet(s)
			if in == nil || len(cur)*len(in) > 64 {
				return nil
			}
			next := make([]string, 0, len(cur)*len(in))
			for _, a := range cur {
				for _, b := range in {
					next = append(next, a+b)
				}
			}
			cur = next
		}
		return cur
	case syntax.OpCharClass:
		// Families run on normalized text, where all whitespace is one
		// space: \s matches exactly " " there.
		if isSpaceClass(re.Rune) {
			return []string{" "}
		}
		// Small classes such as [,:] or [ce].
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) >= 8 {
					return nil
				}
				out = append(out, string(r))
			}
		}
		return out
	}
	return nil
}

func minLen(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// findAll runs the branches whose anchors occur in text (per the literal
// set found by the shared automaton) and returns up to limit match spans.
func (f *compiled) findAll(text string, active bitset, toks func() []span, limit int) [][]int {
	if f.sig == sigImperative {
		return findImperatives(text, toks(), limit)
	}
	if f.words != nil {
		return f.words.find(text, toks(), limit)
	}
	var out [][]int
	for _, m := range f.parts {
		if m.ids != nil && !active.has(m.idx) {
			continue
		}
		out = append(out, m.re.FindAllStringIndex(text, limit-len(out))...)
		if len(out) >= limit {
			break
		}
	}
	return out
}

// literals is the automaton over every anchor of every family and branch.
var literals *ahoCorasick

// buildLiterals assigns literal ids to all anchors and builds the automaton.
func buildLiterals(fs []*compiled) {
	index := map[string]int32{}
	var lits []string
	idsOf := func(anchors []string) []int32 {
		if anchors == nil {
			return nil
		}
		ids := make([]int32, 0, len(anchors))
		for _, a := range anchors {
			id, ok := index[a]
			if !ok {
				id = int32(len(lits))
				index[a] = id
				lits = append(lits, a)
			}
			ids = append(ids, id)
		}
		return ids
	}
	nparts := 0
	for _, f := range fs {
		f.ids = idsOf(f.anchors)
		for i := range f.parts {
			f.parts[i].ids = idsOf(f.parts[i].anchors)
			f.parts[i].idx = nparts
			nparts++
		}
	}
	literals = newAhoCorasick(lits)
	numParts = nparts
	partsOf = make([][]int, len(lits))
	for _, f := range fs {
		for _, m := range f.parts {
			for _, id := range m.ids {
				partsOf[id] = append(partsOf[id], m.idx)
			}
		}
	}
}

var (
	numParts int
	partsOf  [][]int // literal id → branches anchored on it
)

// activeParts returns the branches that one of the present literals anchors.
func activeParts(ids []int32) bitset {
	b := make(bitset, (numParts+63)/64)
	for _, id := range ids {
		for _, p := range partsOf[id] {
			b.set(p)
		}
	}
	return b
}

// isSpaceClass reports the class \s ([\t\n\f\r ]).
func isSpaceClass(r []rune) bool {
	want := []rune{'\t', '\n', '\f', '\r', ' ', ' '}
	if len(r) != len(want) {
		return false
	}
	for i := range r {
		if r[i] != want[i] {
			return false
		}
	}
	return true
}
