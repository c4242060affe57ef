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

// Dialect selects the SQL a query compiles to.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// CompileOptions tunes Compile; nil means defaults.
type CompileOptions struct {
	// Now anchors relative times (now-24h). Zero means time.Now().
	Now time.Time
	// FirstArg is the number of the first placeholder the condition uses
	// (?1 / $1 when zero), so a caller can put its own arguments first.
	FirstArg int
	// FTSRowids, when not nil, bounds SQLite's FTS5 lookups to rowids in
	// [FTSRowids[0], FTSRowids[1]]. A store that knows the seq range of
	// the searched time window sets it so that a common phrase does not
	// walk its postings for all time; it must cover every row the rest of
	// the search can return.
	FTSRowids *[2]int64
}

// SQL is a compiled condition: Where is a boolean SQL expression over the
// events table whose placeholders (?N in SQLite, $N in PostgreSQL) are
// numbered from FirstArg and bound, in order, to Args.
type SQL struct {
	Where string
	Args  []any
}

// The table and column names the compiled SQL refers to, besides the hot
// columns (see HotColumns).
const (
	// DataColumn holds the whole event: PostgreSQL jsonb; in SQLite JSON
	// or compressed JSON, read through SQLiteData.
	DataColumn = "data"
	// SQLiteData is the SQLite expression for the event's JSON text.
	// mcpsoc_event_json, registered by the SQLite store, decodes a data
	// value in whichever format it was stored.
	SQLiteData = "mcpsoc_event_json(" + DataColumn + ")"
	// SeqColumn is the SQLite integer row key the FTS5 table points to.
	SeqColumn = "seq"
	// FTSTable is the SQLite FTS5 (trigram) table over message.
	FTSTable = "events_fts"
)

// Compile turns a parsed query into a parameterized SQL condition for d.
// Matching rules shared by both dialects, so that both stores return the
// same events for the same query:
//
//   - field:value is exact, case-sensitive equality; on a multi-valued field
//     (event.category, related.ip) any element may match; numbers and
//     booleans compare by their JSON text.
//   - wildcards are case-sensitive (* any run, ? one character).
//   - free text and message:value match a case-insensitive substring of
//     message (ASCII case folding).
//   - NOT matches events where the field is absent.
func Compile(q *Query, d Dialect, opts *CompileOptions) (SQL, error) {
	if d != SQLite && d != Postgres {
		return SQL{}, fmt.Errorf("compiling query: unknown dialect %v", d)
	}
	c := &compiler{d: d, next: 1, now: time.Now()}
	if opts != nil {
		c.ftsRowids = opts.FTSRowids
		if !opts.Now.IsZero() {
			c.now = opts.Now
		}
		if opts.FirstArg > 0 {
			c.next = opts.FirstArg
		}
	}
	if q == nil || q.Root == nil {
		return SQL{Where: "1=1"}, nil
	}
	c.text = q.Text
	var b strings.Builder
	if err := c.node(&b, q.Root, false); err != nil {
		return SQL{}, err
	}
	return SQL{Where: b.String(), Args: c.args}, nil
}

type compiler struct {
	ftsRowids *[2]int64
	d         Dialect
	now       time.Time
	next      int
	args      []any
	text      string
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	n := c.next
	c.next++
	if c.d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?" + strconv.Itoa(n)
}

func (c *compiler) fail(t *Term, format string, a ...any) error {
	return &Error{Query: c.text, Pos: t.Pos, Msg: fmt.Sprintf(format, a...)}
}

// node writes n, or its negation when neg is set (NOT is pushed down to
// the leaves with De Morgan's laws).
func (c *compiler) node(b *strings.Builder, n Node, neg bool) error {
	switch x := n.(type) {
	case *Not:
		return c.node(b, x.Child, !neg)
	case *And, *Or:
		var kids []Node
		isAnd := false
		if a, ok := x.(*And); ok {
			kids, isAnd = a.Children, true
		} else {
			kids = x.(*Or).Children
		}
		sep := " OR "
		if isAnd != neg {
			sep = " AND "
		}
		b.WriteByte('(')
		for i, k := range kids {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := c.node(b, k, neg); err != nil {
				return err
			}
		}
		b.WriteByte(')')
		return nil
	case *Term:
		var lb strings.Builder
		if err := c.term(&lb, x); err != nil {
			return err
		}
		if neg {
			// A leaf over an absent field is NULL in SQL; NOT must still
			// match those events.
			b.WriteString("NOT COALESCE(")
			b.WriteString(lb.String())
			b.WriteString(", FALSE)")
		} else {
			b.WriteString(lb.String())
		}
		return nil
	}
	return fmt.Errorf("compiling query: unknown node %T", n)
}

func (c *compiler) term(b *strings.Builder, t *Term) error {
	if t.Field == "" {
		return c.freeText(b, t)
	}
	col, hot := hotByField[t.Field]
	if !hot {
		return c.jsonTerm(b, t)
	}
	if t.Op == OpExists {
		fmt.Fprintf(b, "%s IS NOT NULL", col.Name)
		return nil
	}
	switch col.Type {
	case TypeMessage:
		if t.Op == OpRange {
			return c.fail(t, "ranges do not apply to message")
		}
		return c.freeText(b, t)
	case TypeTime:
		if t.Op != OpRange {
			return c.fail(t, "@timestamp takes a range")
		}
		return c.timeRange(b, col.Name, t)
	case TypeInt:
		if t.Op == OpRange {
			return c.intRange(b, col.Name, t)
		}
		n, err := strconv.ParseInt(literal(t), 10, 64)
		if err != nil {
			return c.fail(t, "%s takes an integer", t.Field)
		}
		fmt.Fprintf(b, "%s = %s", col.Name, c.arg(n))
		return nil
	case TypeIP:
		if t.Op == OpRange {
			return c.fail(t, "ranges do not apply to %s; use a CIDR block", t.Field)
		}
		return c.ipTerm(b, col.Name, t)
	}
	// TypeText
	if t.Op == OpRange {
		return c.fail(t, "ranges apply to numeric fields and @timestamp, not %s", t.Field)
	}
	if wild(t) {
		if c.d == SQLite {
			// The explicit IS NOT NULL lets SQLite use the partial
			// indexes of user_name, host_name and rule_id (rows
			// without the field are not in them); GLOB alone does not
			// tell the planner that the column is not NULL.
			fmt.Fprintf(b, "(%s IS NOT NULL AND %s GLOB %s)", col.Name, col.Name, c.arg(globPattern(t)))
		} else {
			fmt.Fprintf(b, "%s LIKE %s ESCAPE '\\'", col.Name, c.arg(likePattern(t, false)))
		}
		return nil
	}
	fmt.Fprintf(b, "%s = %s", col.Name, c.arg(literal(t)))
	return nil
}

// freeText matches a case-insensitive substring (with wildcards) of message.
func (c *compiler) freeText(b *strings.Builder, t *Term) error {
	if c.d == Postgres {
		fmt.Fprintf(b, "message ILIKE %s ESCAPE '\\'", c.arg(likePattern(t, true)))
		return nil
	}
	lit := literal(t)
	if !wild(t) && utf8.RuneCountInString(lit) >= 3 {
		// An FTS5 trigram phrase query is a substring match that the
		// index answers.
		phrase := `"` + strings.ReplaceAll(lit, `"`, `""`) + `"`
		fmt.Fprintf(b, "%s IN (SELECT rowid FROM %s WHERE %s MATCH %s", SeqColumn, FTSTable, FTSTable, c.arg(phrase))
		if r := c.ftsRowids; r != nil {
			fmt.Fprintf(b, " AND rowid BETWEEN %s AND %s", c.arg(r[0]), c.arg(r[1]))
		}
		b.WriteByte(')')
		return nil
	}
	fmt.Fprintf(b, "message LIKE %s ESCAPE '\\'", c.arg(likePattern(t, true)))
	return nil
}

func (c *compiler) timeRange(b *strings.Builder, col string, t *Term) error {
	var parts []string
	bound := func(s string, incl bool, lower bool) error {
		if s == "" {
			return nil
		}
		tm, ok := parseTime(s, c.now)
		if !ok {
			return c.fail(t, "%q is not a time", s)
		}
		op := map[[2]bool]string{{true, true}: ">=", {true, false}: ">", {false, true}: "<=", {false, false}: "<"}[[2]bool{lower, incl}]
		parts = append(parts, col+" "+op+" "+c.timeArg(tm))
		return nil
	}
	if err := bound(t.Lo, t.LoIncl, true); err != nil {
		return err
	}
	if err := bound(t.Hi, t.HiIncl, false); err != nil {
		return err
	}
	b.WriteString("(" + strings.Join(parts, " AND ") + ")")
	return nil
}

// timeArg binds a time the way the dialect stores @timestamp: SQLite as
// microseconds since the epoch, PostgreSQL as timestamptz (also
// microseconds), so both compare at the same precision.
func (c *compiler) timeArg(tm time.Time) string {
	tm = tm.UTC().Truncate(time.Microsecond)
	if c.d == SQLite {
		return c.arg(tm.UnixMicro())
	}
	return c.arg(tm)
}

// intRange turns numeric bounds into inclusive integer bounds, so the
// column's index serves the comparison in both dialects.
func (c *compiler) intRange(b *strings.Builder, col string, t *Term) error {
	var parts []string
	if t.Lo != "" {
		f, ok := parseNumber(t.Lo)
		if !ok {
			return c.fail(t, "range bound %q is not a number", t.Lo)
		}
		lo := math.Ceil(f)
		if !t.LoIncl && lo == f {
			lo++
		}
		if lo > math.MaxInt64/2 {
			b.WriteString("1=0")
			return nil
		}
		if lo > math.MinInt64/2 {
			parts = append(parts, col+" >= "+c.arg(int64(lo)))
		}
	}
	if t.Hi != "" {
		f, ok := parseNumber(t.Hi)
		if !ok {
			return c.fail(t, "range bound %q is not a number", t.Hi)
		}
		hi := math.Floor(f)
		if !t.HiIncl && hi == f {
			hi--
		}
		if hi < math.MinInt64/2 {
			b.WriteString("1=0")
			return nil
		}
		if hi < math.MaxInt64/2 {
			parts = append(parts, col+" <= "+c.arg(int64(hi)))
		}
	}
	if len(parts) == 0 {
		fmt.Fprintf(b, "%s IS NOT NULL", col)
		return nil
	}
	b.WriteString("(" + strings.Join(parts, " AND ") + ")")
	return nil
}

func (c *compiler) ipTerm(b *strings.Builder, col string, t *Term) error {
	addr, prefix, isPrefix, ok := parseIPValue(literal(t))
	if !ok || wild(t) {
		return c.fail(t, "%q is not an IP address or CIDR block", t.Value)
	}
	if c.d == Postgres {
		if isPrefix {
			fmt.Fprintf(b, "%s <<= %s::inet", col, c.arg(prefix.String()))
		} else {
			fmt.Fprintf(b, "%s = %s::inet", col, c.arg(addr.String()))
		}
		return nil
	}
	if !isPrefix {
		fmt.Fprintf(b, "%s = %s", col, c.arg(IPBytes(addr)))
		return nil
	}
	lo := prefix.Addr()
	hi := lastAddr(prefix)
	if lo.BitLen()-prefix.Bits() <= 8 {
		// A block of at most 256 addresses is selective: say so, or the
		// planner, which cannot size a BLOB range, walks the whole time
		// window on the timestamp index instead of this range on the
		// (address, time) index (24 ms instead of 0.8 ms for a /24 at
		// 100,000 events). Larger blocks keep the timestamp order, which
		// stops after one page when the block is common.
		fmt.Fprintf(b, "(likelihood(%s >= %s, 0.01) AND likelihood(%s <= %s, 0.01) AND length(%s) = %d)", col, c.arg(IPBytes(lo)), col, c.arg(IPBytes(hi)), col, lo.BitLen()/8)
		return nil
	}
	fmt.Fprintf(b, "(%s BETWEEN %s AND %s AND length(%s) = %d)", col, c.arg(IPBytes(lo)), c.arg(IPBytes(hi)), col, lo.BitLen()/8)
	return nil
}

// IPBytes is how SQLite stores an address in an IP column: 4 bytes for
// IPv4, 16 for IPv6, so that a CIDR block is a contiguous BLOB range.
// IPv4-mapped IPv6 addresses are stored as IPv4.
func IPBytes(a netip.Addr) []byte { return a.Unmap().AsSlice() }

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// jsonTerm matches a field read from the event JSON.
func (c *compiler) jsonTerm(b *strings.Builder, t *Term) error {
	segs := strings.Split(t.Field, ".")
	if c.d == SQLite {
		return c.sqliteJSON(b, t, segs)
	}
	return c.postgresJSON(b, t, segs)
}

func sqlitePath(segs []string) string {
	var p strings.Builder
	p.WriteByte('$')
	for _, s := range segs {
		p.WriteString(`."`)
		p.WriteString(s)
		p.WriteByte('"')
	}
	return p.String()
}

// sqliteText is the JSON text of a json_each scalar, written the way
// PostgreSQL's #>> writes it.
const sqliteText = "(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END)"

func (c *compiler) sqliteJSON(b *strings.Builder, t *Term, segs []string) error {
	path := sqlitePath(segs)
	if t.Op == OpExists {
		fmt.Fprintf(b, "json_type(%s, %s) IS NOT NULL", SQLiteData, c.arg(path))
		return nil
	}
	pred, err := c.elemPred(t, sqliteText, "j.type IN ('integer','real')", "j.value")
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "EXISTS (SELECT 1 FROM json_each(%s, %s) j WHERE j.type NOT IN ('object','array','null') AND %s)", SQLiteData, c.arg(path), pred)
	return nil
}

func (c *compiler) postgresJSON(b *strings.Builder, t *Term, segs []string) error {
	path := c.arg(segs) + "::text[]"
	if t.Op == OpExists {
		fmt.Fprintf(b, "%s #> %s IS NOT NULL", DataColumn, path)
		return nil
	}
	pred, err := c.elemPred(t, "(x #>> '{}')", "jsonb_typeof(x) = 'number'", "(x #>> '{}')::float8")
	if err != nil {
		return err
	}
	v := DataColumn + " #> " + path
	fmt.Fprintf(b, "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(%s) WHEN 'array' THEN %s ELSE jsonb_build_array(%s) END) x WHERE jsonb_typeof(x) NOT IN ('object','array','null') AND %s)", v, v, v, pred)
	return nil
}

// elemPred is the condition on one scalar element of a JSON field: text is
// its text, isNum tests that it is a number and num is its numeric value.
func (c *compiler) elemPred(t *Term, text, isNum, num string) (string, error) {
	if t.Op == OpRange {
		parts := []string{isNum}
		for _, bd := range []struct {
			v     string
			incl  bool
			lower bool
		}{{t.Lo, t.LoIncl, true}, {t.Hi, t.HiIncl, false}} {
			if bd.v == "" {
				continue
			}
			f, ok := parseNumber(bd.v)
			if !ok {
				return "", c.fail(t, "range bound %q on %s is not a number", bd.v, t.Field)
			}
			op := "<"
			if bd.lower {
				op = ">"
			}
			if bd.incl {
				op += "="
			}
			parts = append(parts, num+" "+op+" "+c.arg(f))
		}
		return strings.Join(parts, " AND "), nil
	}
	v := literal(t)
	if ipField(t.Field) && !wild(t) {
		if _, prefix, isPrefix, ok := parseIPValue(v); isPrefix {
			if !ok {
				return "", c.fail(t, "%q is not a CIDR block", v)
			}
			return "mcpsoc_in_cidr(" + text + ", " + c.arg(prefix.String()) + ")", nil
		} else if addr, _, _, ok := parseIPValue(v); ok {
			v = addr.String()
		}
	}
	if wild(t) {
		if c.d == SQLite {
			return text + " GLOB " + c.arg(globPattern(t)), nil
		}
		return text + " LIKE " + c.arg(likePattern(t, false)) + " ESCAPE '\\'", nil
	}
	return text + " = " + c.arg(v), nil
}
