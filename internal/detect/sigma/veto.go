package sigma

// Vetoes: literals whose presence proves a rule false.
//
// Many rules are "selection and not filter", where the selection's witness
// is common in benign events (`Image|endswith: \svchost.exe`) and the
// filter names the benign case (`Image|startswith: C:\Windows\System32\`).
// Such a rule is a candidate for most events that carry the common literal
// and is then evaluated only to find the filter true. A filter made of one
// plain field condition is proven true by any of its literals occurring
// with its anchoring, so the lane indexes those literals too (as "veto"
// patterns, verified in full on a hit) and a candidate whose veto literal
// occurred is dropped without evaluation. Rules with no witness at all
// (`not known_extension and not 1 of filter_*`) are dropped the same way.
//
// Soundness: a veto atom (field f, literal l, anchor a) of a rule comes
// from a negated conjunct `not X` of the rule's top-level AND, where X is
// true whenever some value of f, lower-cased, holds l anchored as a: X is a
// selection with a branch of exactly one field condition whose matcher
// (or set/automaton entry) is that plain, case-insensitive string test, or
// an OR of such parts. Then the hit makes X true, `not X` false, and the
// AND false.

// maxVetoAtoms bounds the veto literals of one rule: a rule with huge
// filter lists would add many patterns to scan for little gain.
var maxVetoAtoms = 32

// vetoMaxScore is the witness score above which a rule gets no vetoes: a
// rule with a selective witness is rarely a candidate, and its veto
// literals would only add patterns to the scans.
var vetoMaxScore = 12

// weakWitness reports whether the rule's witness is missing or scores at
// most vetoMaxScore: such a rule is often a candidate, so its vetoes are
// indexed.
func (d *detection) weakWitness() bool { return d.witness == nil || d.wscore <= vetoMaxScore }

// useVeto switches veto literals (benchmarks comparing with and without,
// and the differential test, change it).
var useVeto = true

// slotVeto is the patRef slot of a veto literal; its rule field is then
// the lane's veto id.
const slotVeto = 4

// vetoLit is one veto literal of a lane, with what a hit must satisfy.
type vetoLit struct {
	lit    string // lower-case, the whole literal
	anchor strKind
}

// vetoAtoms returns the literals that prove d's condition false, at most
// maxVetoAtoms of them (nil when there are none).
func (d *detection) vetoAtoms() []atom {
	var out []atom
	var walk func(c *condNode)
	walk = func(c *condNode) {
		switch c.op {
		case opAnd:
			for _, k := range c.kids {
				walk(k)
			}
		case opNot:
			if as := d.proofAtoms(c.kids[0], 0); len(as) > 0 && len(out)+len(as) <= maxVetoAtoms {
				out = append(out, as...)
			}
		}
	}
	walk(d.cond)
	return out
}

// proofAtoms returns literals any of which, occurring as stated, makes n
// true (nil when it finds none).
func (d *detection) proofAtoms(n *condNode, depth int) []atom {
	if depth > 16 {
		return nil
	}
	switch n.op {
	case opIdent:
		var out []atom
		for _, br := range d.sels[n.sel].branches {
			// A branch is true when all its conditions are: only a
			// branch of one condition is proven by one literal.
			if len(br) == 1 {
				out = append(out, br[0].proofAtoms()...)
			}
		}
		return out
	case opOr:
		var out []atom
		for _, k := range n.kids {
			out = append(out, d.proofAtoms(k, depth+1)...)
		}
		return out
	}
	return nil
}

// proofAtoms returns the literals of fc any of which, found in a value of
// one of fc's fields (lower-cased, anchored as stated), makes fc true. Only
// the plain "any of these strings" form qualifies: no all, no neq, no
// exists test, no keyword search, no case-sensitive matcher.
func (fc *fieldCond) proofAtoms() []atom {
	if fc.exists >= 0 || fc.neq || fc.all || fc.keyword || len(fc.groups) != 1 {
		return nil
	}
	var lits []atom
	for lit := range fc.set {
		if lit != "" {
			lits = append(lits, atom{lit: lit, anchor: skExact})
		}
	}
	if ga := fc.gac; ga != nil {
		for pid, lit := range ga.pats {
			a := ga.anchors[pid]
			var anchor strKind
			switch {
			case a&(1<<skContains) != 0:
				anchor = skContains
			case a&(1<<skPrefix) != 0:
				anchor = skPrefix
			case a&(1<<skSuffix) != 0:
				anchor = skSuffix
			case a&(1<<skExact) != 0:
				anchor = skExact
			default:
				continue
			}
			lits = append(lits, atom{lit: lit, anchor: anchor})
		}
	}
	for i := range fc.groups[0] {
		m := &fc.groups[0][i]
		if m.kind != mString || m.cased || m.lit == "" {
			continue
		}
		switch m.sk {
		case skExact, skPrefix, skSuffix, skContains:
			lits = append(lits, atom{lit: m.lit, anchor: m.sk})
		}
	}
	var out []atom
	for _, f := range fc.fields {
		for _, a := range lits {
			a.field = f
			out = append(out, a)
		}
	}
	return out
}

// vetoHit verifies a veto pattern's hit ending at end in v (the scanned
// form of the value): the whole literal must be there, anchored.
func (ln *lane) vetoHit(id int32, end int32, v string) bool {
	vl := &ln.vlits[id]
	e := int(end)
	s := e - len(vl.lit)
	if s < 0 {
		return false
	}
	switch vl.anchor {
	case skPrefix:
		if s != 0 {
			return false
		}
	case skSuffix:
		if e != len(v) {
			return false
		}
	case skExact:
		if s != 0 || e != len(v) {
			return false
		}
	}
	return equalFoldLower(v[s:e], vl.lit)
}

// vetoed reports whether one of a candidate's veto literals occurred in
// this event.
func (sc *scratch) vetoed(ids []int32, cgen uint32) bool {
	for _, id := range ids {
		if sc.vstamp[id] == cgen {
			return true
		}
	}
	return false
}
