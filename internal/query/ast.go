// Package query owns the event search language: it parses a query string
// into an AST and compiles the AST into a parameterized SQL condition for the
// SQLite and PostgreSQL event stores. It does not run queries (package store
// and its backends do) and it never puts a value from the query text into the
// SQL text: every value travels as a bind argument.
//
// The language, in short (docs/search.md has the full description):
//
//	source.ip:192.0.2.1            field equals value
//	source.ip:10.0.0.0/8           address inside a CIDR block
//	user.name:adm*  host.name:web? wildcards (* any run, ? one character)
//	"failed password"              free text: case-insensitive substring of message
//	destination.port:[1 TO 1024]   inclusive range ({} excludes an end, * leaves it open)
//	destination.port>=1024         comparisons: > >= < <= (also written port:>=1024)
//	@timestamp>=now-24h            time bounds: RFC 3339, YYYY-MM-DD, now, now-90m
//	user.name:*                    field exists
//	a AND b, a OR b, NOT a, (a OR b) c   boolean logic; juxtaposition means AND
package query

import "strings"

// Node is one node of a parsed query: *And, *Or, *Not or *Term.
type Node interface {
	String() string
	node()
}

// And matches when every child matches.
type And struct{ Children []Node }

// Or matches when any child matches.
type Or struct{ Children []Node }

// Not matches when its child does not.
type Not struct{ Child Node }

// Op is the comparison a Term makes.
type Op int

// Term comparisons.
const (
	OpEq     Op = iota // field:value (or free text when Field is "")
	OpExists           // field:*
	OpRange            // field:[lo TO hi], field>=x, ...
)

// Term is a leaf: one comparison of one field, or free text when Field is
// empty.
type Term struct {
	Field string
	Op    Op
	// Value is the value as written, with backslash escapes kept so that an
	// escaped wildcard (\*) stays literal. Quoted is true for "phrases",
	// which have no wildcards.
	Value  string
	Quoted bool
	// Lo and Hi bound a range; an empty string is an open end.
	Lo, Hi         string
	LoIncl, HiIncl bool
	Pos            int // byte offset of the term in the query text
}

func (*And) node()  {}
func (*Or) node()   {}
func (*Not) node()  {}
func (*Term) node() {}

func (n *And) String() string { return joinNodes(n.Children, " AND ") }
func (n *Or) String() string  { return joinNodes(n.Children, " OR ") }
func (n *Not) String() string { return "NOT " + paren(n.Child) }

func joinNodes(ns []Node, sep string) string {
	parts := make([]string, len(ns))
	for i, c := range ns {
		parts[i] = paren(c)
	}
	return strings.Join(parts, sep)
}

func paren(n Node) string {
	switch n.(type) {
	case *And, *Or:
		return "(" + n.String() + ")"
	}
	return n.String()
}

func (t *Term) String() string {
	var b strings.Builder
	if t.Field != "" {
		b.WriteString(t.Field)
		b.WriteByte(':')
	}
	switch t.Op {
	case OpExists:
		b.WriteByte('*')
	case OpRange:
		if t.LoIncl {
			b.WriteByte('[')
		} else {
			b.WriteByte('{')
		}
		b.WriteString(bound(t.Lo))
		b.WriteString(" TO ")
		b.WriteString(bound(t.Hi))
		if t.HiIncl {
			b.WriteByte(']')
		} else {
			b.WriteByte('}')
		}
	default:
		if t.Quoted {
			b.WriteByte('"')
			for i := 0; i < len(t.Value); i++ {
				if c := t.Value[i]; c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t.Value[i])
			}
			b.WriteByte('"')
		} else {
			b.WriteString(t.Value)
		}
	}
	return b.String()
}

// bound renders a range bound so that it lexes back as one literal word.
func bound(s string) string {
	if s == "" {
		return "*"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; isDelim(c) || c == '\\' || c == '*' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Query is a parsed query. The zero Query (and Parse("")) matches every
// event.
type Query struct {
	Root Node // nil matches everything
	Text string
}

// String renders the query in a canonical form that parses back to the same
// AST.
func (q *Query) String() string {
	if q == nil || q.Root == nil {
		return ""
	}
	return q.Root.String()
}

// TimeBounded reports whether the query itself bounds @timestamp from below
// in every match: a lower-bounded @timestamp term that is ANDed at the top
// level. Stores use it to decide whether a search without an explicit time
// range is still bounded in time.
func (q *Query) TimeBounded() bool {
	if q == nil {
		return false
	}
	var walk func(n Node) bool
	walk = func(n Node) bool {
		switch x := n.(type) {
		case *Term:
			return x.Field == "@timestamp" && x.Op == OpRange && x.Lo != ""
		case *And:
			for _, c := range x.Children {
				if walk(c) {
					return true
				}
			}
		case *Or:
			for _, c := range x.Children {
				if !walk(c) {
					return false
				}
			}
			return len(x.Children) > 0
		}
		return false
	}
	return walk(q.Root)
}

// FreeText reports whether the query has a free-text term (or message:…),
// the terms a full-text index serves.
func (q *Query) FreeText() bool {
	if q == nil {
		return false
	}
	var walk func(n Node) bool
	walk = func(n Node) bool {
		switch x := n.(type) {
		case *Term:
			return x.Field == "" || (x.Field == "message" && x.Op == OpEq)
		case *And:
			for _, c := range x.Children {
				if walk(c) {
					return true
				}
			}
		case *Or:
			for _, c := range x.Children {
				if walk(c) {
					return true
				}
			}
		case *Not:
			return walk(x.Child)
		}
		return false
	}
	return walk(q.Root)
}
