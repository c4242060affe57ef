package sigma

import (
	"strings"
	"unicode/utf8"
)

// spart is one piece of a Sigma string value: a literal run or a wildcard.
type spart struct {
	wild byte // 0 literal, '*' any run, '?' one character
	s    string
}

// sstr is a Sigma string value split into literals and wildcards.
type sstr []spart

// parseSigmaString splits s at unescaped wildcards. `\*`, `\?` and `\\` are
// escapes; any other backslash is literal (Windows paths stay readable).
func parseSigmaString(s string) sstr {
	var out sstr
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, spart{s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
				continue
			}
			lit.WriteByte(c)
		case '*', '?':
			flush()
			if c == '*' && len(out) > 0 && out[len(out)-1].wild == '*' {
				continue
			}
			out = append(out, spart{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// literalString returns the value with no wildcards, or ok=false.
func (v sstr) literalString() (string, bool) {
	var b strings.Builder
	for _, p := range v {
		if p.wild != 0 {
			return "", false
		}
		b.WriteString(p.s)
	}
	return b.String(), true
}

func (v sstr) hasWildcards() bool {
	for _, p := range v {
		if p.wild != 0 {
			return true
		}
	}
	return false
}

// mapLiterals applies f to every literal part.
func (v sstr) mapLiterals(f func(string) string) sstr {
	out := make(sstr, len(v))
	for i, p := range v {
		if p.wild == 0 {
			p.s = f(p.s)
		}
		out[i] = p
	}
	return out
}

func (v sstr) withStars(lead, trail bool) sstr {
	out := make(sstr, 0, len(v)+2)
	if lead && (len(v) == 0 || v[0].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	out = append(out, v...)
	if trail && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	return out
}

// String renders v back in Sigma syntax (for reports).
func (v sstr) String() string {
	var b strings.Builder
	for _, p := range v {
		if p.wild != 0 {
			b.WriteByte(p.wild)
			continue
		}
		for i := 0; i < len(p.s); i++ {
			if c := p.s[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.s[i])
		}
	}
	return b.String()
}

// strKind is how a string pattern compares.
type strKind uint8

const (
	skExact strKind = iota
	skPrefix
	skSuffix
	skContains
	skGlob
	skAny // "*": any string
)

// globSeg is a run between '*' wildcards: literal text with '?' positions.
type globSeg struct {
	parts []spart // literals and '?'
	size  int     // bytes when it has no '?', else -1
}

// glob is a compiled wildcard pattern that is more than a prefix, suffix or
// substring: matched by a linear scan, never by a regular expression.
type glob struct {
	lead, trail bool // pattern starts/ends with '*'
	segs        []globSeg
}

// classify turns a Sigma string into its cheapest form.
func classify(v sstr) (kind strKind, lit string, g *glob) {
	lead := len(v) > 0 && v[0].wild == '*'
	trail := len(v) > 0 && v[len(v)-1].wild == '*'
	inner := v
	if lead {
		inner = inner[1:]
	}
	if trail && len(inner) > 0 {
		inner = inner[:len(inner)-1]
	}
	if len(inner) == 0 {
		if lead || trail {
			return skAny, "", nil
		}
		return skExact, "", nil
	}
	if s, ok := inner.literalString(); ok {
		switch {
		case lead && trail:
			return skContains, s, nil
		case lead:
			return skSuffix, s, nil
		case trail:
			return skPrefix, s, nil
		default:
			return skExact, s, nil
		}
	}
	g = &glob{lead: lead, trail: trail}
	var cur globSeg
	flush := func() {
		cur.size = 0
		for _, p := range cur.parts {
			if p.wild == '?' {
				cur.size = -1
				break
			}
			cur.size += len(p.s)
		}
		g.segs = append(g.segs, cur)
		cur = globSeg{}
	}
	for _, p := range inner {
		if p.wild == '*' {
			flush()
			continue
		}
		cur.parts = append(cur.parts, p)
	}
	flush()
	return skGlob, "", g
}

// matchAt matches the segment at s[i:] and returns the end offset or -1.
func (sg *globSeg) matchAt(s string, i int) int {
	for _, p := range sg.parts {
		if p.wild == '?' {
			if i >= len(s) {
				return -1
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		if !strings.HasPrefix(s[i:], p.s) {
			return -1
		}
		i += len(p.s)
	}
	return i
}

// find returns the end of the leftmost match of the segment in s[i:], or -1.
func (sg *globSeg) find(s string, i int) int {
	if len(sg.parts) > 0 && sg.parts[0].wild == 0 {
		first := sg.parts[0].s
		for i <= len(s) {
			j := strings.Index(s[i:], first)
			if j < 0 {
				return -1
			}
			if e := sg.matchAt(s, i+j); e >= 0 {
				return e
			}
			i += j + 1
		}
		return -1
	}
	for ; i <= len(s); i++ {
		if e := sg.matchAt(s, i); e >= 0 {
			return e
		}
	}
	return -1
}

func (g *glob) match(s string) bool {
	segs := g.segs
	pos := 0
	if !g.lead {
		e := segs[0].matchAt(s, 0)
		if e < 0 {
			return false
		}
		if len(segs) == 1 {
			return g.trail || e == len(s)
		}
		pos = e
		segs = segs[1:]
	}
	var last *globSeg
	if !g.trail {
		last = &segs[len(segs)-1]
		segs = segs[:len(segs)-1]
	}
	for i := range segs {
		e := segs[i].find(s, pos)
		if e < 0 {
			return false
		}
		pos = e
	}
	if last == nil {
		return true
	}
	if last.size >= 0 {
		start := len(s) - last.size
		return start >= pos && last.matchAt(s, start) == len(s)
	}
	for start := pos; start <= len(s); start++ {
		if last.matchAt(s, start) == len(s) {
			return true
		}
	}
	return false
}

// lowerASCII lower-cases s, allocating only when s has upper-case letters
// or non-ASCII bytes.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
