package sigma

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gaissmai/bart"
)

// fval is one event value prepared for matching: its string form, the
// lower-cased string form, and its number when it is numeric.
type fval struct {
	raw    any
	str    string
	low    string // valid when lowOK; see scratch.lowOf
	lowOK  bool
	ascii  int8 // 1: str is pure ASCII, -1: it is not, 0: not checked yet
	num    float64
	isNum  bool // the event value is a number type
	isStr  bool
	isBool bool
	null   bool
}

// isASCII reports whether the value's text is pure ASCII, checking it on
// first use: most values are only compared, never scanned, and need not be
// checked.
func (v *fval) isASCII() bool {
	if v.ascii == 0 {
		v.ascii = -1
		if isASCII(v.str) {
			v.ascii = 1
		}
	}
	return v.ascii > 0
}

// number returns the value as a float, parsing strings on demand.
func (v *fval) number() (float64, bool) {
	if v.isNum {
		return v.num, true
	}
	if v.isStr {
		f, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64)
		return f, err == nil
	}
	return 0, false
}

type mkind uint8

const (
	mString   mkind = iota // string pattern (exact/prefix/suffix/contains/glob)
	mRegex                 // Go RE2 on the original string
	mCIDR                  // IP in one of the prefixes
	mNumCmp                // gt/gte/lt/lte
	mNumEq                 // YAML number with no string modifier
	mBool                  // YAML boolean
	mNull                  // null: absent or JSON null
	mFieldRef              // compare with another field of the event
	mDatePart              // minute/hour/day/week/month/year of a timestamp
)

// timeLayouts are the timestamp forms date-part modifiers read: RFC 3339
// (any precision), Sysmon's UtcTime, and Go's time.Time String form.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
}

// extractDatePart extracts part from a timestamp value, without zone conversion.
func extractDatePart(v *fval, part string) (float64, bool) {
	var t time.Time
	switch x := v.raw.(type) {
	case time.Time:
		t = x
	default:
		if !v.isStr {
			return 0, false
		}
		ok := false
		for _, l := range timeLayouts {
			if p, err := time.Parse(l, strings.TrimSpace(v.str)); err == nil {
				t, ok = p, true
				break
			}
		}
		if !ok {
			return 0, false
		}
	}
	switch part {
	case "minute":
		return float64(t.Minute()), true
	case "hour":
		return float64(t.Hour()), true
	case "day":
		return float64(t.Day()), true
	case "week":
		_, w := t.ISOWeek()
		return float64(w), true
	case "month":
		return float64(t.Month()), true
	default:
		return float64(t.Year()), true
	}
}

// matcher compares one event value against one rule value. What string,
// number and boolean comparisons read is kept in the matcher, small so that
// a list of them spans few cache lines; the rest is behind mext.
type matcher struct {
	kind  mkind
	cased bool
	sk    strKind
	b     bool
	lit   string  // lower-cased unless cased
	num   float64 // number to compare; for regexes the minimum match length
	*mext         // never nil (noExt when unused)
}

// mext holds the parts of a matcher that only globs, regexes, CIDRs,
// numeric comparisons and field references use.
type mext struct {
	glob  *glob
	re    *regexp.Regexp
	pre   []string  // regex: lower-cased literals one of which any match contains
	run   *classRun // regex: a run of class characters every match contains
	cidr  *bart.Lite
	op    string // gt gte lt lte
	ref   int    // fieldref: event field id
	refNm string
}

// noExt is the mext of matchers that need none; it is never written.
var noExt = &mext{}

// extOf returns x, or noExt when x is zero.
func extOf(x mext) *mext {
	if x.glob == nil && x.re == nil && x.pre == nil && x.run == nil && x.cidr == nil && x.op == "" && x.ref == 0 && x.refNm == "" {
		return noExt
	}
	return &x
}

func (m *matcher) matchString(s string) bool {
	switch m.sk {
	case skExact:
		return s == m.lit
	case skPrefix:
		return strings.HasPrefix(s, m.lit)
	case skSuffix:
		return strings.HasSuffix(s, m.lit)
	case skContains:
		return strings.Contains(s, m.lit)
	case skGlob:
		return m.glob.match(s)
	case skAny:
		return true
	}
	return false
}

// match reports whether event value v satisfies m. Field references are
// resolved through sc.
func (m *matcher) match(v *fval, sc *scratch) bool {
	if v.null {
		return m.kind == mNull
	}
	switch m.kind {
	case mString:
		if m.cased {
			return m.matchString(v.str)
		}
		return m.matchString(sc.lowOf(v))
	case mRegex:
		if len(v.str) < int(m.num) {
			return false
		}
		if len(m.pre) > 0 {
			low, found := sc.lowOf(v), false
			for _, p := range m.pre {
				if strings.Contains(low, p) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		if m.run != nil && !m.run.has(v.str) {
			return false
		}
		return m.re.MatchString(v.str)
	case mCIDR:
		a, err := netip.ParseAddr(v.str)
		if err != nil {
			return false
		}
		return m.cidr.Contains(a.Unmap())
	case mNumCmp, mDatePart:
		var f float64
		var ok bool
		if m.kind == mDatePart {
			f, ok = extractDatePart(v, m.lit)
		} else {
			f, ok = v.number()
		}
		if !ok {
			return false
		}
		switch m.op {
		case "eq":
			return f == m.num
		case "gt":
			return f > m.num
		case "gte":
			return f >= m.num
		case "lt":
			return f < m.num
		default:
			return f <= m.num
		}
	case mNumEq:
		if v.isNum {
			return v.num == m.num
		}
		return sc.lowOf(v) == m.lit
	case mBool:
		if v.isBool {
			return v.raw.(bool) == m.b
		}
		return sc.lowOf(v) == m.lit
	case mNull:
		return false
	case mFieldRef:
		refs := sc.values(m.ref)
		for i := range refs {
			r := &refs[i]
			if r.null {
				continue
			}
			a, b := sc.lowOf(v), sc.lowOf(r)
			if m.cased {
				a, b = v.str, r.str
			}
			var ok bool
			switch m.sk {
			case skPrefix:
				ok = strings.HasPrefix(a, b)
			case skSuffix:
				ok = strings.HasSuffix(a, b)
			case skContains:
				ok = strings.Contains(a, b)
			default:
				ok = a == b
			}
			if ok {
				return true
			}
		}
		return false
	}
	return false
}

// fieldCond is one "field|modifiers: values" entry of a selection map, or
// one keyword list.
type fieldCond struct {
	name    string // as written in the rule ("" for keywords)
	fields  []int  // event fields to read, ORed (mapping may give several)
	keyword bool
	all     bool
	neq     bool
	exists  int8 // -1: not an exists test; 0: must be absent; 1: present
	groups  [][]matcher
	// set holds the lower-cased literals when a group is a large list of
	// case-insensitive exact strings (fast path for long value lists).
	set map[string]struct{}
	// gac matches the group's many literal matchers in one pass.
	gac *groupAC
}

// eval evaluates the condition against the event cached in sc.
func (fc *fieldCond) eval(sc *scratch) bool {
	if fc.exists >= 0 {
		present := false
		for _, f := range fc.fields {
			if sc.present(f) {
				present = true
				break
			}
		}
		return present == (fc.exists == 1)
	}
	if len(fc.fields) == 1 {
		return fc.evalValues(sc.values(fc.fields[0]), sc)
	}
	// Several mapped fields: a value on any of them may satisfy the
	// condition; for "all" the values are pooled.
	if !fc.all && !fc.neq {
		for _, f := range fc.fields {
			if fc.evalValues(sc.values(f), sc) {
				return true
			}
		}
		return false
	}
	vals := sc.pool(fc.fields)
	return fc.evalValues(vals, sc)
}

func (fc *fieldCond) evalValues(vals []fval, sc *scratch) bool {
	if len(vals) == 0 {
		if fc.neq {
			return false
		}
		for gi := range fc.groups {
			if !groupHasNull(fc.groups[gi]) {
				if fc.all {
					return false
				}
				continue
			}
			if !fc.all {
				return true
			}
		}
		return fc.all
	}
	if fc.neq {
		for i := range vals {
			if vals[i].null {
				return false
			}
		}
		return !fc.groupMatch(fc.groups[0], vals, sc, true)
	}
	if fc.all {
		for gi := range fc.groups {
			if !fc.groupMatch(fc.groups[gi], vals, sc, false) {
				return false
			}
		}
		return true
	}
	return fc.groupMatch(fc.groups[0], vals, sc, true)
}

func groupHasNull(g []matcher) bool {
	for i := range g {
		if g[i].kind == mNull {
			return true
		}
	}
	return false
}

func (fc *fieldCond) groupMatch(g []matcher, vals []fval, sc *scratch, useSet bool) bool {
	for i := range vals {
		v := &vals[i]
		if useSet && !v.null {
			if fc.set != nil {
				if _, ok := fc.set[sc.lowOf(v)]; ok {
					return true
				}
			}
			if fc.gac != nil {
				s := v.str
				if !v.isASCII() {
					s = sc.lowOf(v)
				}
				if fc.gac.match(s) {
					return true
				}
			}
		}
		for j := range g {
			if g[j].match(v, sc) {
				return true
			}
		}
	}
	return false
}
