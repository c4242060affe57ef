package sigma

import (
	"fmt"
	"path"
	"strings"
)

// condOp is the kind of a condition AST node.
type condOp uint8

const (
	opIdent condOp = iota // one search identifier
	opAnd
	opOr
	opNot
	opOneOf // "1 of" / "any of" a pattern or "them"
	opAllOf // "all of" a pattern or "them"
)

// condExpr is the parsed, unresolved form of a condition.
type condExpr struct {
	op   condOp
	name string // identifier, pattern, or "them"
	kids []*condExpr
}

func (c *condExpr) String() string {
	switch c.op {
	case opIdent:
		return c.name
	case opNot:
		return "not " + c.kids[0].String()
	case opOneOf:
		return "1 of " + c.name
	case opAllOf:
		return "all of " + c.name
	}
	sep := " and "
	if c.op == opOr {
		sep = " or "
	}
	parts := make([]string, len(c.kids))
	for i, k := range c.kids {
		parts[i] = k.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

type tokKind uint8

const (
	tkEOF tokKind = iota
	tkIdent
	tkAnd
	tkOr
	tkNot
	tkOf
	tkOne
	tkAll
	tkLParen
	tkRParen
	tkPipe
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// maxConditionLen and maxConditionDepth bound what a rule may ask of the
// parser; real conditions are a few hundred bytes and a few levels deep.
const (
	maxConditionLen   = 16 << 10
	maxConditionDepth = 64
)

func lexCondition(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tkLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tkRParen, ")", i})
			i++
		case c == '|':
			// Everything after a pipe is a legacy aggregation; the parser
			// reports it as such.
			toks = append(toks, token{tkPipe, "|", i}, token{tkEOF, "", len(s)})
			return toks, nil
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			w := s[i:j]
			k := tkIdent
			switch strings.ToLower(w) {
			case "and":
				k = tkAnd
			case "or":
				k = tkOr
			case "not":
				k = tkNot
			case "of":
				k = tkOf
			case "1", "any":
				k = tkOne
			case "all":
				k = tkAll
			}
			toks = append(toks, token{k, w, i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	toks = append(toks, token{tkEOF, "", len(s)})
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '*' || c == '-' || c == '.' || c == '?' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

type condParser struct {
	toks  []token
	pos   int
	depth int
}

// parseCondition parses one condition string.
func parseCondition(s string) (*condExpr, error) {
	if len(s) > maxConditionLen {
		return nil, fmt.Errorf("condition is %d bytes, limit %d", len(s), maxConditionLen)
	}
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	if p.peek().kind == tkEOF {
		return nil, fmt.Errorf("empty condition")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tkEOF:
		return e, nil
	case tkPipe:
		return nil, fmt.Errorf("legacy aggregation %q is not supported; write a correlation rule instead", strings.TrimSpace(s[t.pos:]))
	default:
		return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
	}
}

func (p *condParser) peek() token { return p.toks[p.pos] }
func (p *condParser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *condParser) enter() error {
	p.depth++
	if p.depth > maxConditionDepth {
		return fmt.Errorf("condition nests deeper than %d", maxConditionDepth)
	}
	return nil
}

func (p *condParser) parseOr() (*condExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tkOr {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = join(opOr, left, right)
	}
	return left, nil
}

func (p *condParser) parseAnd() (*condExpr, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tkAnd {
		p.next()
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = join(opAnd, left, right)
	}
	return left, nil
}

// join flattens chains of the same operator so evaluation stays shallow.
func join(op condOp, l, r *condExpr) *condExpr {
	if l.op == op {
		l.kids = append(l.kids, r)
		return l
	}
	return &condExpr{op: op, kids: []*condExpr{l, r}}
}

func (p *condParser) parseNot() (*condExpr, error) {
	if p.peek().kind == tkNot {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		inner, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &condExpr{op: opNot, kids: []*condExpr{inner}}, nil
	}
	return p.parsePrimary()
}

func (p *condParser) parsePrimary() (*condExpr, error) {
	t := p.next()
	switch t.kind {
	case tkLParen:
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, fmt.Errorf("expected ')' at offset %d, found %q", c.pos, c.text)
		}
		return e, nil
	case tkOne, tkAll:
		if p.peek().kind != tkOf {
			if t.kind == tkOne && t.text != "1" {
				// "any" used as a plain identifier.
				return &condExpr{op: opIdent, name: t.text}, nil
			}
			return nil, fmt.Errorf("expected 'of' after %q at offset %d", t.text, t.pos)
		}
		p.next()
		target := p.next()
		if target.kind != tkIdent {
			return nil, fmt.Errorf("expected a search identifier pattern or 'them' after 'of' at offset %d", target.pos)
		}
		op := opOneOf
		if t.kind == tkAll {
			op = opAllOf
		}
		name := target.text
		if strings.EqualFold(name, "them") {
			name = "them"
		}
		if _, err := path.Match(name, ""); err != nil {
			return nil, fmt.Errorf("bad identifier pattern %q", name)
		}
		return &condExpr{op: op, name: name}, nil
	case tkIdent:
		if strings.ContainsAny(t.text, "*?") {
			return nil, fmt.Errorf("wildcard identifier %q needs '1 of' or 'all of'", t.text)
		}
		return &condExpr{op: opIdent, name: t.text}, nil
	case tkEOF:
		return nil, fmt.Errorf("condition ends early")
	case tkPipe:
		return nil, fmt.Errorf("unexpected '|' at offset %d", t.pos)
	default:
		return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
	}
}

// condNode is a resolved condition: identifiers are selection indices.
type condNode struct {
	op   condOp // opIdent, opAnd, opOr, opNot only
	sel  int
	kids []*condNode
}

// resolve turns the parsed condition into a condNode over the named
// selections. "them" skips identifiers that start with an underscore.
func resolve(e *condExpr, names []string, index map[string]int) (*condNode, error) {
	switch e.op {
	case opIdent:
		i, ok := index[e.name]
		if !ok {
			return nil, fmt.Errorf("condition references unknown search identifier %q", e.name)
		}
		return &condNode{op: opIdent, sel: i}, nil
	case opNot:
		k, err := resolve(e.kids[0], names, index)
		if err != nil {
			return nil, err
		}
		return &condNode{op: opNot, kids: []*condNode{k}}, nil
	case opAnd, opOr:
		n := &condNode{op: e.op}
		for _, ke := range e.kids {
			k, err := resolve(ke, names, index)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case opOneOf, opAllOf:
		var kids []*condNode
		for i, nm := range names {
			if e.name == "them" {
				if strings.HasPrefix(nm, "_") {
					continue
				}
			} else if ok, _ := path.Match(e.name, nm); !ok {
				continue
			}
			kids = append(kids, &condNode{op: opIdent, sel: i})
		}
		if len(kids) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", e.name)
		}
		if len(kids) == 1 {
			return kids[0], nil
		}
		op := opOr
		if e.op == opAllOf {
			op = opAnd
		}
		return &condNode{op: op, kids: kids}, nil
	}
	return nil, fmt.Errorf("bad condition node")
}
