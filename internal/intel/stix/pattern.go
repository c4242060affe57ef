// Package stix reads and writes the STIX 2.1 objects MCPSoc exchanges:
// indicator objects in bundles, TAXII envelopes or arrays, and their
// patterns. It parses the full pattern grammar (observation expressions
// joined by AND, OR and FOLLOWEDBY, qualifiers, comparison expressions
// joined by AND and OR, parentheses, every comparison operator and literal
// kind) and reduces a pattern to the list of observable values a matcher
// can look for. It owns no storage; the intel store keeps what it reads.
package stix

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// MaxPatternBytes bounds a pattern's length.
const MaxPatternBytes = 64 << 10

// maxDepth bounds parenthesis nesting, so a hostile pattern cannot blow
// the stack.
const maxDepth = 100

// Observable is one value a pattern reduces to.
type Observable struct {
	Type  ioc.Type
	Value string
}

// Reduction is what a pattern means to a list matcher: the observables
// whose sighting is evidence, and notes on what the reduction left out or
// widened (never silently).
type Reduction struct {
	Observables []Observable
	// Notes say where the list is an approximation: comparisons on paths
	// or with operators a list cannot hold, AND joins matched on any side,
	// qualifiers not applied.
	Notes []string
}

// PatternError is a pattern that does not parse or reduces to nothing.
type PatternError struct {
	Offset int // byte offset, -1 when not about one place
	Msg    string
}

func (e *PatternError) Error() string {
	if e.Offset < 0 {
		return "pattern: " + e.Msg
	}
	return fmt.Sprintf("pattern: %s (offset %d)", e.Msg, e.Offset)
}

// Reduce parses a STIX 2.1 pattern and reduces it to observables:
//   - '=' on a supported path gives its value; IN gives each listed value;
//     ISSUBSET on ipv4-addr/ipv6-addr:value with a CIDR gives the block
//     (so does '=' with a CIDR);
//   - OR unions its sides; AND also unions them, since a list matcher sees
//     one value at a time (a note says so), and a comparison it cannot hold
//     (other operators, NOT, unsupported paths) is noted and left out;
//   - network-traffic:src_ref/dst_ref.value are the addresses they name,
//     and their .type comparisons only restate that;
//   - qualifiers (WITHIN, REPEATS, START/STOP) are parsed and noted as not
//     applied.
//
// A pattern that does not parse, or leaves no observable, is a
// *PatternError giving the reason.
func Reduce(pattern string) (Reduction, error) {
	if len(pattern) > MaxPatternBytes {
		return Reduction{}, &PatternError{Offset: -1, Msg: "longer than 64 KiB"}
	}
	p := &parser{s: pattern}
	p.next()
	r := &Reduction{}
	if err := p.pattern(r, 0); err != nil {
		return Reduction{}, err
	}
	if p.tok.kind != tEOF {
		return Reduction{}, p.errf("unexpected %s", p.tok)
	}
	if len(r.Observables) == 0 {
		msg := "no comparison a list matcher can use"
		if len(r.Notes) > 0 {
			msg += ": " + strings.Join(r.Notes, "; ")
		}
		return Reduction{}, &PatternError{Offset: -1, Msg: msg}
	}
	r.Notes = dedupNotes(r.Notes)
	return *r, nil
}

func dedupNotes(n []string) []string {
	seen := map[string]bool{}
	out := n[:0]
	for _, s := range n {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBracket
	tRBracket
	tLParen
	tRParen
	tComma
	tOp     // = != < <= > >=
	tWord   // AND OR NOT IN LIKE ... and object paths
	tString // 'x'
	tTyped  // t'..' h'..' b'..'
	tNumber
	tBad
)

type token struct {
	kind tokKind
	text string // the word, operator, unquoted string or number
	pre  byte   // t, h or b for typed literals
	off  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return strconv.Quote(t.text)
	default:
		return "'" + t.text + "'"
	}
}

type parser struct {
	s   string
	i   int
	tok token
	err error
}

func (p *parser) errf(format string, args ...any) error {
	return &PatternError{Offset: p.tok.off, Msg: fmt.Sprintf(format, args...)}
}

// next reads the next token into p.tok.
func (p *parser) next() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
	start := p.i
	if p.i >= len(p.s) {
		p.tok = token{kind: tEOF, off: start}
		return
	}
	c := p.s[p.i]
	single := map[byte]tokKind{'[': tLBracket, ']': tRBracket, '(': tLParen, ')': tRParen, ',': tComma}
	if k, ok := single[c]; ok {
		p.i++
		p.tok = token{kind: k, text: string(c), off: start}
		return
	}
	switch {
	case c == '=':
		p.i++
		p.tok = token{kind: tOp, text: "=", off: start}
		return
	case c == '!' || c == '<' || c == '>':
		p.i++
		op := string(c)
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			op += "="
		}
		if op == "!" {
			p.tok = token{kind: tBad, text: op, off: start}
			return
		}
		p.tok = token{kind: tOp, text: op, off: start}
		return
	case c == '\'':
		s, ok := p.quoted()
		if !ok {
			p.tok = token{kind: tBad, text: "unterminated string", off: start}
			return
		}
		p.tok = token{kind: tString, text: s, off: start}
		return
	case (c == 't' || c == 'h' || c == 'b') && p.i+1 < len(p.s) && p.s[p.i+1] == '\'':
		p.i++
		s, ok := p.quoted()
		if !ok {
			p.tok = token{kind: tBad, text: "unterminated string", off: start}
			return
		}
		p.tok = token{kind: tTyped, text: s, pre: c, off: start}
		return
	case c == '-' || c == '+' || ('0' <= c && c <= '9'):
		j := p.i + 1
		for j < len(p.s) && ('0' <= p.s[j] && p.s[j] <= '9' || p.s[j] == '.' || p.s[j] == 'e' || p.s[j] == 'E') {
			j++
		}
		p.i = j
		p.tok = token{kind: tNumber, text: p.s[start:j], off: start}
		return
	}
	// A word: keyword or object path (with quoted segments and [*] / [0]
	// list indexes inside it).
	j := p.i
	for j < len(p.s) {
		c := p.s[j]
		if c == '\'' {
			k := strings.IndexByte(p.s[j+1:], '\'')
			if k < 0 {
				break
			}
			j += k + 2
			continue
		}
		if c == '[' && j > p.i && p.s[j-1] != ' ' {
			// list index inside a path: hashes[*] or refs[0]
			k := strings.IndexByte(p.s[j:], ']')
			if k < 0 {
				break
			}
			j += k + 1
			continue
		}
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.' || c == '*' {
			j++
			continue
		}
		break
	}
	if j == p.i {
		p.i++
		p.tok = token{kind: tBad, text: string(c), off: start}
		return
	}
	p.i = j
	p.tok = token{kind: tWord, text: p.s[start:j], off: start}
}

// quoted reads a single-quoted string at p.i with \' and \\ escapes.
func (p *parser) quoted() (string, bool) {
	var b strings.Builder
	for j := p.i + 1; j < len(p.s); j++ {
		switch c := p.s[j]; c {
		case '\\':
			if j+1 >= len(p.s) || (p.s[j+1] != '\'' && p.s[j+1] != '\\') {
				return "", false
			}
			b.WriteByte(p.s[j+1])
			j++
		case '\'':
			p.i = j + 1
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func (p *parser) isWord(w string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, w)
}

// pattern := observation (( AND | OR | FOLLOWEDBY ) observation)*
func (p *parser) pattern(r *Reduction, depth int) error {
	if depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	if err := p.observation(r, depth); err != nil {
		return err
	}
	for {
		switch {
		case p.isWord("OR"):
		case p.isWord("AND"), p.isWord("FOLLOWEDBY"):
			r.Notes = append(r.Notes, "observation "+strings.ToUpper(p.tok.text)+": each observation matched on its own")
		default:
			return nil
		}
		p.next()
		if err := p.observation(r, depth); err != nil {
			return err
		}
	}
}

// observation := ( '[' comparison ']' | '(' pattern ')' ) qualifier*
func (p *parser) observation(r *Reduction, depth int) error {
	switch p.tok.kind {
	case tLBracket:
		p.next()
		if err := p.orExpr(r, depth+1); err != nil {
			return err
		}
		if p.tok.kind != tRBracket {
			return p.errf("want ']', got %s", p.tok)
		}
		p.next()
	case tLParen:
		p.next()
		if err := p.pattern(r, depth+1); err != nil {
			return err
		}
		if p.tok.kind != tRParen {
			return p.errf("want ')', got %s", p.tok)
		}
		p.next()
	default:
		return p.errf("want '[' or '(', got %s", p.tok)
	}
	return p.qualifiers(r)
}

// qualifiers: WITHIN n SECONDS | REPEATS n TIMES | START t'..' STOP t'..'
func (p *parser) qualifiers(r *Reduction) error {
	for {
		switch {
		case p.isWord("WITHIN"):
			p.next()
			if p.tok.kind != tNumber {
				return p.errf("WITHIN wants a number, got %s", p.tok)
			}
			p.next()
			if !p.isWord("SECONDS") {
				return p.errf("WITHIN n wants SECONDS, got %s", p.tok)
			}
			p.next()
			r.Notes = append(r.Notes, "qualifier WITHIN not applied")
		case p.isWord("REPEATS"):
			p.next()
			if p.tok.kind != tNumber {
				return p.errf("REPEATS wants a number, got %s", p.tok)
			}
			p.next()
			if !p.isWord("TIMES") {
				return p.errf("REPEATS n wants TIMES, got %s", p.tok)
			}
			p.next()
			r.Notes = append(r.Notes, "qualifier REPEATS not applied")
		case p.isWord("START"):
			p.next()
			if p.tok.kind != tTyped || p.tok.pre != 't' {
				return p.errf("START wants a t'timestamp', got %s", p.tok)
			}
			p.next()
			if !p.isWord("STOP") {
				return p.errf("START wants STOP, got %s", p.tok)
			}
			p.next()
			if p.tok.kind != tTyped || p.tok.pre != 't' {
				return p.errf("STOP wants a t'timestamp', got %s", p.tok)
			}
			p.next()
			r.Notes = append(r.Notes, "qualifier START/STOP not applied")
		default:
			return nil
		}
	}
}

// orExpr := andExpr (OR andExpr)*
func (p *parser) orExpr(r *Reduction, depth int) error {
	if err := p.andExpr(r, depth); err != nil {
		return err
	}
	for p.isWord("OR") {
		p.next()
		if err := p.andExpr(r, depth); err != nil {
			return err
		}
	}
	return nil
}

// andExpr := test (AND test)*
func (p *parser) andExpr(r *Reduction, depth int) error {
	before := len(r.Observables)
	if err := p.test(r, depth); err != nil {
		return err
	}
	n := 0
	for p.isWord("AND") {
		p.next()
		n++
		if err := p.test(r, depth); err != nil {
			return err
		}
	}
	if n > 0 && len(r.Observables)-before > 1 {
		r.Notes = append(r.Notes, "comparison AND: each value matched on its own")
	}
	return nil
}

// test := '(' orExpr ')' | path [NOT] op value
func (p *parser) test(r *Reduction, depth int) error {
	if depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	if p.tok.kind == tLParen {
		p.next()
		if err := p.orExpr(r, depth+1); err != nil {
			return err
		}
		if p.tok.kind != tRParen {
			return p.errf("want ')', got %s", p.tok)
		}
		p.next()
		return nil
	}
	if p.tok.kind != tWord || !strings.Contains(p.tok.text, ":") {
		return p.errf("want an object path, got %s", p.tok)
	}
	path := p.tok.text
	p.next()
	neg := false
	if p.isWord("NOT") {
		neg = true
		p.next()
	}
	var op string
	switch {
	case p.tok.kind == tOp:
		op = p.tok.text
	case p.isWord("IN"), p.isWord("LIKE"), p.isWord("MATCHES"), p.isWord("ISSUBSET"), p.isWord("ISSUPERSET"):
		op = strings.ToUpper(p.tok.text)
	default:
		return p.errf("want a comparison operator after %s, got %s", path, p.tok)
	}
	p.next()
	var vals []token
	if op == "IN" {
		if p.tok.kind != tLParen {
			return p.errf("IN wants a '(' list, got %s", p.tok)
		}
		p.next()
		for {
			if !isLiteral(p.tok) {
				return p.errf("want a literal in the IN list, got %s", p.tok)
			}
			vals = append(vals, p.tok)
			p.next()
			if p.tok.kind == tRParen {
				p.next()
				break
			}
			if p.tok.kind != tComma {
				return p.errf("want ',' or ')' in the IN list, got %s", p.tok)
			}
			p.next()
		}
	} else {
		if !isLiteral(p.tok) {
			return p.errf("want a literal after %s %s, got %s", path, op, p.tok)
		}
		vals = append(vals, p.tok)
		p.next()
	}
	reduceTest(r, path, neg, op, vals)
	return nil
}

func isLiteral(t token) bool {
	switch t.kind {
	case tString, tTyped, tNumber:
		return true
	case tWord:
		return strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")
	}
	return false
}

// pathType maps a normalized object path to an indicator type; ip means
// IPv4 or IPv6 (a CIDR value makes it a block).
func pathType(path string) (ioc.Type, bool) {
	obj, prop, ok := strings.Cut(strings.ToLower(path), ":")
	if !ok {
		return "", false
	}
	prop = strings.ReplaceAll(prop, "'", "")
	switch obj + ":" + prop {
	case "ipv4-addr:value", "ipv6-addr:value",
		"network-traffic:src_ref.value", "network-traffic:dst_ref.value":
		return ioc.IP, true
	case "domain-name:value":
		return ioc.Domain, true
	case "url:value":
		return ioc.URL, true
	case "email-addr:value", "email-message:from_ref.value", "email-message:sender_ref.value",
		"email-message:to_refs[*].value", "email-message:cc_refs[*].value":
		return ioc.Email, true
	}
	if obj == "file" || obj == "artifact" {
		if h, ok := strings.CutPrefix(prop, "hashes."); ok {
			switch strings.ReplaceAll(h, "-", "") {
			case "md5":
				return ioc.MD5, true
			case "sha1":
				return ioc.SHA1, true
			case "sha256":
				return ioc.SHA256, true
			case "sha512":
				return ioc.SHA512, true
			}
		}
	}
	return "", false
}

func reduceTest(r *Reduction, path string, neg bool, op string, vals []token) {
	lp := strings.ToLower(path)
	if strings.HasPrefix(lp, "network-traffic:") && strings.HasSuffix(lp, "_ref.type") {
		return // restates what the .value comparison already says
	}
	t, ok := pathType(path)
	if !ok {
		r.Notes = append(r.Notes, "unsupported object path "+path)
		return
	}
	if neg {
		r.Notes = append(r.Notes, "NOT "+op+" on "+path+" left out")
		return
	}
	switch op {
	case "=", "IN":
	case "ISSUBSET":
		if t != ioc.IP {
			r.Notes = append(r.Notes, "ISSUBSET on "+path+" left out")
			return
		}
	default:
		r.Notes = append(r.Notes, "operator "+op+" on "+path+" left out")
		return
	}
	for _, v := range vals {
		if v.kind != tString {
			r.Notes = append(r.Notes, "non-string value "+v.String()+" for "+path+" left out")
			continue
		}
		typ := t
		if typ == ioc.IP {
			// ISSUBSET with a bare address is the address itself.
			if strings.Contains(v.text, "/") {
				typ = ioc.CIDR
			}
			if strings.HasPrefix(strings.ToLower(path), "network-traffic:") {
				if _, err := netip.ParseAddr(v.text); err != nil && typ == ioc.IP {
					typ = ioc.Domain // dst_ref may point at a domain-name
				}
			}
		}
		r.Observables = append(r.Observables, Observable{Type: typ, Value: v.text})
	}
}
