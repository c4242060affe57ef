package query

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ColumnType is how a hot column stores its field.
type ColumnType int

// Column types.
const (
	TypeText    ColumnType = iota + 1 // exact text
	TypeInt                           // integer; absent is NULL
	TypeIP                            // SQLite: 4- or 16-byte BLOB; PostgreSQL: inet
	TypeTime                          // SQLite: microseconds since the Unix epoch; PostgreSQL: timestamptz
	TypeMessage                       // text with a full-text index (FTS5 trigram / pg_trgm)
)

// Column is a field the stores keep in a column of its own, so that it can
// be indexed. Every other field is read from the event JSON in column
// "data".
type Column struct {
	Field string
	Name  string
	Type  ColumnType
}

var hotColumns = []Column{
	{"@timestamp", "ts", TypeTime},
	{"event.kind", "kind", TypeText},
	{"event.dataset", "dataset", TypeText},
	{"event.module", "module", TypeText},
	{"event.action", "action", TypeText},
	{"event.outcome", "outcome", TypeText},
	{"event.severity", "severity", TypeInt},
	{"source.ip", "src_ip", TypeIP},
	{"source.port", "src_port", TypeInt},
	{"destination.ip", "dst_ip", TypeIP},
	{"destination.port", "dst_port", TypeInt},
	{"host.name", "host_name", TypeText},
	{"user.name", "user_name", TypeText},
	{"rule.id", "rule_id", TypeText},
	{"message", "message", TypeMessage},
}

var hotByField = func() map[string]Column {
	m := make(map[string]Column, len(hotColumns))
	for _, c := range hotColumns {
		m[c.Field] = c
	}
	return m
}()

// HotColumns returns the fields that have their own column, in schema order.
// The store schemas and row builders use exactly these names.
func HotColumns() []Column { return append([]Column(nil), hotColumns...) }

// ipField reports whether a field that is not hot holds IP addresses, so a
// CIDR value means "inside the block" rather than literal text.
func ipField(f string) bool {
	return f == "ip" || strings.HasSuffix(f, ".ip") || f == "related.ip"
}

// hasWildcard reports whether a raw (escaped) value has an unescaped * or ?.
func hasWildcard(raw string) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		}
	}
	return false
}

// literal returns the raw value with escapes removed.
func literal(t *Term) string {
	if t.Quoted {
		return t.Value
	}
	return unescapeLiteral(t.Value)
}

// wild reports whether t's value is a wildcard pattern.
func wild(t *Term) bool { return !t.Quoted && hasWildcard(t.Value) }

// likePattern turns a raw value into a LIKE pattern with '\' as the escape
// character; substr wraps it in % for substring matching.
func likePattern(t *Term, substr bool) string {
	var b strings.Builder
	if substr {
		b.WriteByte('%')
	}
	raw := t.Value
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if t.Quoted {
			switch c {
			case '%', '_', '\\':
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			continue
		}
		switch c {
		case '\\':
			if i+1 < len(raw) {
				i++
				c = raw[i]
			}
			if c == '%' || c == '_' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if substr {
		b.WriteByte('%')
	}
	return b.String()
}

// globPattern turns a raw value into a case-sensitive SQLite GLOB pattern.
func globPattern(t *Term) string {
	var b strings.Builder
	raw := t.Value
	lit := func(c byte) {
		switch c {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteByte(c)
			b.WriteByte(']')
		default:
			b.WriteByte(c)
		}
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case t.Quoted:
			lit(c)
		case c == '\\' && i+1 < len(raw):
			i++
			lit(raw[i])
		case c == '[':
			lit(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseTime reads a time bound: RFC 3339 (with or without fraction), a
// date (UTC midnight), a zone-less date-time (UTC), "now" or now-N<unit>
// with unit s, m, h, d or w.
func parseTime(s string, now time.Time) (time.Time, bool) {
	if strings.HasPrefix(s, "now") {
		rest := s[3:]
		if rest == "" {
			return now, true
		}
		if len(rest) < 3 || (rest[0] != '-' && rest[0] != '+') {
			return time.Time{}, false
		}
		n, err := strconv.ParseInt(rest[1:len(rest)-1], 10, 64)
		if err != nil || n < 0 || n > 100*365*24*3600 {
			return time.Time{}, false
		}
		var unit time.Duration
		switch rest[len(rest)-1] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return time.Time{}, false
		}
		if time.Duration(n) > math.MaxInt64/unit {
			return time.Time{}, false
		}
		d := time.Duration(n) * unit
		if rest[0] == '-' {
			d = -d
		}
		return now.Add(d), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func parseIPValue(s string) (addr netip.Addr, prefix netip.Prefix, isPrefix, ok bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return addr, prefix, true, false
		}
		if p.Addr().Is4In6() {
			// Stored addresses are unmapped; so is the block.
			bits := p.Bits() - 96
			if bits < 0 {
				return addr, prefix, true, false
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		return addr, p.Masked(), true, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return addr, prefix, false, false
	}
	return a.Unmap(), prefix, false, true
}

// validate checks every term's value against its field's type, so bad
// queries fail at parse time with a position.
func validate(n Node, text string) error {
	now := time.Now()
	bad := func(t *Term, format string, args ...any) error {
		return &Error{Query: text, Pos: t.Pos, Msg: fmt.Sprintf(format, args...)}
	}
	var walk func(Node) error
	walk = func(n Node) error {
		switch x := n.(type) {
		case *And:
			for _, c := range x.Children {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *Or:
			for _, c := range x.Children {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *Not:
			return walk(x.Child)
		case *Term:
			return validateTerm(x, now, bad)
		}
		return nil
	}
	return walk(n)
}

func validateTerm(t *Term, now time.Time, bad func(*Term, string, ...any) error) error {
	col, hot := hotByField[t.Field]
	if t.Field == "" {
		if literal(t) == "" {
			return bad(t, "empty free-text term")
		}
		if !utf8.ValidString(t.Value) {
			return bad(t, "free text is not valid UTF-8")
		}
		return nil
	}
	switch t.Op {
	case OpExists:
		return nil
	case OpRange:
		if hot && col.Type == TypeTime {
			for _, b := range []string{t.Lo, t.Hi} {
				if b == "" {
					continue
				}
				if _, ok := parseTime(b, now); !ok {
					return bad(t, "%q is not a time (RFC 3339, YYYY-MM-DD, now or now-24h)", b)
				}
			}
			return nil
		}
		if hot && col.Type != TypeInt {
			return bad(t, "ranges apply to numeric fields and @timestamp, not %s", t.Field)
		}
		for _, b := range []string{t.Lo, t.Hi} {
			if b == "" {
				continue
			}
			if _, ok := parseNumber(b); !ok {
				return bad(t, "range bound %q on %s is not a number", b, t.Field)
			}
		}
		return nil
	}
	v := literal(t)
	if v == "" {
		return bad(t, "field %s has an empty value", t.Field)
	}
	if !hot {
		if ipField(t.Field) && strings.IndexByte(v, '/') >= 0 && !wild(t) {
			if _, _, _, ok := parseIPValue(v); !ok {
				return bad(t, "%q is not a CIDR block", v)
			}
		}
		return nil
	}
	switch col.Type {
	case TypeTime:
		return bad(t, "@timestamp takes a range: @timestamp:[from TO to] or @timestamp>=now-24h")
	case TypeInt:
		if wild(t) {
			return bad(t, "wildcards do not apply to the numeric field %s", t.Field)
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return bad(t, "%s takes an integer, not %q", t.Field, v)
		}
	case TypeIP:
		if wild(t) {
			return bad(t, "wildcards do not apply to %s; use a CIDR block such as 10.0.0.0/8", t.Field)
		}
		if _, _, isPrefix, ok := parseIPValue(v); !ok {
			if isPrefix {
				return bad(t, "%q is not a CIDR block", v)
			}
			return bad(t, "%q is not an IP address or CIDR block", v)
		}
	}
	return nil
}

// ParseTime reads a time the way @timestamp bounds are written (RFC 3339,
// YYYY-MM-DD, a zone-less date-time in UTC, now, now-24h, now-7d), so that
// --from/--to flags and from/to API parameters accept the same forms as
// the query language. now anchors the relative forms.
func ParseTime(s string, now time.Time) (time.Time, error) {
	t, ok := parseTime(strings.TrimSpace(s), now)
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD, now or now-24h)", s)
	}
	return t, nil
}
