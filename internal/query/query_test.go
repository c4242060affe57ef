package query

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"field value", "source.ip:192.0.2.1", "source.ip:192.0.2.1"},
		{"ipv6 value keeps colons", "source.ip:2001:db8::1", "source.ip:2001:db8::1"},
		{"cidr", "source.ip:10.0.0.0/8", "source.ip:10.0.0.0/8"},
		{"implicit and", "a:1 b:2", "a:1 AND b:2"},
		{"precedence", "a:1 OR b:2 c:3", "a:1 OR (b:2 AND c:3)"},
		{"parens", "(a:1 OR b:2) c:3", "(a:1 OR b:2) AND c:3"},
		{"not", "NOT a:1", "NOT a:1"},
		{"double not", "NOT NOT a:1", "NOT NOT a:1"},
		{"not group", "NOT (a:1 OR b:2)", "NOT (a:1 OR b:2)"},
		{"phrase", `"failed password"`, `"failed password"`},
		{"field phrase", `user.name:"john doe"`, `user.name:"john doe"`},
		{"field space phrase", `user.name: "john doe"`, `user.name:"john doe"`},
		{"wildcards", "user.name:adm?n*", "user.name:adm?n*"},
		{"escaped wildcard", `file.name:a\*b`, `file.name:a\*b`},
		{"exists", "url.original:*", "url.original:*"},
		{"range", "destination.port:[1 TO 1024]", "destination.port:[1 TO 1024]"},
		{"exclusive range", "destination.port:{1 TO 1024}", "destination.port:{1 TO 1024}"},
		{"mixed range", "destination.port:[1 TO 1024}", "destination.port:[1 TO 1024}"},
		{"open range", "destination.port:[1024 TO *]", "destination.port:[1024 TO *}"},
		{"gte", "destination.port>=1024", "destination.port:[1024 TO *}"},
		{"colon lt", "destination.port:<22", "destination.port:{* TO 22}"},
		{"time comparison", "@timestamp>=2026-11-20T00:00:00Z", "@timestamp:[2026-11-20T00:00:00Z TO *}"},
		{"relative time", "@timestamp>now-24h", "@timestamp:{now-24h TO *}"},
		{"time range", "@timestamp:[2026-11-01 TO 2026-11-02]", "@timestamp:[2026-11-01 TO 2026-11-02]"},
		{"free text", "denied", "denied"},
		{"lowercase keywords are words", "a and b", "a AND and AND b"},
		{"explicit and", "a:1 AND b:2", "a:1 AND b:2"},
		{"blank", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Parse(q.String())
			if err != nil || again.String() != q.String() {
				t.Fatalf("canonical form %q does not parse back: %v", q.String(), err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"(a:1", 0, "never closed"},
		{"a:1)", 3, "unbalanced ')'"},
		{`"open`, 0, "unterminated"},
		{"a:1 AND", 7, "term was expected"},
		{"OR a:1", 0, "needs a term"},
		{"()", 1, "empty parentheses"},
		{"destination.port:[1 TO", 17, "never closed"},
		{"destination.port:[1 2]", 17, "[lo TO hi]"},
		{"destination.port:[* TO *]", 17, "bounds nothing"},
		{"destination.port:[a TO 5]", 0, "not a number"},
		{"destination.port:http", 0, "integer"},
		{"destination.port:8*", 0, "wildcards"},
		{"source.ip:10.0.*", 0, "CIDR"},
		{"source.ip:10.0.0.0/33", 0, "not a CIDR block"},
		{"source.ip:banana", 0, "not an IP address"},
		{"x source.ip:[1 TO 2]", 2, "ranges apply"},
		{"@timestamp:2026-11-20", 0, "takes a range"},
		{"@timestamp>=yesterday", 0, "not a time"},
		{"user.name:", 10, "has no value"},
		{"user.name>=", 11, "has no value"},
		{"us$er:x", 0, "invalid field name"},
		{"user.name:[a TO b]", 0, "ranges apply"},
		{"a\x00b", 1, "valid UTF-8"},
		{"user.name:\xff", 10, "valid UTF-8"},
		{strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), 64, "nested deeper"},
		{strings.Repeat("a ", 300), 512, "more than 256 terms"},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 30)], func(t *testing.T) {
			_, err := Parse(tt.in)
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) error = %v, want *Error", tt.in, err)
			}
			if qe.Pos != tt.pos || !strings.Contains(qe.Msg, tt.msg) {
				t.Fatalf("Parse(%q) = %q at %d, want %q at %d", tt.in, qe.Msg, qe.Pos, tt.msg, tt.pos)
			}
			if !strings.Contains(err.Error(), "column") {
				t.Fatalf("error text %q does not give the column", err)
			}
		})
	}
}

func TestTimeBounded(t *testing.T) {
	tests := map[string]bool{
		"":                                     false,
		"a:1":                                  false,
		"@timestamp>=now-1h":                   true,
		"@timestamp<now":                       false,
		"a:1 @timestamp:[2026-01-01 TO *]":     true,
		"@timestamp>=now-1h OR a:1":            false,
		"@timestamp>=now-1h OR @timestamp>now": true,
		"NOT @timestamp<now-1h":                false,
	}
	for in, want := range tests {
		q, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.TimeBounded(); got != want {
			t.Errorf("TimeBounded(%q) = %v, want %v", in, got, want)
		}
	}
}

var placeholder = map[Dialect]*regexp.Regexp{SQLite: regexp.MustCompile(`\?(\d+)`), Postgres: regexp.MustCompile(`\$(\d+)`)}

// checkPlaceholders verifies that the placeholders are exactly
// first..first+len(args)-1.
func checkPlaceholders(t testing.TB, d Dialect, s SQL, first int) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range placeholder[d].FindAllStringSubmatch(s.Where, -1) {
		seen[m[1]] = true
	}
	if len(seen) != len(s.Args) {
		t.Fatalf("%v: %d distinct placeholders for %d args in %s", d, len(seen), len(s.Args), s.Where)
	}
	for i := range s.Args {
		if !seen[strconv.Itoa(first+i)] {
			t.Fatalf("%v: placeholder %d missing in %s", d, first+i, s.Where)
		}
	}
}

// No value from the query text ever reaches the SQL text.
func TestCompileParameterizes(t *testing.T) {
	const marker = "zqzq"
	inputs := []string{
		`user.name:"zqzq' OR 1=1 --"`,
		`zqzq`,
		`"zqzq; DROP TABLE events"`,
		`labels.zqzq:zqzq*`,
		`labels.zqzq:*`,
		`labels.zqzq:[1 TO 2]`,
		`related.ip:10.0.0.0/8 zqzq.ip:192.0.2.1`,
		`NOT host.name:zqzq?`,
		`message:zqzq`,
	}
	for _, in := range inputs {
		q, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		for _, d := range []Dialect{SQLite, Postgres} {
			s, err := Compile(q, d, &CompileOptions{FirstArg: 3})
			if err != nil {
				t.Fatalf("Compile(%q, %v): %v", in, d, err)
			}
			if strings.Contains(s.Where, marker) {
				t.Fatalf("Compile(%q, %v) put input text into SQL: %s", in, d, s.Where)
			}
			checkPlaceholders(t, d, s, 3)
		}
	}
}

func TestCompileShapes(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in             string
		sqlite, pg     string
		sqliteArgs     []any
		pgArgsContains string
	}{
		{in: "source.ip:192.0.2.1", sqlite: "src_ip = ?1", pg: "src_ip = $1::inet"},
		{in: "source.ip:192.0.2.0/24", sqlite: "(likelihood(src_ip >= ?1, 0.01) AND likelihood(src_ip <= ?2, 0.01) AND length(src_ip) = 4)", pg: "src_ip <<= $1::inet"},
		{in: "source.ip:10.0.0.0/8", sqlite: "(src_ip BETWEEN ?1 AND ?2 AND length(src_ip) = 4)", pg: "src_ip <<= $1::inet"},
		{in: "destination.port:[1 TO 1024}", sqlite: "(dst_port >= ?1 AND dst_port <= ?2)", pg: "(dst_port >= $1 AND dst_port <= $2)", sqliteArgs: []any{int64(1), int64(1023)}},
		{in: "@timestamp>=now-24h", sqlite: "(ts >= ?1)", pg: "(ts >= $1)", sqliteArgs: []any{now.Add(-24 * time.Hour).UnixMicro()}},
		{in: "NOT user.name:root", sqlite: "NOT COALESCE(user_name = ?1, FALSE)", pg: "NOT COALESCE(user_name = $1, FALSE)"},
		{in: "user.name:adm*", sqlite: "(user_name IS NOT NULL AND user_name GLOB ?1)", pg: `user_name LIKE $1 ESCAPE '\'`, sqliteArgs: []any{"adm*"}},
		{in: "failed", sqlite: "seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?1)", pg: `message ILIKE $1 ESCAPE '\'`, sqliteArgs: []any{`"failed"`}},
		{in: "", sqlite: "1=1", pg: "1=1"},
		// Fields without a column: SQLite reads the JSON through the
		// store's decoder function, PostgreSQL the jsonb column itself.
		{in: "observer.name:*", sqlite: "json_type(mcpsoc_event_json(data), ?1) IS NOT NULL", pg: "data #> $1::text[] IS NOT NULL", sqliteArgs: []any{`$."observer"."name"`}},
		{in: "observer.name:fw", sqlite: "EXISTS (SELECT 1 FROM json_each(mcpsoc_event_json(data), ?2) j WHERE j.type NOT IN ('object','array','null') AND " + sqliteText + " = ?1)",
			pg: "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(data #> $1::text[]) WHEN 'array' THEN data #> $1::text[] ELSE jsonb_build_array(data #> $1::text[]) END) x WHERE jsonb_typeof(x) NOT IN ('object','array','null') AND (x #>> '{}') = $2)"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Compile(q, SQLite, &CompileOptions{Now: now})
		if err != nil || s.Where != tt.sqlite {
			t.Errorf("SQLite %q = %q, %v; want %q", tt.in, s.Where, err, tt.sqlite)
		}
		if tt.sqliteArgs != nil && !equalArgs(s.Args, tt.sqliteArgs) {
			t.Errorf("SQLite %q args = %#v, want %#v", tt.in, s.Args, tt.sqliteArgs)
		}
		p, err := Compile(q, Postgres, &CompileOptions{Now: now})
		if err != nil || p.Where != tt.pg {
			t.Errorf("Postgres %q = %q, %v; want %q", tt.in, p.Where, err, tt.pg)
		}
	}
}

func equalArgs(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		raw        string
		quoted     bool
		like, glob string
	}{
		{raw: "a*b?c", like: "a%b_c", glob: "a*b?c"},
		{raw: `a\*b`, like: "a*b", glob: "a[*]b"},
		{raw: "50%_x", like: `50\%\_x`, glob: "50%_x"},
		{raw: "[x]", like: "[x]", glob: "[[]x]"},
		{raw: "a*b", quoted: true, like: "a*b", glob: "a[*]b"},
		{raw: `back\\slash`, like: `back\\slash`, glob: `back\slash`},
	}
	for _, tt := range tests {
		term := &Term{Value: tt.raw, Quoted: tt.quoted}
		if got := likePattern(term, false); got != tt.like {
			t.Errorf("likePattern(%q) = %q, want %q", tt.raw, got, tt.like)
		}
		if got := globPattern(term); got != tt.glob {
			t.Errorf("globPattern(%q) = %q, want %q", tt.raw, got, tt.glob)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Time{
		"now":                       now,
		"now-24h":                   now.Add(-24 * time.Hour),
		"now-7d":                    now.AddDate(0, 0, -7),
		"now-90m":                   now.Add(-90 * time.Minute),
		"now+1w":                    now.AddDate(0, 0, 7),
		"2026-11-20":                time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20T10:00:00+01:00": time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		"2026-11-20T10:00:00.5":     time.Date(2026, 11, 20, 10, 0, 0, 5e8, time.UTC),
	}
	for in, want := range tests {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "now-", "now-5y", "now-99999999999999h", "2026-13-01"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}
