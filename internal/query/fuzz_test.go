package query

import (
	"errors"
	"testing"
)

// FuzzParse: no input panics; whatever parses has a canonical form that
// parses back to itself, and compiles for both dialects with exactly one
// argument per placeholder.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"source.ip:10.0.0.0/8 AND destination.port:[1 TO 1024]",
		`NOT (event.action:block OR "failed password") user.name:adm*`,
		"@timestamp>=now-24h related.ip:2001:db8::/32",
		`url.original:*login\* labels.env:{a TO b}`,
		"destination.port:<22 OR destination.port:>=1024",
		`(((a)))`, `"unterminated`, `a:"b\"c"`, "x:[* TO 5]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := Parse(in)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) returned %T, want *Error", in, err)
			}
			if qe.Pos < 0 || qe.Pos > len(in) {
				t.Fatalf("Parse(%q) error position %d outside the input", in, qe.Pos)
			}
			return
		}
		canon := q.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, in, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q", canon, again.String())
		}
		for _, d := range []Dialect{SQLite, Postgres} {
			s, err := Compile(q, d, nil)
			if err != nil {
				t.Fatalf("Compile(%q, %v) after a successful Parse: %v", in, d, err)
			}
			checkPlaceholders(t, d, s, 1)
		}
	})
}
