package sigma

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gaissmai/bart"
	"go.yaml.in/yaml/v3"
)

// lineError is a compile error tied to a YAML line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

func errAt(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

// selection is one search identifier: branches are ORed, the conditions of a
// branch are ANDed.
type selection struct {
	name     string
	branches [][]*fieldCond
}

// detection is a rule's compiled detection section.
type detection struct {
	sels    []selection
	cond    *condNode
	witness []atom // nil: the rule has no witness and is always evaluated
	// witness2, when set, is a second witness from another conjunct:
	// the rule is evaluated only when both occur.
	witness2 []atom
	// wscore is the score of the more selective witness (see atomScore).
	wscore int
	// check is the witness of a third conjunct (or of a second one too
	// weak to index), checked on the rule's candidacy instead of
	// indexed; eqA and eqB (-1: none) are two fields a conjunct
	// requires equal (a fieldref), checked likewise. Rules without a
	// witness, such as "Image|fieldref: ParentImage", are then
	// evaluated only when the check passes.
	check    []atom
	eqA, eqB int
	pos      []bool // per selection: appears outside any negation
}

// compiler compiles one rule's detection using the ruleset's field table and
// options.
type compiler struct {
	rs       *Ruleset
	mapping  map[string][]string // field mapping applying to this rule
	mapped   bool
	unmapped map[string]bool
}

func (c *compiler) fieldIDs(name string) []int {
	targets := []string{name}
	if c.mapped {
		if t, ok := c.mapping[name]; ok {
			targets = t
		} else {
			c.unmapped[name] = true
		}
	}
	ids := make([]int, len(targets))
	for i, t := range targets {
		ids[i] = c.rs.fields.intern(t)
	}
	return ids
}

func (c *compiler) compileDetection(n *yaml.Node) (*detection, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "detection must be a map")
	}
	d := &detection{}
	index := map[string]int{}
	var names []string
	var conds []*yaml.Node
	var condKey *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "condition":
			condKey = k
			switch v.Kind {
			case yaml.ScalarNode:
				conds = append(conds, v)
			case yaml.SequenceNode:
				conds = append(conds, v.Content...)
			default:
				return nil, errAt(v, "condition must be a string or a list of strings")
			}
			continue
		case "timeframe":
			// Legacy aggregation window; meaningless without an
			// aggregation, which parseCondition rejects.
			continue
		}
		if _, dup := index[k.Value]; dup {
			return nil, errAt(k, "duplicate search identifier %q", k.Value)
		}
		sel, err := c.compileSelection(k.Value, v)
		if err != nil {
			return nil, err
		}
		index[k.Value] = len(d.sels)
		names = append(names, k.Value)
		d.sels = append(d.sels, sel)
	}
	if condKey == nil {
		return nil, errAt(n, "detection has no condition")
	}
	if len(conds) == 0 {
		return nil, errAt(condKey, "empty condition")
	}
	var roots []*condNode
	for _, cn := range conds {
		if cn.Kind != yaml.ScalarNode {
			return nil, errAt(cn, "condition must be a string")
		}
		e, err := parseCondition(cn.Value)
		if err != nil {
			return nil, errAt(cn, "condition: %v", err)
		}
		r, err := resolve(e, names, index)
		if err != nil {
			return nil, errAt(cn, "condition: %v", err)
		}
		roots = append(roots, r)
	}
	if len(roots) == 1 {
		d.cond = roots[0]
	} else {
		d.cond = &condNode{op: opOr, kids: roots}
	}
	d.pos = d.positive()
	d.eqA, d.eqB = -1, -1
	if a, b, ok := d.fieldEq(); ok {
		d.eqA, d.eqB = a, b
	}
	if w1, w2, w3, n := d.conjuncts(c.rs.fields.names); n > 0 {
		d.witness, d.wscore = w1.atoms, w1.score
		d.check = w3.atoms
		if n > 1 && secondWitness {
			d.witness2 = w2.atoms
			d.wscore = max(d.wscore, w2.score)
		}
	} else if ws, ok := d.witnessOf(d.cond, c.rs.fields.names); ok {
		d.witness, d.wscore = ws.atoms, ws.score
	}
	if packRules {
		d.pack()
	}
	return d, nil
}

func (c *compiler) compileSelection(name string, v *yaml.Node) (selection, error) {
	sel := selection{name: name}
	switch v.Kind {
	case yaml.MappingNode:
		br, err := c.compileMap(v)
		if err != nil {
			return sel, err
		}
		sel.branches = append(sel.branches, br)
	case yaml.SequenceNode:
		var keywords []*yaml.Node
		for _, item := range v.Content {
			switch item.Kind {
			case yaml.MappingNode:
				br, err := c.compileMap(item)
				if err != nil {
					return sel, err
				}
				sel.branches = append(sel.branches, br)
			case yaml.ScalarNode:
				keywords = append(keywords, item)
			default:
				return sel, errAt(item, "search identifier %q: list items must be maps or values", name)
			}
		}
		if len(keywords) > 0 {
			fc, err := c.compileFieldCond("", nil, keywords, v)
			if err != nil {
				return sel, err
			}
			sel.branches = append(sel.branches, []*fieldCond{fc})
		}
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return sel, errAt(v, "search identifier %q is empty", name)
		}
		fc, err := c.compileFieldCond("", nil, []*yaml.Node{v}, v)
		if err != nil {
			return sel, err
		}
		sel.branches = append(sel.branches, []*fieldCond{fc})
	default:
		return sel, errAt(v, "search identifier %q must be a map or a list", name)
	}
	if len(sel.branches) == 0 {
		return sel, errAt(v, "search identifier %q is empty", name)
	}
	return sel, nil
}

func (c *compiler) compileMap(m *yaml.Node) ([]*fieldCond, error) {
	if len(m.Content) == 0 {
		return nil, errAt(m, "empty map in detection")
	}
	var out []*fieldCond
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		parts := strings.Split(k.Value, "|")
		var vals []*yaml.Node
		switch v.Kind {
		case yaml.ScalarNode:
			vals = []*yaml.Node{v}
		case yaml.SequenceNode:
			if len(v.Content) == 0 {
				return nil, errAt(v, "field %q has an empty value list", parts[0])
			}
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, errAt(item, "field %q: values must be scalars", parts[0])
				}
			}
			vals = v.Content
		default:
			return nil, errAt(v, "field %q: value must be a scalar or a list of scalars", parts[0])
		}
		fc, err := c.compileFieldCond(parts[0], parts[1:], vals, k)
		if err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	return out, nil
}

// compileFieldCond compiles "field|mods: values". field "" is a keyword
// search over the configured keyword fields.
func (c *compiler) compileFieldCond(field string, mods []string, vals []*yaml.Node, at *yaml.Node) (*fieldCond, error) {
	fc := &fieldCond{name: field, exists: -1}
	if field == "" {
		fc.keyword = true
		fc.fields = c.rs.keywordIDs
		if len(fc.fields) == 0 {
			return nil, errAt(at, "keyword search needs at least one keyword field")
		}
	} else {
		fc.fields = c.fieldIDs(field)
	}
	var (
		strMode                              strKind = skExact
		strModes                             int
		isRe, isCIDR, isExists, isRef, cased bool
		reFlags                              string
		numOp                                string
		datePart                             string
		transforms                           []string
	)
	for _, m := range mods {
		transform, ok := knownModifiers[m]
		if !ok {
			switch m {
			case "minute", "hour", "day", "week", "month", "year":
				if datePart != "" {
					return nil, errAt(at, "modifiers %q and %q conflict", datePart, m)
				}
				datePart = m
				continue
			}
			return nil, errAt(at, "unknown modifier %q", m)
		}
		if transform {
			transforms = append(transforms, m)
			continue
		}
		switch m {
		case "contains":
			strMode, strModes = skContains, strModes+1
		case "startswith":
			strMode, strModes = skPrefix, strModes+1
		case "endswith":
			strMode, strModes = skSuffix, strModes+1
		case "all":
			fc.all = true
		case "re":
			isRe = true
		case "i", "m", "s":
			reFlags += m
		case "cidr":
			isCIDR = true
		case "exists":
			isExists = true
		case "fieldref":
			isRef = true
		case "cased":
			cased = true
		case "neq":
			fc.neq = true
		case "gt", "gte", "lt", "lte":
			if numOp != "" {
				return nil, errAt(at, "modifiers %q and %q conflict", numOp, m)
			}
			numOp = m
		}
	}
	if datePart != "" && (isRe || isCIDR || isExists || isRef || strModes > 0 || len(transforms) > 0 || fc.keyword) {
		return nil, errAt(at, "date part %q combines only with gt, gte, lt, lte and neq", datePart)
	}
	kinds := 0
	for _, b := range []bool{isRe, isCIDR, isExists, numOp != "" && datePart == ""} {
		if b {
			kinds++
		}
	}
	switch {
	case strModes > 1:
		return nil, errAt(at, "only one of contains, startswith, endswith may be used")
	case kinds > 1:
		return nil, errAt(at, "modifiers %s conflict", strings.Join(mods, "|"))
	case kinds == 1 && strModes > 0:
		return nil, errAt(at, "modifiers %s conflict", strings.Join(mods, "|"))
	case reFlags != "" && !isRe:
		return nil, errAt(at, "modifiers i, m, s apply only to re")
	case (isRe || isCIDR || isExists || numOp != "" || isRef) && len(transforms) > 0:
		return nil, errAt(at, "modifier %q cannot follow value transformations", transforms[0])
	case fc.keyword && (isExists || isRef):
		return nil, errAt(at, "keyword searches cannot use exists or fieldref")
	case fc.neq && fc.all:
		return nil, errAt(at, "modifiers neq and all conflict")
	}
	if fc.keyword && strMode == skExact {
		// Keywords are substring searches.
		strMode = skContains
	}
	if isExists {
		if len(vals) != 1 || vals[0].ShortTag() != "!!bool" {
			return nil, errAt(at, "exists needs one value, true or false")
		}
		if vals[0].Value == "true" || vals[0].Value == "True" || vals[0].Value == "TRUE" {
			fc.exists = 1
		} else {
			fc.exists = 0
		}
		return fc, nil
	}

	total := 0
	for _, vn := range vals {
		var group []matcher
		tag := vn.ShortTag()
		if len(vn.Value) > maxValueLen {
			return nil, errAt(vn, "value is %d bytes, limit %d", len(vn.Value), maxValueLen)
		}
		switch {
		case tag == "!!null":
			if isRe || isCIDR || numOp != "" || isRef || len(transforms) > 0 || strModes > 0 {
				return nil, errAt(vn, "null cannot be combined with modifiers")
			}
			group = append(group, matcher{kind: mNull, mext: noExt})
		case datePart != "":
			f, err := strconv.ParseFloat(strings.TrimSpace(vn.Value), 64)
			if err != nil {
				return nil, errAt(vn, "%s needs a number, got %q", datePart, vn.Value)
			}
			op := numOp
			if op == "" {
				op = "eq"
			}
			group = append(group, matcher{kind: mDatePart, num: f, lit: datePart, mext: extOf(mext{op: op})})
		case isRe:
			m, err := compileRegex(vn.Value, reFlags)
			if err != nil {
				return nil, errAt(vn, "%v", err)
			}
			group = append(group, m)
		case isCIDR:
			pfx, err := netip.ParsePrefix(strings.TrimSpace(vn.Value))
			if err != nil {
				return nil, errAt(vn, "cidr: %v", err)
			}
			t := new(bart.Lite)
			t.Insert(pfx.Masked())
			group = append(group, matcher{kind: mCIDR, lit: pfx.String(), mext: extOf(mext{cidr: t})})
		case numOp != "":
			f, err := strconv.ParseFloat(strings.TrimSpace(vn.Value), 64)
			if err != nil || math.IsNaN(f) {
				return nil, errAt(vn, "%s needs a number, got %q", numOp, vn.Value)
			}
			group = append(group, matcher{kind: mNumCmp, num: f, mext: extOf(mext{op: numOp})})
		case isRef:
			if vn.Value == "" {
				return nil, errAt(vn, "fieldref needs a field name")
			}
			ids := c.fieldIDs(vn.Value)
			for _, id := range ids {
				group = append(group, matcher{kind: mFieldRef, sk: strMode, cased: cased, mext: extOf(mext{ref: id, refNm: vn.Value})})
			}
		case (tag == "!!int" || tag == "!!float") && strModes == 0 && len(transforms) == 0 && !cased && !fc.keyword:
			f, err := strconv.ParseFloat(vn.Value, 64)
			if err != nil {
				if iv, ierr := strconv.ParseInt(vn.Value, 0, 64); ierr == nil {
					f = float64(iv)
				} else {
					return nil, errAt(vn, "bad number %q", vn.Value)
				}
			}
			group = append(group, matcher{kind: mNumEq, num: f, lit: strconv.FormatFloat(f, 'f', -1, 64), mext: noExt})
		case tag == "!!bool" && strModes == 0 && len(transforms) == 0 && !cased && !fc.keyword:
			b := strings.EqualFold(vn.Value, "true")
			group = append(group, matcher{kind: mBool, b: b, lit: strconv.FormatBool(b), mext: noExt})
		default:
			alts, err := c.transform(parseSigmaString(vn.Value), transforms, vn)
			if err != nil {
				return nil, err
			}
			for _, a := range alts {
				a = a.withStars(strMode == skContains || strMode == skSuffix, strMode == skContains || strMode == skPrefix)
				wild := 0
				size := 0
				for _, p := range a {
					if p.wild != 0 {
						wild++
					}
					size += len(p.s)
				}
				if wild > maxWildcards {
					return nil, errAt(vn, "value has %d wildcards, limit %d", wild, maxWildcards)
				}
				if size > maxValueLen {
					return nil, errAt(vn, "value expands to %d bytes, limit %d", size, maxValueLen)
				}
				if !cased {
					a = a.mapLiterals(strings.ToLower)
				}
				sk, lit, g := classify(a)
				group = append(group, matcher{kind: mString, cased: cased, sk: sk, lit: lit, mext: extOf(mext{glob: g})})
			}
		}
		total += len(group)
		if total > maxAlternatives {
			return nil, errAt(vn, "field %q expands to more than %d values", field, maxAlternatives)
		}
		if fc.all || len(fc.groups) == 0 {
			fc.groups = append(fc.groups, group)
		} else {
			fc.groups[0] = append(fc.groups[0], group...)
		}
	}
	if fc.all && len(fc.groups) == 1 && len(vals) == 1 {
		// "all" over one value is the value itself.
		fc.all = false
	}
	if !fc.all {
		fc.buildSet()
		fc.buildGroupAC()
	}
	return fc, nil
}

// minGroupAC is the number of substring/prefix/suffix literals on one field
// from which one automaton pass beats testing them one by one.
const minGroupAC = 8

// maxGroupACTable caps one group automaton's transition table, in entries.
const maxGroupACTable = 16 << 10

// buildGroupAC moves a long list of case-insensitive literal matchers into
// one automaton (rules with a hundred "contains" values on CommandLine are
// common).
func (fc *fieldCond) buildGroupAC() {
	g := fc.groups[0]
	use := func(m *matcher) bool {
		return m.kind == mString && !m.cased && m.lit != "" &&
			(m.sk == skContains || m.sk == skPrefix || m.sk == skSuffix || m.sk == skExact)
	}
	n := 0
	for i := range g {
		if use(&g[i]) {
			n++
		}
	}
	if n < minGroupAC {
		return
	}
	// Bound the dense table (states x byte classes): huge lists, such as
	// thousands of driver hashes, are witnessed literals anyway, so their
	// rule is rarely evaluated and the one-by-one test is cheap overall.
	size, classes := 0, map[byte]bool{}
	for i := range g {
		if use(&g[i]) {
			size += len(g[i].lit)
			for j := 0; j < len(g[i].lit); j++ {
				classes[g[i].lit[j]] = true
			}
		}
	}
	if (size+1)*(len(classes)+1) > maxGroupACTable {
		return
	}
	ga := &groupAC{}
	ids := map[string]int{}
	var pats []string
	rest := g[:0:0]
	for i := range g {
		m := &g[i]
		if !use(m) {
			rest = append(rest, *m)
			continue
		}
		id, ok := ids[m.lit]
		if !ok {
			id = len(pats)
			ids[m.lit] = id
			pats = append(pats, m.lit)
			ga.anchors = append(ga.anchors, 0)
		}
		ga.anchors[id] |= 1 << m.sk
	}
	ga.ac = buildAC(pats)
	ga.pats = pats
	ga.lens = make([]int32, len(pats))
	for i, p := range pats {
		ga.lens[i] = int32(len(p))
	}
	fc.gac = ga
	fc.groups[0] = rest
}

// groupAC matches many literals of one field condition in one pass.
type groupAC struct {
	ac      *acMatcher
	pats    []string
	anchors []uint8 // per pattern: bit set of strKind anchors it is used with
	lens    []int32
}

// match reports whether v (lower-cased, or ASCII) holds one of the
// literals with its anchoring.
func (ga *groupAC) match(v string) bool {
	ac := ga.ac
	next, class := ac.next, &ac.class
	row := int32(0)
	for i := 0; i < len(v); i++ {
		row = next[row+int32(class[v[i]])]
		if row >= 0 {
			continue
		}
		row = ^row
		end := int32(i + 1)
		for t := ac.term[row/ac.nclass]; t >= 0; t = ac.dict[t] {
			for _, pid := range ac.own[t] {
				a, l := ga.anchors[pid], ga.lens[pid]
				if a&(1<<skContains) != 0 ||
					(a&(1<<skPrefix) != 0 && end == l) ||
					(a&(1<<skSuffix) != 0 && int(end) == len(v)) ||
					(a&(1<<skExact) != 0 && end == l && int(end) == len(v)) {
					return true
				}
			}
		}
	}
	return false
}

// buildSet moves a long list of case-insensitive exact strings into a hash
// set.
func (fc *fieldCond) buildSet() {
	g := fc.groups[0]
	n := 0
	for i := range g {
		if g[i].kind == mString && g[i].sk == skExact && !g[i].cased {
			n++
		}
	}
	if n < 8 {
		return
	}
	fc.set = make(map[string]struct{}, n)
	rest := g[:0:0]
	for i := range g {
		if g[i].kind == mString && g[i].sk == skExact && !g[i].cased {
			fc.set[g[i].lit] = struct{}{}
			continue
		}
		rest = append(rest, g[i])
	}
	fc.groups[0] = rest
}

// transform applies the value-transforming modifiers in order.
func (c *compiler) transform(v sstr, mods []string, at *yaml.Node) ([]sstr, error) {
	alts := []sstr{v}
	for _, m := range mods {
		var next []sstr
		for _, a := range alts {
			switch m {
			case "expand":
				out, err := c.expand(a)
				if err != nil {
					return nil, errAt(at, "%v", err)
				}
				next = append(next, out...)
			case "windash":
				variants := []sstr{nil}
				for _, p := range a {
					if p.wild != 0 {
						for i := range variants {
							variants[i] = append(variants[i], p)
						}
						continue
					}
					ws := windash(p.s)
					var grown []sstr
					for _, pre := range variants {
						for _, w := range ws {
							grown = append(grown, append(append(sstr(nil), pre...), spart{s: w}))
						}
					}
					variants = grown
					if len(variants) > maxAlternatives {
						return nil, errAt(at, "windash expands to more than %d values", maxAlternatives)
					}
				}
				next = append(next, variants...)
			default:
				s, ok := a.literalString()
				if !ok {
					return nil, errAt(at, "modifier %s cannot encode a value with wildcards", m)
				}
				switch m {
				case "utf16le", "wide":
					next = append(next, sstr{{s: encodeUTF16(s, false, false)}})
				case "utf16be":
					next = append(next, sstr{{s: encodeUTF16(s, true, false)}})
				case "utf16":
					next = append(next, sstr{{s: encodeUTF16(s, false, true)}})
				case "base64":
					next = append(next, sstr{{s: b64(s)}})
				case "base64offset":
					for _, e := range base64Offsets(s) {
						next = append(next, sstr{{s: e}})
					}
				}
			}
			if len(next) > maxAlternatives {
				return nil, errAt(at, "value expands to more than %d alternatives", maxAlternatives)
			}
		}
		alts = next
	}
	return alts, nil
}

// expand replaces %placeholders% in literal parts with configured values;
// configured values are themselves Sigma strings (wildcards allowed).
func (c *compiler) expand(a sstr) ([]sstr, error) {
	variants := []sstr{nil}
	for _, p := range a {
		if p.wild != 0 {
			for i := range variants {
				variants[i] = append(variants[i], p)
			}
			continue
		}
		xs, err := expandPlaceholders(p.s, c.rs.opts.Placeholders)
		if err != nil {
			return nil, err
		}
		var grown []sstr
		for _, pre := range variants {
			for _, x := range xs {
				part := sstr{{s: x}}
				if x != p.s {
					part = parseSigmaString(x)
				}
				grown = append(grown, append(append(sstr(nil), pre...), part...))
			}
		}
		variants = grown
		if len(variants) > maxAlternatives {
			return nil, fmt.Errorf("placeholder expansion exceeds %d values", maxAlternatives)
		}
	}
	return variants, nil
}

// compileRegex compiles a Sigma "re" value for Go's RE2 engine.
func compileRegex(expr, flags string) (matcher, error) {
	if flags != "" {
		expr = "(?" + dedupFlags(flags) + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "invalid or unsupported Perl syntax") || strings.Contains(msg, "invalid escape sequence: `\\") && strings.ContainsAny(msg, "123456789") {
			return matcher{}, fmt.Errorf("regex needs look-around or back-references, which Go's RE2 engine does not support: %v", err)
		}
		return matcher{}, fmt.Errorf("bad regex: %v", err)
	}
	st, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return matcher{}, fmt.Errorf("bad regex: %v", err)
	}
	prog, err := syntax.Compile(st.Simplify())
	if err != nil {
		return matcher{}, fmt.Errorf("bad regex: %v", err)
	}
	if len(prog.Inst) > maxRegexProgSize {
		return matcher{}, fmt.Errorf("regex compiles to %d instructions, limit %d", len(prog.Inst), maxRegexProgSize)
	}
	m := matcher{kind: mRegex, lit: expr, num: float64(regexMinLen(st, 0)), mext: &mext{re: re}}
	if lits, ok := regexLiterals(st.Simplify(), 0); ok {
		m.pre = lits
	}
	if run := regexRun(st, 0); run != nil && run.n >= minClassRun {
		m.run = run
	}
	return m, nil
}

// classRun is a prefilter for regexes that require a run of characters from
// one class (`[a-f0-9]{64}`, `\d{9}`, `[a-zA-Z]{8}`): a value with no run of
// n consecutive bytes in the class cannot match. Checking it reads each
// byte at most twice and, on a value without the run, often about one byte
// in n, where Go's regexp engine spends microseconds on a long value that
// fails late (`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}` over a command line).
type classRun struct {
	set [8]uint32 // bytes in the class, as a bitmap
	n   int
}

// minClassRun is the shortest run worth checking.
const minClassRun = 4

// has reports whether s has n consecutive bytes in the class.
func (c *classRun) has(s string) bool {
	// Skip ahead: a run of n ending at or after i contains i, so when
	// s[i] is not in the class the next run can end no sooner than i+n.
	// When it is, the run through i is measured (back to at most n-1
	// bytes before, forward until it is long enough or breaks), and the
	// next candidate end is n past the breaking byte. Every byte is read
	// at most twice, and a value without the run usually only every n-th.
	if !classRunSkip {
		return c.hasLinear(s)
	}
	n := c.n
	for i := n - 1; i < len(s); {
		if !c.in(s[i]) {
			i += n
			continue
		}
		j := i
		for j > i-n+1 && c.in(s[j-1]) {
			j--
		}
		k := i + 1
		for k < len(s) && k-j < n && c.in(s[k]) {
			k++
		}
		if k-j >= n {
			return true
		}
		i = k + n
	}
	return false
}

// classRunSkip switches the skipping search (a variable only so
// benchmarks can compare with and without).
var classRunSkip = true

func (c *classRun) in(b byte) bool { return c.set[b>>5]&(1<<(b&31)) != 0 }

// hasLinear is has without skipping: the reference it is tested against.
func (c *classRun) hasLinear(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if c.in(s[i]) {
			if run++; run >= c.n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// regexRun finds the longest run a match of re must contain: a character
// class repeated at least n times in a part every match goes through
// (concatenation, capture, repetition with a minimum; not alternation).
// The bitmap holds the class's ASCII members; when the class has runes
// outside ASCII (case folding adds the Kelvin sign to k), every byte >=
// 0x80 counts as a member, so a run of n runes is still a run of at least
// n member bytes.
func regexRun(re *syntax.Regexp, depth int) *classRun {
	if depth > 50 {
		return nil
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return regexRun(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		if sub := re.Sub[0]; sub.Op == syntax.OpCharClass {
			c := &classRun{n: re.Min}
			for i := 0; i+1 < len(sub.Rune); i += 2 {
				lo, hi := sub.Rune[i], sub.Rune[i+1]
				if hi >= utf8.RuneSelf {
					for b := 0x80; b < 0x100; b++ {
						c.set[b>>5] |= 1 << (b & 31)
					}
					hi = utf8.RuneSelf - 1
				}
				for r := lo; r <= hi; r++ {
					c.set[r>>5] |= 1 << (r & 31)
				}
			}
			return c
		}
		return regexRun(re.Sub[0], depth+1)
	case syntax.OpConcat:
		var best *classRun
		for _, sub := range re.Sub {
			if c := regexRun(sub, depth+1); c != nil && (best == nil || c.n > best.n) {
				best = c
			}
		}
		return best
	}
	return nil
}

// regexMinLen is a lower bound on the bytes any match of re needs; values
// shorter than it skip the regex engine.
func regexMinLen(re *syntax.Regexp, depth int) int {
	if depth > 50 {
		return 0
	}
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += utf8.RuneLen(r)
		}
		if re.Flags&syntax.FoldCase != 0 {
			// Case folding may pair runes of different encoded lengths
			// (K and the Kelvin sign): count one byte per rune.
			return len(re.Rune)
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return regexMinLen(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		return re.Min * regexMinLen(re.Sub[0], depth+1)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += regexMinLen(s, depth+1)
		}
		return n
	case syntax.OpAlternate:
		m := -1
		for _, s := range re.Sub {
			if l := regexMinLen(s, depth+1); m < 0 || l < m {
				m = l
			}
		}
		if m < 0 {
			return 0
		}
		return m
	}
	return 0
}

func dedupFlags(f string) string {
	var b strings.Builder
	for _, c := range "ims" {
		if strings.ContainsRune(f, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// packRules switches laying each compiled rule's evaluation data out
// together (see detection.pack); benchmarks compare with and without it.
var packRules = true

// pack copies the detection's condition tree, field conditions, field id
// lists, matchers and literals into a few arrays, one per kind, in
// evaluation order. A candidate rule is evaluated with its data cold in
// cache: compiled piece by piece they lie scattered among the YAML
// parse's garbage, a cache miss for each pointer followed, while packed,
// consecutive pieces share cache lines.
func (d *detection) pack() {
	var nnode, nkid, nbr, nfc, nint, ngrp, nm, nlit int
	var count func(n *condNode)
	count = func(n *condNode) {
		nnode++
		nkid += len(n.kids)
		for _, k := range n.kids {
			count(k)
		}
	}
	count(d.cond)
	for _, s := range d.sels {
		nbr += len(s.branches)
		for _, br := range s.branches {
			nfc += len(br)
			for _, fc := range br {
				nint += len(fc.fields)
				ngrp += len(fc.groups)
				for _, g := range fc.groups {
					nm += len(g)
					for i := range g {
						nlit += len(g[i].lit)
					}
				}
			}
		}
	}
	// Capacities are exact: appends never move what pointers point to.
	nodes := make([]condNode, 0, nnode)
	kids := make([]*condNode, 0, nkid)
	var copyNode func(n *condNode) *condNode
	copyNode = func(n *condNode) *condNode {
		nodes = append(nodes, condNode{op: n.op, sel: n.sel})
		c := &nodes[len(nodes)-1]
		if len(n.kids) > 0 {
			at := len(kids)
			kids = append(kids, n.kids...) // reserved, overwritten below
			c.kids = kids[at:len(kids):len(kids)]
			for i, k := range n.kids {
				c.kids[i] = copyNode(k)
			}
		}
		return c
	}
	d.cond = copyNode(d.cond)

	brs := make([][]*fieldCond, 0, nbr)
	fcps := make([]*fieldCond, 0, nfc)
	fcs := make([]fieldCond, 0, nfc)
	ints := make([]int, 0, nint)
	grps := make([][]matcher, 0, ngrp)
	ms := make([]matcher, 0, nm)
	lits := make([]byte, 0, nlit)
	type litRef struct {
		m        *matcher
		off, end int
	}
	var refs []litRef
	for si := range d.sels {
		s := &d.sels[si]
		b0 := len(brs)
		for _, br := range s.branches {
			p0 := len(fcps)
			for _, fc := range br {
				fcs = append(fcs, *fc)
				nfc := &fcs[len(fcs)-1]
				i0 := len(ints)
				ints = append(ints, fc.fields...)
				nfc.fields = ints[i0:len(ints):len(ints)]
				g0 := len(grps)
				for _, g := range fc.groups {
					m0 := len(ms)
					for i := range g {
						ms = append(ms, g[i])
						if l := g[i].lit; l != "" {
							refs = append(refs, litRef{&ms[len(ms)-1], len(lits), len(lits) + len(l)})
							lits = append(lits, l...)
						}
					}
					grps = append(grps, ms[m0:len(ms):len(ms)])
				}
				if fc.groups != nil {
					nfc.groups = grps[g0:len(grps):len(grps)]
				}
				fcps = append(fcps, nfc)
			}
			brs = append(brs, fcps[p0:len(fcps):len(fcps)])
		}
		s.branches = brs[b0:len(brs):len(brs)]
	}
	all := string(lits)
	for _, r := range refs {
		r.m.lit = all[r.off:r.end]
	}
}
