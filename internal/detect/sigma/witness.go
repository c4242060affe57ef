package sigma

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// atom is one required literal: when a rule matches, at least one atom of its
// witness set occurs in the lower-cased value of its field, anchored as
// stated.
type atom struct {
	field  int
	lit    string // lower-cased, never empty
	anchor strKind
}

// wset is a witness: a set of atoms at least one of which must hold.
type wset struct {
	atoms []atom
	score int // higher is more selective
}

// lowSelectivity lists fields whose values repeat across most events of
// their logsource, so a literal on them makes a poor witness: it would make
// the rule a candidate for nearly every event.
var lowSelectivity = map[string]bool{
	"integritylevel": true, "initiated": true, "eventtype": true, "protocol": true,
	"logontype": true, "company": true, "product": true, "signed": true,
	"signaturestatus": true, "provider_name": true, "channel": true, "eventid": true,
	"destinationisipv6": true, "sourceisipv6": true, "elevatedtoken": true,
	"event.action": true, "event.outcome": true, "network.transport": true,
	"http.request.method": true, "cs-method": true, "action": true,
}

// commonFragments are path fragments found in most Windows events' paths
// and command lines (lower-case): as a substring, prefix or suffix they are
// long enough to look selective but make a rule a candidate for a large
// share of process events. An exact value equal to one is not penalized.
var commonFragments = map[string]bool{
	`c:\`: true, `\windows\`: true, `c:\windows\`: true, `\system32\`: true,
	`c:\windows\system32\`: true, `\windows\system32\`: true, `\syswow64\`: true,
	`\program files\`: true, `\program files (x86)\`: true, `c:\program files\`: true,
	`c:\program files (x86)\`: true, `\users\`: true, `c:\users\`: true,
	`\appdata\`: true, `\appdata\local\`: true, `\appdata\roaming\`: true,
	`.exe`: true, `.dll`: true, `.exe "`: true, `.exe"`: true,
}

func atomScore(a atom, names []string) int {
	s := len(a.lit)
	if lowSelectivity[strings.ToLower(names[a.field])] {
		s -= 12
	}
	if a.anchor != skExact && commonFragments[a.lit] {
		s -= 6
	}
	if a.lit == "true" || a.lit == "false" {
		s -= 6
	}
	switch a.anchor {
	case skExact:
		s += 8
	case skPrefix, skSuffix:
		s += 3
	}
	return s
}

func union(sets ...wset) wset {
	var out wset
	out.score = 1 << 30
	for _, s := range sets {
		out.atoms = append(out.atoms, s.atoms...)
		if s.score < out.score {
			out.score = s.score
		}
	}
	// Many alternatives each cost a little at lookup time.
	out.score -= len(out.atoms) / 64
	return out
}

// allConjuncts makes each value of a |all list a conjunct of its own, so
// the second witness can be another of the list's values (a variable only
// so benchmarks can compare).
var allConjuncts = true

// minSecondScore is the least score a second witness needs: a weak one
// would add scanning work (another field, common literals) for little
// pruning.
const minSecondScore = 3

// witnesses computes up to two witnesses from different conjuncts of the
// condition: a rule can match only if both hold, so requiring both before
// evaluating it prunes candidates that one common literal (an image name
// shared by many rules) lets through. The conjuncts are the kids of
// top-level ANDs and, for a selection of a single map, its field
// conditions.
func (d *detection) witnesses(names []string) (first, second wset, n int) {
	first, second, _, n = d.conjuncts(names)
	return first, second, n
}

// maxCheckAtoms bounds the literals of a witness checked on candidates
// (see detection.check): each is searched for in the event's value.
const maxCheckAtoms = 16

// conjuncts is witnesses that also returns the best witness of a third
// conjunct (or of a second one too weak to index), with at most
// maxCheckAtoms literals: the rule's check (see detection.check).
func (d *detection) conjuncts(names []string) (first, second, third wset, n int) {
	var conj []wset
	d.eachConjunct(func(fc *fieldCond) bool {
		if allConjuncts && fc.all && fc.exists < 0 && !fc.neq {
			// Each value of a |all list must hold: each is a conjunct
			// ("regsvr32" and ",dllentry", not only the better of the
			// two).
			for _, g := range fc.groups {
				if w, ok := fc.groupWitness(g, nil, nil, names); ok {
					conj = append(conj, w)
				}
			}
			return false
		}
		if w, ok := fc.witness(names); ok {
			conj = append(conj, w)
		}
		return false
	}, func(c *condNode) {
		if w, ok := d.witnessOf(c, names); ok {
			conj = append(conj, w)
		}
	})
	if len(conj) == 0 {
		return wset{}, wset{}, wset{}, 0
	}
	best := 0
	for i := range conj {
		if conj[i].score > conj[best].score {
			best = i
		}
	}
	next := -1
	for i := range conj {
		if i != best && conj[i].score >= minSecondScore && (next < 0 || conj[i].score > conj[next].score) {
			next = i
		}
	}
	ti := -1
	for i := range conj {
		if i != best && i != next && conj[i].score >= 1 && len(conj[i].atoms) <= maxCheckAtoms && (ti < 0 || conj[i].score > conj[ti].score) {
			ti = i
		}
	}
	if ti >= 0 {
		third = conj[ti]
	}
	if next < 0 {
		return conj[best], wset{}, third, 1
	}
	return conj[best], conj[next], third, 2
}

// regexConj finds a conjunct of the condition that is one regex on one
// field, preferring one with a required run of a character class, then the
// longest minimum match: its length and run checks are cheap necessary
// conditions (see laneCheck).
func (d *detection) regexConj() (f int, re *matcher) {
	d.eachConjunct(func(fc *fieldCond) bool {
		if fc.exists >= 0 || fc.neq || fc.keyword || len(fc.fields) != 1 || len(fc.groups) != 1 || len(fc.groups[0]) != 1 || fc.set != nil || fc.gac != nil {
			return false
		}
		m := &fc.groups[0][0]
		if m.kind != mRegex || (m.run == nil && m.num < 8) {
			return false
		}
		if re == nil || betterRegexCheck(m, re) {
			f, re = fc.fields[0], m
		}
		return false
	}, nil)
	return f, re
}

func betterRegexCheck(m, than *matcher) bool {
	if (m.run != nil) != (than.run != nil) {
		return m.run != nil
	}
	return m.num > than.num
}

// fieldEq finds a conjunct of the condition that compares two fields for
// equality (Image|fieldref: ParentImage): the values then have the same
// lower-cased text. It returns the two fields, or ok=false.
func (d *detection) fieldEq() (a, b int, ok bool) {
	d.eachConjunct(func(fc *fieldCond) bool {
		if fc.exists >= 0 || fc.neq || fc.keyword || len(fc.fields) != 1 || len(fc.groups) != 1 || len(fc.groups[0]) != 1 {
			return false
		}
		if m := &fc.groups[0][0]; m.kind == mFieldRef && m.sk == skExact {
			a, b, ok = fc.fields[0], m.ref, true
		}
		return ok
	}, nil)
	return a, b, ok
}

// eachConjunct calls f with every field condition that must hold for the
// condition to match: those of one-branch selections reached through AND
// nodes only. Any other node reached that way goes to other, when it is
// not nil. The walk stops when f returns true.
func (d *detection) eachConjunct(f func(fc *fieldCond) bool, other func(c *condNode)) {
	var walk func(c *condNode) bool
	walk = func(c *condNode) bool {
		switch {
		case c.op == opAnd:
			for _, k := range c.kids {
				if walk(k) {
					return true
				}
			}
		case c.op == opIdent && len(d.sels[c.sel].branches) == 1:
			for _, fc := range d.sels[c.sel].branches[0] {
				if f(fc) {
					return true
				}
			}
		default:
			if other != nil {
				other(c)
			}
		}
		return false
	}
	walk(d.cond)
}

// witnessOf computes a witness for a condition node, or ok=false when some
// way of matching needs no literal (negations, null tests, numeric ranges).
func (d *detection) witnessOf(n *condNode, names []string) (wset, bool) {
	switch n.op {
	case opIdent:
		return d.sels[n.sel].witness(names)
	case opOr:
		var parts []wset
		for _, k := range n.kids {
			w, ok := d.witnessOf(k, names)
			if !ok {
				return wset{}, false
			}
			parts = append(parts, w)
		}
		return union(parts...), true
	case opAnd:
		best, found := wset{}, false
		for _, k := range n.kids {
			if w, ok := d.witnessOf(k, names); ok && (!found || w.score > best.score) {
				best, found = w, true
			}
		}
		return best, found
	}
	return wset{}, false
}

func (s *selection) witness(names []string) (wset, bool) {
	var parts []wset
	for _, br := range s.branches {
		best, found := wset{}, false
		for _, fc := range br {
			if w, ok := fc.witness(names); ok && (!found || w.score > best.score) {
				best, found = w, true
			}
		}
		if !found {
			return wset{}, false
		}
		parts = append(parts, best)
	}
	return union(parts...), true
}

func (fc *fieldCond) witness(names []string) (wset, bool) {
	if fc.exists >= 0 || fc.neq {
		return wset{}, false
	}
	if fc.all {
		best, found := wset{}, false
		for _, g := range fc.groups {
			if w, ok := fc.groupWitness(g, nil, nil, names); ok && (!found || w.score > best.score) {
				best, found = w, true
			}
		}
		return best, found
	}
	return fc.groupWitness(fc.groups[0], fc.set, fc.gac, names)
}

func (fc *fieldCond) groupWitness(g []matcher, set map[string]struct{}, gac *groupAC, names []string) (wset, bool) {
	var lits []atom // field filled in below
	for lit := range set {
		if lit == "" {
			return wset{}, false
		}
		lits = append(lits, atom{lit: lit, anchor: skExact})
	}
	if gac != nil {
		for pid, lit := range gac.pats {
			// A literal used with several anchors is witnessed as a
			// substring, which every anchoring implies.
			anchor := skContains
			switch gac.anchors[pid] {
			case 1 << skExact:
				anchor = skExact
			case 1 << skPrefix:
				anchor = skPrefix
			case 1 << skSuffix:
				anchor = skSuffix
			}
			lits = append(lits, atom{lit: lit, anchor: anchor})
		}
	}
	for i := range g {
		as, ok := matcherAtoms(&g[i])
		if !ok {
			return wset{}, false
		}
		lits = append(lits, as...)
	}
	if len(lits) == 0 {
		return wset{}, false
	}
	out := wset{score: 1 << 30}
	for _, f := range fc.fields {
		for _, a := range lits {
			a.field = f
			out.atoms = append(out.atoms, a)
			if s := atomScore(a, names); s < out.score {
				out.score = s
			}
		}
	}
	out.score -= len(out.atoms) / 64
	return out, true
}

// matcherAtoms returns the literals one of which a value must contain to
// satisfy m.
func matcherAtoms(m *matcher) ([]atom, bool) {
	switch m.kind {
	case mString:
		switch m.sk {
		case skExact, skPrefix, skSuffix, skContains:
			if m.lit == "" {
				return nil, false
			}
			return []atom{{lit: strings.ToLower(m.lit), anchor: m.sk}}, true
		case skGlob:
			best, anchor := "", skContains
			for si, seg := range m.glob.segs {
				for pi, p := range seg.parts {
					if p.wild == 0 && len(p.s) > len(best) {
						best = p.s
						anchor = skContains
						if si == 0 && pi == 0 && !m.glob.lead {
							anchor = skPrefix
						}
					}
				}
			}
			if best == "" {
				return nil, false
			}
			return []atom{{lit: strings.ToLower(best), anchor: anchor}}, true
		}
		return nil, false
	case mNumEq, mBool:
		return []atom{{lit: m.lit, anchor: skExact}}, true
	case mRegex:
		lits := m.pre
		if len(lits) == 0 {
			return nil, false
		}
		out := make([]atom, 0, len(lits))
		for _, l := range lits {
			out = append(out, atom{lit: l, anchor: skContains})
		}
		return out, true
	}
	return nil, false
}

// maxRegexAlternatives bounds the literal set mined from one regex.
const maxRegexAlternatives = 16

// smallSet returns the lower-cased strings a literal or a small ASCII
// character class can match.
func smallSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false
		}
		return []string{strings.ToLower(string(re.Rune))}, true
	case syntax.OpCharClass:
		seen := map[rune]bool{}
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi >= 0x80 || hi-lo > maxRegexAlternatives {
				return nil, false
			}
			for r := lo; r <= hi; r++ {
				l := unicode.ToLower(r)
				if !seen[l] {
					seen[l] = true
					out = append(out, string(l))
					if len(out) > maxRegexAlternatives {
						return nil, false
					}
				}
			}
		}
		return out, len(out) > 0
	case syntax.OpCapture:
		return smallSet(re.Sub[0])
	}
	return nil, false
}

// regexLiterals returns lower-cased strings one of which every match of re
// contains (the codesearch idea, kept simple: literal runs, concatenations,
// alternations, captures and mandatory repetitions).
func regexLiterals(re *syntax.Regexp, depth int) ([]string, bool) {
	if depth > 20 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false
		}
		return []string{strings.ToLower(string(re.Rune))}, true
	case syntax.OpCapture:
		return regexLiterals(re.Sub[0], depth+1)
	case syntax.OpPlus:
		return regexLiterals(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexLiterals(re.Sub[0], depth+1)
		}
		return nil, false
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			l, ok := regexLiterals(s, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, len(out) > 0
	case syntax.OpConcat:
		var best []string
		bestScore := 0
		consider := func(l []string) {
			if len(l) == 0 {
				return
			}
			sc := 1 << 30
			for _, s := range l {
				if len(s) < sc {
					sc = len(s)
				}
			}
			if sc > bestScore || (sc == bestScore && len(l) < len(best)) {
				best, bestScore = l, sc
			}
		}
		// run is the set of strings one of which the adjacent small
		// elements seen so far spell (a cross product of literals and
		// small character classes).
		var run []string
		flush := func() {
			consider(run)
			run = nil
		}
		extend := func(elem []string) {
			if run == nil {
				run = elem
				return
			}
			if len(run)*len(elem) > maxRegexAlternatives {
				flush()
				run = elem
				return
			}
			next := make([]string, 0, len(run)*len(elem))
			for _, a := range run {
				for _, b := range elem {
					next = append(next, a+b)
				}
			}
			run = next
		}
		for _, s := range re.Sub {
			if elem, ok := smallSet(s); ok {
				extend(elem)
				continue
			}
			if (s.Op == syntax.OpPlus || (s.Op == syntax.OpRepeat && s.Min >= 1)) && len(s.Sub) == 1 {
				// The first repetition is adjacent to what precedes it.
				if elem, ok := smallSet(s.Sub[0]); ok {
					extend(elem)
					flush()
					continue
				}
			}
			flush()
			if l, ok := regexLiterals(s, depth+1); ok {
				consider(l)
			}
		}
		flush()
		return best, bestScore > 0
	}
	return nil, false
}

// lazyShort and dropBlank switch how buildLane indexes witnesses with
// short literals (variables only so benchmarks can compare):
//   - lazyShort: of a rule's two witnesses, one with a literal under four
//     bytes is not indexed but checked on the rule's candidacy (the other
//     witness made it a candidate): at 3,000 SigmaHQ rules most of the
//     process-creation CommandLine's short literals (` -p`, ` a `, `/f `,
//     `cmd`, ` -k` …) were such second witnesses, and short literals go
//     through an automaton that reads every byte of every command line
//     and reports every occurrence of these common pieces;
//   - dropBlank: a witness made only of one-byte whitespace literals (the
//     `\s` of a regex) occurs in nearly every command line, so it prunes
//     nothing and makes every space a reported hit: the rule is
//     evaluated as if it had no such witness.
var lazyShort, dropBlank = true, true

// useChecks switches the checks of a third conjunct's witness and of a
// field equality on candidates (see detection.check; a variable only so
// benchmarks can compare).
var useChecks = true

// laneCheck is a necessary condition of a rule checked on its candidacy,
// before evaluating it: one of atoms occurs (when atoms is not nil), and
// a value of field eqA equals one of field eqB (when eqA >= 0).
type laneCheck struct {
	atoms    []atom
	eqA, eqB int32
	// re, when set, is a regex that a value of field reF must match: the
	// value must be at least as long as its shortest match and hold
	// its required run (the checks matcher.match makes before running
	// the regex). SNAKE's `\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}` has no
	// literal to index, and evaluating it cost a cold walk of the rule
	// for every process event.
	re  *matcher
	reF int32
	// veto holds veto literals (see veto.go) not indexed by the lane:
	// one occurring proves the rule false.
	veto []atom
}

// lazyVeto switches the check of a rule's veto literals that the lane does
// not index (laneCheck.veto; a variable only so benchmarks can compare).
var lazyVeto = true

// maxLazyVeto bounds the veto literals checked on one candidate.
const maxLazyVeto = 32

// laneCheckOf returns the check buildLane gives a rule, which checks the
// witness laneWitnesses did not index.
func laneCheckOf(d *detection, lazy []atom) laneCheck {
	c := laneCheck{atoms: lazy, eqA: -1, eqB: -1}
	if useChecks {
		if c.atoms == nil {
			c.atoms = d.check
		}
		if d.eqA >= 0 {
			c.eqA, c.eqB = int32(d.eqA), int32(d.eqB)
		}
	}
	if regexChecks {
		if f, re := d.regexConj(); re != nil {
			c.re, c.reF = re, int32(f)
		}
	}
	return c
}

// regexChecks switches the regex checks of laneCheck (a variable only so
// benchmarks can compare).
var regexChecks = true

// active reports whether c checks anything.
func (c *laneCheck) active() bool {
	return c.atoms != nil || c.eqA >= 0 || c.re != nil || c.veto != nil
}

// passes reports whether the event satisfies c.
func (sc *scratch) passes(c *laneCheck) bool {
	if c.atoms != nil && !sc.occurs(c.atoms) {
		return false
	}
	if c.re != nil && !sc.regexMay(int(c.reF), c.re) {
		return false
	}
	if c.veto != nil && sc.occurs(c.veto) {
		return false
	}
	return c.eqA < 0 || sc.fieldsEqual(int(c.eqA), int(c.eqB))
}

// regexMay reports whether a value of field f passes re's length and run
// checks.
func (sc *scratch) regexMay(f int, re *matcher) bool {
	vals := sc.values(f)
	for i := range vals {
		v := &vals[i]
		if !v.null && len(v.str) >= int(re.num) && (re.run == nil || re.run.has(v.str)) {
			return true
		}
	}
	return false
}

// fieldsEqual reports whether a value of field a and one of b are equal
// lower-cased (a necessary condition of a|fieldref: b, cased or not).
func (sc *scratch) fieldsEqual(a, b int) bool {
	va, vb := sc.values(a), sc.values(b)
	for i := range va {
		x := &va[i]
		if x.null {
			continue
		}
		for j := range vb {
			y := &vb[j]
			if y.null {
				continue
			}
			if x.isASCII() && y.isASCII() {
				if len(x.str) == len(y.str) && equalFoldASCII(x.str, y.str) {
					return true
				}
				continue
			}
			if sc.lowOf(x) == sc.lowOf(y) {
				return true
			}
		}
	}
	return false
}

// equalFoldASCII compares two ASCII strings of the same length, folding
// case.
func equalFoldASCII(s, t string) bool {
	for i := 0; i < len(s); i++ {
		if foldByte[s[i]] != foldByte[t[i]] {
			return false
		}
	}
	return true
}

// laneWitnesses returns the witnesses buildLane indexes for d (w1 nil:
// none, the rule is always evaluated; w2 nil: one) and the witness to
// check on candidates instead (nil: none).
func laneWitnesses(d *detection) (w1, w2, check []atom) {
	w1, w2 = d.witness, d.witness2
	if dropBlank {
		if w2 != nil && blankAtoms(w2) {
			w2 = nil
		}
		if w1 != nil && blankAtoms(w1) {
			w1, w2 = w2, nil
		}
	}
	if lazyShort && w2 != nil {
		switch {
		case shortAtoms(w2):
			check, w2 = w2, nil
		case shortAtoms(w1):
			check, w1, w2 = w1, w2, nil
		}
	}
	return w1, w2, check
}

// shortAtoms reports whether some literal of as is under four bytes (not
// one a gram index can key).
func shortAtoms(as []atom) bool {
	for _, a := range as {
		if len(a.lit) < 4 {
			return true
		}
	}
	return false
}

// blankAtoms reports whether every literal of as is one whitespace byte.
func blankAtoms(as []atom) bool {
	for _, a := range as {
		if len(a.lit) != 1 || !asciiSpace(a.lit[0]) {
			return false
		}
	}
	return len(as) > 0
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// occurs reports whether one of as occurs in the event, anchored as
// stated: a witness checked on a candidate instead of indexed. Values are
// read as the scans read them (ASCII case folded, other text lower-cased).
func (sc *scratch) occurs(as []atom) bool {
	for i := range as {
		a := &as[i]
		vals := sc.values(a.field)
		for vi := range vals {
			fv := &vals[vi]
			if fv.null {
				continue
			}
			v := fv.str
			if !fv.isASCII() {
				v = sc.lowOf(fv)
			}
			if atomIn(v, a.lit, a.anchor) {
				return true
			}
		}
	}
	return false
}

// atomIn reports whether the lower-case literal lit occurs in v (ASCII
// case folded) with the anchoring of a witness atom.
func atomIn(v, lit string, anchor strKind) bool {
	n := len(lit)
	if n > len(v) {
		return false
	}
	switch anchor {
	case skExact:
		return n == len(v) && equalFoldLower(v, lit)
	case skPrefix:
		return equalFoldLower(v[:n], lit)
	case skSuffix:
		return equalFoldLower(v[len(v)-n:], lit)
	}
	c := lit[0]
	for i := 0; i+n <= len(v); i++ {
		if foldByte[v[i]] == c && equalFoldLower(v[i:i+n], lit) {
			return true
		}
	}
	return false
}
