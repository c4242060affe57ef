package sigma

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Engine evaluates events against a fixed set of compiled rules. It is safe
// for concurrent use; per-event working memory is pooled.
type Engine struct {
	rs     *Ruleset
	rules  []*Rule
	router *router
	maxSel int

	mu    sync.Mutex // serializes lane construction
	lanes atomic.Pointer[map[string]*lane]
	cids  uint32 // lane fields numbered so far (under mu)
	pool  sync.Pool
}

// NewEngine builds an engine over rs.Rules, with rs.Filters applied. Lanes
// (the rules and indexes for one kind of event) are built on first use.
func NewEngine(rs *Ruleset) *Engine {
	e := &Engine{rs: rs, rules: applyFilters(rs.Rules, rs.Filters), router: rs.router}
	for _, r := range e.rules {
		if n := len(r.det.sels); n > e.maxSel {
			e.maxSel = n
		}
	}
	m := map[string]*lane{}
	e.lanes.Store(&m)
	nf := len(rs.fields.names)
	e.pool.New = func() any {
		return &scratch{
			names:  rs.fields.names[:nf:nf],
			stamp:  make([]uint32, nf),
			spans:  make([]span, nf),
			memo:   make([]int8, e.maxSel),
			counts: make([]uint8, len(e.router.rules)),
			rfield: make([]int16, len(e.router.rules)),
		}
	}
	return e
}

// Stats describe the rules behind an engine.
type Stats struct {
	Rules     int // rules loaded
	Witnessed int // rules indexed by a required literal
	Always    int // rules evaluated for every event of their logsource
	Lanes     int // lanes built so far
}

// Stats reports rule and index counts.
func (e *Engine) Stats() Stats {
	s := Stats{Rules: len(e.rules), Lanes: len(*e.lanes.Load())}
	for _, r := range e.rules {
		if r.det.witness != nil {
			s.Witnessed++
		} else {
			s.Always++
		}
	}
	return s
}

// Match appends to dst the rules that match ev, routed by the event's
// logsource, in rule load order. It allocates only for matches.
func (e *Engine) Match(ev Event, dst []Match) []Match {
	sc := e.pool.Get().(*scratch)
	sc.reset(ev)
	ln := e.route(sc)
	dst = e.matchLane(ln, sc, dst)
	sc.ev = nil
	e.pool.Put(sc)
	return dst
}

// MatchLogsource is Match with the logsource given instead of derived from
// the event: only rules whose logsource keys all equal ls's (or are empty)
// are evaluated.
func (e *Engine) MatchLogsource(ev Event, ls Logsource, dst []Match) []Match {
	sc := e.pool.Get().(*scratch)
	sc.reset(ev)
	// Lane keys: 'L' + logsource text here, 'R' + routing entry ids in
	// route, so the two kinds never collide.
	sc.key = append(sc.key[:0], 'L')
	sc.key = append(sc.key, strings.ToLower(ls.Product)...)
	sc.key = append(sc.key, '|')
	sc.key = append(sc.key, strings.ToLower(ls.Category)...)
	sc.key = append(sc.key, '|')
	sc.key = append(sc.key, strings.ToLower(ls.Service)...)
	ln := (*e.lanes.Load())[string(sc.key)]
	if ln == nil {
		ln = e.buildLane(string(sc.key), func(r *Rule) bool { return r.Logsource.covers(ls) })
	}
	dst = e.matchLane(ln, sc, dst)
	sc.ev = nil
	e.pool.Put(sc)
	return dst
}

// route finds (or builds) the lane for the event's logsource.
func (e *Engine) route(sc *scratch) *lane {
	matched := e.router.match(sc)
	sc.key = append(sc.key[:0], 'R')
	for _, i := range matched {
		sc.key = append(sc.key, byte(i), byte(i>>8))
	}
	if ln := (*e.lanes.Load())[string(sc.key)]; ln != nil {
		return ln
	}
	var prods, cats, svcs []string
	for _, i := range matched {
		rr := e.router.rules[i]
		if rr.ls.Product != "" {
			prods = append(prods, rr.ls.Product)
		}
		if rr.ls.Category != "" {
			cats = append(cats, rr.ls.Category)
		}
		if rr.ls.Service != "" {
			svcs = append(svcs, rr.ls.Service)
		}
	}
	unrouted := len(matched) == 0
	all := e.rs.opts.Logsources.Unrouted != UnroutedNone
	has := func(list []string, v string) bool {
		if v == "" {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	return e.buildLane(string(sc.key), func(r *Rule) bool {
		if unrouted {
			return all
		}
		return has(prods, r.Logsource.Product) && has(cats, r.Logsource.Category) && has(svcs, r.Logsource.Service)
	})
}

// lane is the set of rules one kind of event can match, with the witness
// index over them.
type lane struct {
	rules    []*Rule
	need     []uint8 // per rule: the witness slots that must occur (1 or 3)
	always   []int32
	fields   []laneField
	fieldIdx map[string]int // event field name -> index in fields
	dotted   []int          // fields whose name has a dot (may be nested)
	// vlits are the lane's veto literals (see veto.go), by veto id;
	// veto lists, per rule, the ids any of which proves it false.
	vlits []vetoLit
	veto  [][]int32
	// check holds, per rule, what is checked on its candidacy before it
	// is evaluated (see laneCheckOf).
	check []laneCheck
}

type laneField struct {
	field int
	cid   uint32 // identifies the lane field in scan caches; unique per engine
	// contains holds the contains-literals, scanned over whole values;
	// nil when none.
	contains *litIndex
	// anchored holds the anchored literals (prefix, suffix, exact),
	// scanned over a value's first prefixEnd and last suffixLen bytes only.
	anchored  *litIndex
	prefixEnd int
	suffixLen int
}

// litIndex finds a set of literals in values: an automaton when it is
// small, a gram index (see gramIndex) when the automaton would not stay in
// cache.
//
// Literals with a byte >= 0x80 (Unicode look-alikes: "ˆ", "―", "–" in
// command lines) are indexed apart, in wide, and scanned only in values
// that are not pure ASCII: the scans fold ASCII case only and an ASCII
// value lower-cases to ASCII, so none of its bytes can equal a byte >=
// 0x80. Most values are ASCII, and CommandLine's 167 literals at 3,000
// SigmaHQ rules, mostly such one-character look-alikes, made a 110 KiB
// automaton every command line went through.
type litIndex struct {
	ac   *acMatcher
	g    *gramIndex
	refs patRefs
	wide *litIndex // the literals with a byte >= 0x80; nil when none
}

// splitWide switches the separate index of non-ASCII literals (a variable
// only so benchmarks can compare with and without).
var splitWide = true

func newLitIndex(pats []string, refs [][]patRef, anchored bool) *litIndex {
	if len(pats) == 0 {
		return nil
	}
	li := &litIndex{}
	if splitWide {
		var narrow, wide []string
		var nrefs, wrefs [][]patRef
		for i, p := range pats {
			if isASCII(p) {
				narrow, nrefs = append(narrow, p), append(nrefs, refs[i])
			} else {
				wide, wrefs = append(wide, p), append(wrefs, refs[i])
			}
		}
		if len(wide) > 0 {
			li.wide = &litIndex{}
			li.wide.index(wide, wrefs, anchored)
			pats, refs = narrow, nrefs
		}
	}
	li.index(pats, refs, anchored)
	return li
}

// index builds li's automaton or gram index over pats (none when pats is
// empty, as for a set of only wide literals).
func (li *litIndex) index(pats []string, refs [][]patRef, anchored bool) {
	if len(pats) > 0 {
		li.ac, li.g = indexPatternsFor(pats, anchored)
		li.refs = flatRefs(refs)
	}
}

// patRefs holds the references of a set's patterns in one array, pattern
// by pattern: one allocation a hit reads contiguously, not a slice header
// and a separate array per pattern.
type patRefs struct {
	all []patRef
	off []int32 // pattern i's references are all[off[i]:off[i+1]]
}

func flatRefs(refs [][]patRef) patRefs {
	r := patRefs{off: make([]int32, 0, len(refs)+1)}
	for _, rs := range refs {
		r.off = append(r.off, int32(len(r.all)))
		r.all = append(r.all, rs...)
	}
	r.off = append(r.off, int32(len(r.all)))
	return r
}

// of returns pattern pid's references.
func (r patRefs) of(pid int32) []patRef { return r.all[r.off[pid]:r.off[pid+1]] }

// scan finds the literals in v[from:to]; ascii tells whether the value
// (as the event has it) is pure ASCII, so the wide literals cannot occur.
func (li *litIndex) scan(sc *scratch, ln *lane, v string, ascii bool, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	if li.g != nil {
		cands = sc.scanGrams(ln, li.g, li.refs, v, from, to, cstamp, cgen, cands)
	} else if li.ac != nil {
		cands = sc.scanRangeIDs(ln, li.ac, nil, li.refs, v, from, to, cstamp, cgen, cands)
	}
	if li.wide != nil && !ascii {
		cands = li.wide.scan(sc, ln, v, false, from, to, cstamp, cgen, cands)
	}
	return cands
}

// patRef ties an automaton pattern to a rule. The pattern is the last
// min(len, maxPatternLen) bytes of the witness literal, whose full length
// is llen: a shorter pattern keeps the automaton small and cache-resident,
// literal tails are more distinctive than heads ("c:\windows\..."), and
// anchoring is still checked exactly against the literal's end.
type patRef struct {
	rule   int32
	anchor strKind
	llen   int32
	slot   uint8 // 1: the rule's first witness, 2: its second
}

// splitAnchored and secondWitness switch the two index refinements (see
// buildLane and detection.witnesses); only benchmarks comparing the index
// with and without them change them.
var splitAnchored, secondWitness = true, true

// maxPatternLen caps automaton patterns. Literals are necessary conditions,
// so a part of one still is; candidates are verified in full anyway.
const maxPatternLen = 12

// indexedPattern is the part of a literal an automaton indexes: its last
// maxPatternLen bytes.
func indexedPattern(lit string) string {
	return lit[max(0, len(lit)-maxPatternLen):]
}

func (e *Engine) buildLane(key string, include func(*Rule) bool) *lane {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ln := (*e.lanes.Load())[key]; ln != nil {
		return ln
	}
	ln := &lane{}
	// Per field, contains-literals and anchored ones go to separate
	// automata: anchored literals can only occur in a value's first
	// prefixEnd or last suffixLen bytes, so their automaton scans those
	// windows instead of the whole value.
	type patSet struct {
		ids  map[string]int32
		pats []string
		refs [][]patRef
	}
	type fieldPats struct {
		sets      [2]patSet // 0: contains, 1: anchored
		prefixEnd int
		suffixLen int
	}
	byField := map[int]*fieldPats{}
	var order []int
	// add indexes atom a for the rule (or veto id) in ref.
	add := func(a atom, ref patRef) {
		fp := byField[a.field]
		if fp == nil {
			fp = &fieldPats{}
			for k := range fp.sets {
				fp.sets[k].ids = map[string]int32{}
			}
			byField[a.field] = fp
			order = append(order, a.field)
		}
		pat := indexedPattern(a.lit)
		ps := &fp.sets[0]
		switch anchor := a.anchor; {
		case !splitAnchored:
		case anchor == skPrefix:
			ps = &fp.sets[1]
			fp.prefixEnd = max(fp.prefixEnd, len(a.lit))
		case anchor == skSuffix || anchor == skExact:
			ps = &fp.sets[1]
			fp.suffixLen = max(fp.suffixLen, len(pat))
		}
		id, ok := ps.ids[pat]
		if !ok {
			id = int32(len(ps.pats))
			ps.ids[pat] = id
			ps.pats = append(ps.pats, pat)
			ps.refs = append(ps.refs, nil)
		}
		ref.anchor, ref.llen = a.anchor, int32(len(a.lit))
		ps.refs[id] = append(ps.refs[id], ref)
	}
	var vetoAtoms [][]atom // by lane rule
	for _, r := range e.rules {
		if !include(r) {
			continue
		}
		ri := int32(len(ln.rules))
		ln.rules = append(ln.rules, r)
		if useVeto {
			var as []atom
			if r.det.weakWitness() || lazyVeto {
				as = r.det.vetoAtoms()
			}
			vetoAtoms = append(vetoAtoms, as)
		}
		w1, w2, lazy := laneWitnesses(r.det)
		ln.check = append(ln.check, laneCheckOf(r.det, lazy))
		if w1 == nil {
			ln.always = append(ln.always, ri)
			ln.need = append(ln.need, 0)
			continue
		}
		need := uint8(1)
		if w2 != nil {
			need = 3
		}
		ln.need = append(ln.need, need)
		for i, a := range append(w1[:len(w1):len(w1)], w2...) {
			slot := uint8(1)
			if i >= len(w1) {
				slot = 2
			}
			add(a, patRef{rule: ri, slot: slot})
		}
	}
	// Veto literals are indexed only where they add no scanning window or
	// field: on a field the lane indexes already, an anchored literal
	// that fits the field's prefix or suffix window (a pattern more in
	// that set), a contains literal only when its pattern is in the
	// contains set already. Indexing every veto literal (1,985 at 3,000
	// rules, widening the Image windows to the whole value and adding
	// four fields) cost more scanning than it saved evaluating.
	ln.veto = make([][]int32, len(ln.rules))
	vetoIDs := map[atom]int32{}
	for ri, as := range vetoAtoms {
		var vs []int32
		var lazy []atom
		weak := ln.rules[ri].det.weakWitness()
		for _, a := range as {
			id, ok := vetoIDs[a]
			if !ok && !weak {
				// A strong rule's veto literals are only checked
				// on candidacy, or found where a weak rule's are.
				lazy = append(lazy, a)
				continue
			}
			if !ok {
				id = -1
				if fp := byField[a.field]; fp != nil {
					pat := indexedPattern(a.lit)
					var fits bool
					switch {
					case !splitAnchored || a.anchor == skContains:
						_, fits = fp.sets[0].ids[pat]
					case a.anchor == skPrefix:
						fits = len(a.lit) <= fp.prefixEnd
					default:
						fits = len(pat) <= fp.suffixLen
					}
					if fits { // so add widens no window
						id = int32(len(ln.vlits))
						ln.vlits = append(ln.vlits, vetoLit{lit: a.lit, anchor: a.anchor})
						add(a, patRef{rule: id, slot: slotVeto})
					}
				}
				vetoIDs[a] = id
			}
			if id >= 0 && !slices.Contains(vs, id) {
				vs = append(vs, id)
			} else if id < 0 {
				lazy = append(lazy, a)
			}
		}
		ln.veto[ri] = vs
		if lazyVeto && len(lazy) > 0 {
			// Any one of them proves the rule false, so a prefix
			// of the list is as sound as the list.
			ln.check[ri].veto = lazy[:min(len(lazy), maxLazyVeto)]
		}
	}
	sort.Ints(order)
	ln.fieldIdx = map[string]int{}
	for _, f := range order {
		fp := byField[f]
		name := e.rs.fields.names[f]
		ln.fieldIdx[name] = len(ln.fields)
		if strings.IndexByte(name, '.') >= 0 {
			ln.dotted = append(ln.dotted, len(ln.fields))
		}
		e.cids++
		lf := laneField{field: f, cid: e.cids, prefixEnd: fp.prefixEnd, suffixLen: fp.suffixLen,
			contains: newLitIndex(fp.sets[0].pats, fp.sets[0].refs, false), anchored: newLitIndex(fp.sets[1].pats, fp.sets[1].refs, splitAnchored)}
		ln.fields = append(ln.fields, lf)
	}
	old := *e.lanes.Load()
	next := make(map[string]*lane, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = ln
	e.lanes.Store(&next)
	return ln
}

func (e *Engine) matchLane(ln *lane, sc *scratch, dst []Match) []Match {
	if len(ln.rules) == 0 {
		return dst
	}
	if cap(sc.cstamp) < len(ln.rules) {
		sc.cstamp = make([]uint32, len(ln.rules)+len(ln.rules)/2)
		sc.cmask = make([]uint8, len(sc.cstamp))
		sc.cgen = 0
		clear(sc.vstamp)
	}
	if len(sc.vstamp) < len(ln.vlits) {
		sc.vstamp = make([]uint32, len(ln.vlits)+len(ln.vlits)/2)
	}
	sc.cgen++
	if sc.cgen == 0 {
		clear(sc.cstamp)
		clear(sc.vstamp)
		sc.cgen = 1
	}
	cstamp, cgen := sc.cstamp, sc.cgen
	cands := sc.cands[:0]
	if me, ok := sc.ev.(MapEvent); ok && len(me) < len(ln.fields) {
		// Fewer event fields than indexed fields: walk the event instead
		// of looking up every indexed field.
		sc.fgen++
		if sc.fgen == 0 || len(sc.fstamp) < len(ln.fields) {
			sc.fstamp = make([]uint32, max(len(ln.fields), 2*len(sc.fstamp)))
			sc.fgen = 1
		}
		nested := false
		for k, raw := range me {
			if fi, ok := ln.fieldIdx[k]; ok {
				lf := &ln.fields[fi]
				sc.fstamp[fi] = sc.fgen
				if sc.stamp[lf.field] != sc.gen {
					sc.set(lf.field, raw)
				}
				cands = sc.scan(ln, lf, sc.values(lf.field), cstamp, cgen, cands)
			}
			if _, ok := raw.(map[string]any); ok {
				nested = true
			}
		}
		if nested {
			for _, fi := range ln.dotted {
				if sc.fstamp[fi] != sc.fgen {
					lf := &ln.fields[fi]
					cands = sc.scan(ln, lf, sc.values(lf.field), cstamp, cgen, cands)
				}
			}
		}
	} else {
		for fi := range ln.fields {
			lf := &ln.fields[fi]
			cands = sc.scan(ln, lf, sc.values(lf.field), cstamp, cgen, cands)
		}
	}
	for _, ri := range ln.always {
		cands = append(cands, ri)
	}
	sc.cands = cands
	if len(cands) == 0 {
		return dst
	}
	start := len(dst)
	order := sc.order[:0]
	for _, ri := range cands {
		if vs := ln.veto[ri]; len(vs) > 0 && sc.vetoed(vs, cgen) {
			continue
		}
		if c := &ln.check[ri]; c.active() && !sc.passes(c) {
			continue
		}
		r := ln.rules[ri]
		d := r.det
		memo := sc.memo[:len(d.sels)]
		clear(memo)
		if sc.evalNode(d, d.cond, memo) {
			dst = append(dst, Match{Rule: r, Fields: sc.details(d, memo)})
			order = append(order, ri)
		}
	}
	sc.order = order
	// Candidates arrive in index order; report matches in rule order.
	found := dst[start:]
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && order[j] < order[j-1]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	return dst
}

// scan runs a lane field's automata over the field's values, marks the
// witness slots whose literal occurs, anchored as required, and appends
// the rules whose every slot is now marked. Short values go through the
// scratch's cache of scan results (see scanCache).
func (sc *scratch) scan(ln *lane, lf *laneField, vals []fval, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	for vi := range vals {
		fv := &vals[vi]
		if fv.null {
			continue
		}
		if useScanCache {
			cands = sc.scanCached(ln, lf, fv, cstamp, cgen, cands)
		} else {
			cands = sc.scanValue(ln, lf, fv, cstamp, cgen, cands)
		}
	}
	return cands
}

// useScanCache switches the cache of scan results (benchmarks comparing
// with and without it change it).
var useScanCache = true

// scanValue scans one (non-null) value.
func (sc *scratch) scanValue(ln *lane, lf *laneField, fv *fval, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	// The automata fold ASCII case themselves; only non-ASCII text
	// needs lower-casing first.
	v, ascii := fv.str, fv.isASCII()
	if !ascii {
		v = sc.lowOf(fv)
	}
	if lf.contains != nil {
		cands = lf.contains.scan(sc, ln, v, ascii, 0, len(v), cstamp, cgen, cands)
	}
	an := lf.anchored
	if an == nil {
		return cands
	}
	if from := len(v) - lf.suffixLen; from <= lf.prefixEnd {
		cands = an.scan(sc, ln, v, ascii, 0, len(v), cstamp, cgen, cands)
	} else {
		if lf.prefixEnd > 0 {
			cands = an.scan(sc, ln, v, ascii, 0, lf.prefixEnd, cstamp, cgen, cands)
		}
		if lf.suffixLen > 0 {
			cands = an.scan(sc, ln, v, ascii, from, len(v), cstamp, cgen, cands)
		}
	}
	return cands
}

// scanRangeIDs runs one automaton over v[from:to], from the root state;
// its pattern i is pattern ids[i] of refs (or i when ids is nil).
// Positions stay absolute, so anchors are checked against the whole value.
func (sc *scratch) scanRangeIDs(ln *lane, ac *acMatcher, ids []int32, refs patRefs, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	next, class := ac.next, &ac.class
	row := int32(0)
	for i := from; i < to; i++ {
		row = next[row+int32(class[v[i]])]
		if row >= 0 {
			continue
		}
		row = ^row
		for t := ac.term[row/ac.nclass]; t >= 0; t = ac.dict[t] {
			for _, pid := range ac.own[t] {
				if ids != nil {
					pid = ids[pid]
				}
				cands = sc.hit(ln, refs.of(pid), int32(i+1), v, cstamp, cgen, cands)
			}
		}
	}
	return cands
}

// hit records that a pattern occurs ending at end in the scanned value v:
// each rule referencing it gets the witness slot marked when the anchor
// holds, and becomes a candidate once all its slots are; a veto reference
// marks its veto when the whole literal is there, anchored.
func (sc *scratch) hit(ln *lane, refs []patRef, end int32, v string, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	if sc.rec {
		return sc.hitRecorded(ln, refs, end, v, cstamp, cgen, cands)
	}
	cmask, vlen := sc.cmask, len(v)
	for _, ref := range refs {
		if ref.slot == slotVeto {
			if sc.vstamp[ref.rule] != cgen && ln.vetoHit(ref.rule, end, v) {
				sc.vstamp[ref.rule] = cgen
			}
			continue
		}
		if cstamp[ref.rule] != cgen {
			cstamp[ref.rule] = cgen
			cmask[ref.rule] = 0
		} else if cmask[ref.rule]&ref.slot != 0 {
			continue
		}
		if !ref.anchored(end, vlen) {
			continue
		}
		m := cmask[ref.rule] | ref.slot
		cmask[ref.rule] = m
		if m == ln.need[ref.rule] {
			cands = append(cands, ref.rule)
		}
	}
	return cands
}

// hitRecorded is hit while a scan is recorded for the cache: every slot
// the value marks is recorded, even when an earlier value of the event
// marked it already.
func (sc *scratch) hitRecorded(ln *lane, refs []patRef, end int32, v string, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	cmask, vlen := sc.cmask, len(v)
	for _, ref := range refs {
		if ref.slot == slotVeto {
			if ln.vetoHit(ref.rule, end, v) {
				sc.record(ref.rule, slotVeto)
				sc.vstamp[ref.rule] = cgen
			}
			continue
		}
		if !ref.anchored(end, vlen) {
			continue
		}
		sc.record(ref.rule, ref.slot)
		if cstamp[ref.rule] != cgen {
			cstamp[ref.rule] = cgen
			cmask[ref.rule] = 0
		}
		if m := cmask[ref.rule]; m&ref.slot == 0 {
			m |= ref.slot
			cmask[ref.rule] = m
			if m == ln.need[ref.rule] {
				cands = append(cands, ref.rule)
			}
		}
	}
	return cands
}

// anchored reports whether a pattern occurrence ending at end, in a value
// of length vlen, is where the literal's anchor requires (the pattern ends
// where the literal ends).
func (ref *patRef) anchored(end int32, vlen int) bool {
	switch ref.anchor {
	case skPrefix:
		return end == ref.llen
	case skSuffix:
		return int(end) == vlen
	case skExact:
		return end == ref.llen && int(end) == vlen
	}
	return end >= ref.llen
}

func (sc *scratch) evalNode(d *detection, n *condNode, memo []int8) bool {
	switch n.op {
	case opIdent:
		return sc.evalSel(d, n.sel, memo)
	case opAnd:
		for _, k := range n.kids {
			if !sc.evalNode(d, k, memo) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if sc.evalNode(d, k, memo) {
				return true
			}
		}
		return false
	case opNot:
		return !sc.evalNode(d, n.kids[0], memo)
	}
	return false
}

func (sc *scratch) evalSel(d *detection, i int, memo []int8) bool {
	switch memo[i] {
	case 1:
		return true
	case -1:
		return false
	}
	res := false
	for _, br := range d.sels[i].branches {
		ok := true
		for _, fc := range br {
			if !fc.eval(sc) {
				ok = false
				break
			}
		}
		if ok {
			res = true
			break
		}
	}
	if res {
		memo[i] = 1
	} else {
		memo[i] = -1
	}
	return res
}

// details lists the fields of the selections that evaluated true outside a
// negation.
func (sc *scratch) details(d *detection, memo []int8) []MatchedField {
	var out []MatchedField
	positive := d.pos
	for i, s := range d.sels {
		if memo[i] != 1 || !positive[i] {
			continue
		}
		for _, br := range s.branches {
			ok := true
			for _, fc := range br {
				if !fc.eval(sc) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			for _, fc := range br {
				mf := MatchedField{Selection: s.name, Field: fc.name}
				for _, f := range fc.fields {
					if vals := sc.values(f); len(vals) > 0 || (fc.exists == 1 && sc.present(f)) {
						mf.Field = sc.names[f]
						if len(vals) > 0 {
							mf.Value = vals[0].raw
						}
						break
					}
				}
				out = append(out, mf)
			}
			break
		}
	}
	return out
}

// positive reports, per selection, whether it appears outside any negation.
func (d *detection) positive() []bool {
	p := make([]bool, len(d.sels))
	var walk func(n *condNode, neg bool)
	walk = func(n *condNode, neg bool) {
		switch n.op {
		case opIdent:
			if !neg {
				p[n.sel] = true
			}
		case opNot:
			walk(n.kids[0], !neg)
		default:
			for _, k := range n.kids {
				walk(k, neg)
			}
		}
	}
	walk(d.cond, false)
	return p
}

// router assigns logsources to events from an index over the routing
// table's field values.
type router struct {
	rules  []routeRule
	fields []int
	exact  []map[string][]int32 // per fields[i]: lower-cased value -> rule ids
	// asWritten maps each configured spelling to the same ids as its
	// lower-cased form: events usually carry the canonical spelling, so
	// most lookups need no lower-casing.
	asWritten []map[string][]int32
	prefix    [][]routePrefix // per fields[i]
}

type routeRule struct {
	ls     Logsource
	nconds uint8
}

type routePrefix struct {
	p    string
	rule int32
}

func newRouter(cfg *LogsourceConfig, ft *fieldTable) *router {
	rt := &router{}
	slot := map[int]int{}
	for _, lr := range cfg.Rules {
		if len(lr.When) == 0 || len(lr.When) > 255 {
			continue
		}
		ri := len(rt.rules)
		rt.rules = append(rt.rules, routeRule{
			ls:     Logsource{Product: strings.ToLower(lr.Product), Category: strings.ToLower(lr.Category), Service: strings.ToLower(lr.Service)},
			nconds: uint8(len(lr.When)),
		})
		for field, vals := range lr.When {
			id := ft.intern(field)
			si, ok := slot[id]
			if !ok {
				si = len(rt.fields)
				slot[id] = si
				rt.fields = append(rt.fields, id)
				rt.exact = append(rt.exact, map[string][]int32{})
				rt.asWritten = append(rt.asWritten, map[string][]int32{})
				rt.prefix = append(rt.prefix, nil)
			}
			seen := map[string]bool{}
			for _, v := range vals {
				if !strings.HasSuffix(v, "*") {
					rt.asWritten[si][v] = nil // filled below
				}
				v = strings.ToLower(v)
				if seen[v] {
					continue
				}
				seen[v] = true
				if strings.HasSuffix(v, "*") {
					rt.prefix[si] = append(rt.prefix[si], routePrefix{p: strings.TrimSuffix(v, "*"), rule: int32(ri)})
				} else {
					rt.exact[si][v] = append(rt.exact[si][v], int32(ri))
				}
			}
		}
	}
	for si := range rt.asWritten {
		for v := range rt.asWritten[si] {
			rt.asWritten[si][v] = rt.exact[si][strings.ToLower(v)]
		}
	}
	return rt
}

// match returns the ids of the routing rules the event satisfies, sorted.
func (rt *router) match(sc *scratch) []int32 {
	counts := sc.counts
	touched := sc.touched[:0]
	for si, f := range rt.fields {
		vals := sc.values(f)
		for vi := range vals {
			v := &vals[vi]
			if v.null {
				continue
			}
			mark := func(ri int32) {
				// A condition counts once even when several values of a
				// list match it.
				if sc.rfield[ri] == int16(si+1) {
					return
				}
				sc.rfield[ri] = int16(si + 1)
				if counts[ri] == 0 {
					touched = append(touched, ri)
				}
				counts[ri]++
			}
			ids, ok := rt.asWritten[si][v.str]
			if !ok {
				ids = rt.exact[si][sc.lowOf(v)]
			}
			for _, ri := range ids {
				mark(ri)
			}
			for _, p := range rt.prefix[si] {
				if p.p == "" || strings.HasPrefix(sc.lowOf(v), p.p) {
					mark(p.rule)
				}
			}
		}
	}
	matched := sc.matched[:0]
	for _, ri := range touched {
		if counts[ri] >= rt.rules[ri].nconds {
			matched = append(matched, ri)
		}
		counts[ri] = 0
		sc.rfield[ri] = 0
	}
	for i := 1; i < len(matched); i++ { // few entries: insertion sort, no allocation
		for j := i; j > 0 && matched[j] < matched[j-1]; j-- {
			matched[j], matched[j-1] = matched[j-1], matched[j]
		}
	}
	sc.touched, sc.matched = touched, matched
	return matched
}

// span locates one field's prepared values in scratch.vals.
type span struct {
	start, end int32
	present    bool
}

// scratch is the per-event working memory: the field cache (values fetched
// and lower-cased once), candidate marks and selection memo.
type scratch struct {
	ev      Event
	flat    MapEvent // ev, when it is a MapEvent without nested maps
	names   []string
	gen     uint32
	stamp   []uint32
	spans   []span
	vals    []fval
	arena   []byte
	memo    []int8
	cstamp  []uint32
	cmask   []uint8  // per rule: witness slots seen this generation
	vstamp  []uint32 // per veto id: cgen when its literal occurred
	cgen    uint32
	cands   []int32
	key     []byte
	counts  []uint8
	touched []int32
	matched []int32
	rfield  []int16
	order   []int32
	fstamp  []uint32 // lane fields scanned for this event
	fgen    uint32
	pooled  []fval
	cache   *scanCache // allocated on first use
	rec     bool       // a scan is being recorded for the cache
	recHits []uint32   // the marks recorded
}

func (sc *scratch) reset(ev Event) {
	sc.ev = ev
	// A MapEvent without nested maps (what our parsers and Windows JSON
	// give) answers every name with one lookup: Get's dotted-path walk,
	// several lookups for each absent dotted name, cannot find more.
	sc.flat = nil
	if me, ok := ev.(MapEvent); ok {
		sc.flat = me
		for _, v := range me {
			if _, nested := v.(map[string]any); nested {
				sc.flat = nil
				break
			}
		}
	}
	sc.gen++
	if sc.gen == 0 {
		clear(sc.stamp)
		sc.gen = 1
	}
	sc.vals = sc.vals[:0]
	sc.arena = sc.arena[:0]
}

// set caches a field's raw value fetched by the caller.
func (sc *scratch) set(id int, raw any) {
	sc.stamp[id] = sc.gen
	start := int32(len(sc.vals))
	sc.addValue(raw, 0)
	sc.spans[id] = span{start: start, end: int32(len(sc.vals)), present: true}
}

func (sc *scratch) load(id int) {
	sc.stamp[id] = sc.gen
	var raw any
	var ok bool
	if sc.flat != nil {
		raw, ok = sc.flat[sc.names[id]]
	} else {
		raw, ok = sc.ev.Get(sc.names[id])
	}
	start := int32(len(sc.vals))
	if ok {
		sc.addValue(raw, 0)
	}
	sc.spans[id] = span{start: start, end: int32(len(sc.vals)), present: ok}
}

// values returns the prepared values of a field (empty when absent).
func (sc *scratch) values(id int) []fval {
	if sc.stamp[id] != sc.gen {
		sc.load(id)
	}
	sp := sc.spans[id]
	return sc.vals[sp.start:sp.end:sp.end]
}

func (sc *scratch) present(id int) bool {
	if sc.stamp[id] != sc.gen {
		sc.load(id)
	}
	return sc.spans[id].present
}

// pool returns the values of several fields together.
func (sc *scratch) pool(ids []int) []fval {
	out := sc.pooled[:0]
	for _, id := range ids {
		out = append(out, sc.values(id)...)
	}
	sc.pooled = out
	return out
}

func (sc *scratch) addValue(raw any, depth int) {
	switch v := raw.(type) {
	case string:
		sc.vals = append(sc.vals, fval{raw: raw, str: v, isStr: true})
	case nil:
		sc.vals = append(sc.vals, fval{null: true})
	case bool:
		s := "false"
		if v {
			s = "true"
		}
		sc.vals = append(sc.vals, fval{raw: raw, str: s, low: s, lowOK: true, ascii: 1, isBool: true})
	case int:
		sc.addInt(raw, int64(v))
	case int64:
		sc.addInt(raw, v)
	case int32:
		sc.addInt(raw, int64(v))
	case int16:
		sc.addInt(raw, int64(v))
	case int8:
		sc.addInt(raw, int64(v))
	case uint:
		sc.addUint(raw, uint64(v))
	case uint64:
		sc.addUint(raw, v)
	case uint32:
		sc.addInt(raw, int64(v))
	case uint16:
		sc.addInt(raw, int64(v))
	case uint8:
		sc.addInt(raw, int64(v))
	case float64:
		sc.addFloat(raw, v)
	case float32:
		sc.addFloat(raw, float64(v))
	case json.Number:
		f, err := v.Float64()
		sc.vals = append(sc.vals, fval{raw: raw, str: string(v), num: f, isNum: err == nil})
	case []string:
		for _, s := range v {
			sc.vals = append(sc.vals, fval{raw: s, str: s, isStr: true})
		}
	case []any:
		if depth > 0 {
			return
		}
		for _, x := range v {
			sc.addValue(x, depth+1)
		}
	case map[string]any:
		// Objects have no scalar value; only exists sees them.
	case fmt.Stringer:
		s := v.String()
		sc.vals = append(sc.vals, fval{raw: s, str: s, isStr: true})
	default:
		s := fmt.Sprint(v)
		sc.vals = append(sc.vals, fval{raw: s, str: s, isStr: true})
	}
}

func (sc *scratch) addInt(raw any, n int64) {
	start := len(sc.arena)
	sc.arena = strconv.AppendInt(sc.arena, n, 10)
	s := unsafe.String(&sc.arena[start], len(sc.arena)-start)
	sc.vals = append(sc.vals, fval{raw: raw, str: s, low: s, lowOK: true, ascii: 1, num: float64(n), isNum: true})
}

func (sc *scratch) addUint(raw any, n uint64) {
	start := len(sc.arena)
	sc.arena = strconv.AppendUint(sc.arena, n, 10)
	s := unsafe.String(&sc.arena[start], len(sc.arena)-start)
	sc.vals = append(sc.vals, fval{raw: raw, str: s, low: s, lowOK: true, ascii: 1, num: float64(n), isNum: true})
}

func (sc *scratch) addFloat(raw any, f float64) {
	start := len(sc.arena)
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		sc.arena = strconv.AppendInt(sc.arena, int64(f), 10)
	} else {
		sc.arena = strconv.AppendFloat(sc.arena, f, 'f', -1, 64)
	}
	s := unsafe.String(&sc.arena[start], len(sc.arena)-start)
	sc.vals = append(sc.vals, fval{raw: raw, str: s, low: s, lowOK: true, ascii: 1, num: f, isNum: true})
}

// lowOf returns the lower-cased form of v, computing it on first use.
func (sc *scratch) lowOf(v *fval) string {
	if !v.lowOK {
		v.low = sc.lower(v.str)
		v.lowOK = true
	}
	return v.low
}

// isASCII reports whether s has no byte >= 0x80, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lower lower-cases s into the arena (rune by rune, as strings.ToLower
// does); strings without upper-case ASCII letters or non-ASCII bytes are
// returned as they are.
func (sc *scratch) lower(s string) string {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		return s
	}
	start := len(sc.arena)
	ascii := true
	for j := i; j < len(s); j++ {
		if s[j] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		sc.arena = append(sc.arena, s...)
		b := sc.arena[start+i:]
		for j, c := range b {
			if c-'A' < 26 {
				b[j] = c + 'a' - 'A'
			}
		}
	} else {
		sc.arena = append(sc.arena, s[:i]...)
		for j := i; j < len(s); {
			c := s[j]
			if c < utf8.RuneSelf {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				sc.arena = append(sc.arena, c)
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[j:])
			sc.arena = utf8.AppendRune(sc.arena, unicode.ToLower(r))
			j += n
		}
	}
	b := sc.arena[start:]
	return unsafe.String(&b[0], len(b))
}
