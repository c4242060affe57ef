package query

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a query the parser or compiler rejects. Pos is the byte offset in
// the query text where the problem is.
type Error struct {
	Query string
	Pos   int
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid query at column %d: %s", e.Pos+1, e.Msg)
}

// Limits that keep hostile query text cheap to parse and compile.
const (
	MaxQueryBytes = 16 << 10
	maxDepth      = 64
	maxTerms      = 256
)

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tPhrase
	tLParen
	tRParen
	tLBrack // [ or {
	tRBrack // ] or }
)

type token struct {
	kind tokKind
	text string // word: raw text with escapes; phrase: unquoted content
	pos  int
	incl bool // for brackets: [ ] inclusive, { } exclusive
}

type lexer struct {
	src string
	i   int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '"' || c == '[' || c == ']' || c == '{' || c == '}'
}

func (l *lexer) next() (token, error) {
	for l.i < len(l.src) && isSpace(l.src[l.i]) {
		l.i++
	}
	if l.i >= len(l.src) {
		return token{kind: tEOF, pos: len(l.src)}, nil
	}
	start := l.i
	switch c := l.src[l.i]; c {
	case '(':
		l.i++
		return token{kind: tLParen, pos: start}, nil
	case ')':
		l.i++
		return token{kind: tRParen, pos: start}, nil
	case '[', '{':
		l.i++
		return token{kind: tLBrack, pos: start, incl: c == '['}, nil
	case ']', '}':
		l.i++
		return token{kind: tRBrack, pos: start, incl: c == ']'}, nil
	case '"':
		l.i++
		var b strings.Builder
		for l.i < len(l.src) {
			c := l.src[l.i]
			switch {
			case c == '\\' && l.i+1 < len(l.src):
				b.WriteByte(l.src[l.i+1])
				l.i += 2
			case c == '"':
				l.i++
				return token{kind: tPhrase, text: b.String(), pos: start}, nil
			default:
				b.WriteByte(c)
				l.i++
			}
		}
		return token{}, &Error{Query: l.src, Pos: start, Msg: "unterminated quoted phrase"}
	}
	for l.i < len(l.src) {
		c := l.src[l.i]
		if c == '\\' && l.i+1 < len(l.src) {
			l.i += 2
			continue
		}
		if isDelim(c) {
			break
		}
		l.i++
	}
	return token{kind: tWord, text: l.src[start:l.i], pos: start}, nil
}

type parser struct {
	lex   lexer
	tok   token
	depth int
	terms int
}

func (p *parser) errf(pos int, format string, args ...any) error {
	return &Error{Query: p.lex.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isKeyword(k string) bool { return p.tok.kind == tWord && p.tok.text == k }

// Parse parses query text. An empty or all-blank text gives a Query that
// matches every event. Errors are *Error values carrying the position.
func Parse(text string) (*Query, error) {
	if len(text) > MaxQueryBytes {
		return nil, &Error{Query: text, Pos: MaxQueryBytes, Msg: fmt.Sprintf("query longer than %d bytes", MaxQueryBytes)}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return nil, &Error{Query: text, Pos: i, Msg: "query text must be valid UTF-8 without NUL bytes"}
		}
		i += size
	}
	p := &parser{lex: lexer{src: text}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	q := &Query{Text: text}
	if p.tok.kind == tEOF {
		return q, nil
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		if p.tok.kind == tRParen {
			return nil, p.errf(p.tok.pos, "unbalanced ')'")
		}
		return nil, p.errf(p.tok.pos, "unexpected %s", describe(p.tok))
	}
	if err := validate(n, text); err != nil {
		return nil, err
	}
	q.Root = n
	return q, nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tWord:
		return fmt.Sprintf("%q", t.text)
	case tPhrase:
		return "quoted phrase"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tLBrack:
		return "range bracket"
	case tRBrack:
		return "closing range bracket"
	}
	return "token"
}

func (p *parser) parseOr() (Node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	kids := []Node{first}
	for p.isKeyword("OR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Or{Children: kids}, nil
}

func (p *parser) startsOperand() bool {
	switch p.tok.kind {
	case tWord:
		return p.tok.text != "OR" && p.tok.text != "AND"
	case tPhrase, tLParen:
		return true
	}
	return false
}

func (p *parser) parseAnd() (Node, error) {
	first, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	kids := []Node{first}
	for {
		if p.isKeyword("AND") {
			if err := p.advance(); err != nil {
				return nil, err
			}
		} else if !p.startsOperand() {
			break
		}
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &And{Children: kids}, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf(pos, "query nested deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) parseNot() (Node, error) {
	if p.isKeyword("NOT") {
		pos := p.tok.pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &Not{Child: n}, nil
	}
	return p.parseUnit()
}

func (p *parser) parseUnit() (Node, error) {
	switch p.tok.kind {
	case tLParen:
		pos := p.tok.pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tRParen {
			return nil, p.errf(p.tok.pos, "empty parentheses")
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errf(pos, "'(' is never closed")
		}
		return n, p.advance()
	case tPhrase:
		t := &Term{Value: p.tok.text, Quoted: true, Pos: p.tok.pos}
		return p.leaf(t)
	case tWord:
		if p.tok.text == "AND" || p.tok.text == "OR" {
			return nil, p.errf(p.tok.pos, "%s needs a term on both sides", p.tok.text)
		}
		return p.parseWord()
	case tEOF:
		return nil, p.errf(p.tok.pos, "query ends where a term was expected")
	}
	return nil, p.errf(p.tok.pos, "unexpected %s", describe(p.tok))
}

func (p *parser) leaf(t *Term) (Node, error) {
	p.terms++
	if p.terms > maxTerms {
		return nil, p.errf(t.Pos, "query has more than %d terms", maxTerms)
	}
	return t, p.advance()
}

// splitField finds the first unescaped ':' in a word.
func splitField(w string) (field, rest string, ok bool) {
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '\\':
			i++
		case ':':
			return w[:i], w[i+1:], true
		}
	}
	return "", w, false
}

// splitCompare finds field>=v, field<v, ... in a word without a colon.
func splitCompare(w string) (field, op, val string, ok bool) {
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '\\':
			i++
		case '<', '>':
			op = w[i : i+1]
			j := i + 1
			if j < len(w) && w[j] == '=' {
				op += "="
				j++
			}
			return w[:i], op, w[j:], true
		}
	}
	return "", "", "", false
}

func cutOp(v string) (op, rest string) {
	for _, o := range []string{">=", "<=", ">", "<"} {
		if strings.HasPrefix(v, o) {
			return o, v[len(o):]
		}
	}
	return "", v
}

func validField(f string) bool {
	if f == "" || len(f) > 256 {
		return false
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '@':
		case (c == '.' || c == '-') && i > 0 && i < len(f)-1:
			if c == '.' && f[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (p *parser) parseWord() (Node, error) {
	w, pos := p.tok.text, p.tok.pos
	field, val, hasColon := splitField(w)
	// field>=value: the operator comes before any colon (times have colons).
	if f, op, v, ok := splitCompare(w); ok && validField(f) && (!hasColon || len(f) < len(field)) {
		return p.compare(f, op, v, pos, pos+len(f)+len(op))
	}
	if !hasColon {
		return p.leaf(&Term{Value: w, Pos: pos})
	}
	if !validField(field) {
		return nil, p.errf(pos, "invalid field name %q (letters, digits, '_', '@', '-' and dots)", field)
	}
	vpos := pos + len(field) + 1
	if val == "" {
		// field: followed by a separate token (phrase, range or word).
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tPhrase:
			return p.leaf(&Term{Field: field, Value: p.tok.text, Quoted: true, Pos: pos})
		case tLBrack:
			return p.parseRange(field, pos)
		case tWord:
			if p.tok.pos == vpos || !isKeywordText(p.tok.text) {
				return p.fieldValue(field, p.tok.text, pos, p.tok.pos)
			}
		}
		return nil, p.errf(vpos, "field %q has no value", field)
	}
	return p.fieldValue(field, val, pos, vpos)
}

func isKeywordText(s string) bool { return s == "AND" || s == "OR" || s == "NOT" }

func (p *parser) fieldValue(field, val string, pos, vpos int) (Node, error) {
	if op, rest := cutOp(val); op != "" {
		return p.compare(field, op, rest, pos, vpos+len(op))
	}
	if val == "*" {
		return p.leaf(&Term{Field: field, Op: OpExists, Pos: pos})
	}
	return p.leaf(&Term{Field: field, Value: val, Pos: pos})
}

func (p *parser) compare(field, op, val string, pos, vpos int) (Node, error) {
	if val == "" {
		return nil, p.errf(vpos, "comparison %s on %q has no value", op, field)
	}
	v := unescapeLiteral(val)
	t := &Term{Field: field, Op: OpRange, Pos: pos}
	switch op {
	case ">=":
		t.Lo, t.LoIncl = v, true
	case ">":
		t.Lo = v
	case "<=":
		t.Hi, t.HiIncl = v, true
	case "<":
		t.Hi = v
	}
	return p.leaf(t)
}

func (p *parser) parseRange(field string, pos int) (Node, error) {
	open := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	var parts []string
	for p.tok.kind == tWord || p.tok.kind == tPhrase {
		parts = append(parts, p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tRBrack {
		return nil, p.errf(open.pos, "range is never closed (want [lo TO hi])")
	}
	if len(parts) != 3 || parts[1] != "TO" {
		return nil, p.errf(open.pos, "range must be [lo TO hi] with * for an open end")
	}
	t := &Term{Field: field, Op: OpRange, Pos: pos, LoIncl: open.incl, HiIncl: p.tok.incl}
	if parts[0] != "*" {
		t.Lo = unescapeLiteral(parts[0])
	} else {
		t.LoIncl = false
	}
	if parts[2] != "*" {
		t.Hi = unescapeLiteral(parts[2])
	} else {
		t.HiIncl = false
	}
	if t.Lo == "" && t.Hi == "" {
		return nil, p.errf(open.pos, "range [* TO *] bounds nothing; use %s:* to test that the field exists", field)
	}
	return p.leaf(t)
}

// unescapeLiteral drops backslash escapes: in a range or comparison nothing
// is a wildcard.
func unescapeLiteral(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
