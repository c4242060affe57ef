package ioc

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ReadCSV reads an indicator list: one indicator per record,
// "type,value[,confidence,expires,source]". Lines starting with '#' and blank
// lines are skipped, as is a header whose first field is "type". type may be
// empty (inferred from the value); expires is RFC 3339 or YYYY-MM-DD. A bad
// record is an error naming its line: a list is loaded whole or not at all.
func ReadCSV(r io.Reader) ([]Indicator, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []Indicator
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading indicator list: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(rec[0]), "type") {
			continue
		}
		if len(rec) < 2 || len(rec) > 5 {
			return nil, fmt.Errorf("line %d: want type,value[,confidence,expires,source], got %d fields", line, len(rec))
		}
		in := Indicator{Type: Type(strings.ToLower(strings.TrimSpace(rec[0]))), Value: rec[1]}
		switch in.Type {
		case "ipv4", "ipv6", "ip-src", "ip-dst", "ipv4-addr", "ipv6-addr":
			in.Type = IP
		case "hostname", "domain-name", "fqdn":
			in.Type = Domain
		case "sha-1":
			in.Type = SHA1
		case "sha-256":
			in.Type = SHA256
		case "email-addr", "email-src", "email-dst":
			in.Type = Email
		}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			c, err := strconv.Atoi(strings.TrimSpace(rec[2]))
			if err != nil {
				return nil, fmt.Errorf("line %d: confidence %q is not an integer", line, rec[2])
			}
			in.Confidence = c
		}
		if len(rec) > 3 && strings.TrimSpace(rec[3]) != "" {
			t, err := parseTime(strings.TrimSpace(rec[3]))
			if err != nil {
				return nil, fmt.Errorf("line %d: expires %q: want RFC 3339 or YYYY-MM-DD", line, rec[3])
			}
			in.Expires = t
		}
		if len(rec) > 4 {
			in.Source = strings.TrimSpace(rec[4])
		}
		n, err := Normalize(in)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, n)
	}
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

// stixObject is the part of a STIX 2.1 object ReadSTIX uses.
type stixObject struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Pattern    string          `json:"pattern"`
	PatternTyp string          `json:"pattern_type"`
	ValidUntil string          `json:"valid_until"`
	Confidence *int            `json:"confidence"`
	Revoked    bool            `json:"revoked"`
	Objects    json.RawMessage `json:"objects"`
}

// ReadSTIX reads STIX 2.1 JSON: a bundle, a TAXII envelope ({"objects":[…]}),
// one indicator object or an array of objects. Indicators with pattern_type
// stix (or none) whose pattern ParsePattern understands become Indicators;
// valid_until becomes Expires and confidence is kept. Revoked indicators and
// other object types are skipped. Patterns it cannot read are returned in
// skipped with the reason.
func ReadSTIX(data []byte) (inds []Indicator, skipped []string, err error) {
	data = []byte(strings.TrimSpace(string(data)))
	var objs []stixObject
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &objs); err != nil {
			return nil, nil, fmt.Errorf("reading STIX objects: %w", err)
		}
	} else {
		var top stixObject
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, nil, fmt.Errorf("reading STIX: %w", err)
		}
		if len(top.Objects) > 0 {
			if err := json.Unmarshal(top.Objects, &objs); err != nil {
				return nil, nil, fmt.Errorf("reading STIX objects: %w", err)
			}
		} else {
			objs = []stixObject{top}
		}
	}
	for _, o := range objs {
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if o.PatternTyp != "" && o.PatternTyp != "stix" {
			skipped = append(skipped, fmt.Sprintf("%s: pattern_type %q", o.ID, o.PatternTyp))
			continue
		}
		found, err := ParsePattern(o.Pattern)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", o.ID, err))
			continue
		}
		var exp time.Time
		if o.ValidUntil != "" {
			if exp, err = time.Parse(time.RFC3339Nano, o.ValidUntil); err != nil {
				skipped = append(skipped, fmt.Sprintf("%s: valid_until %q", o.ID, o.ValidUntil))
				continue
			}
		}
		for _, in := range found {
			in.Expires = exp
			if o.Confidence != nil {
				in.Confidence = *o.Confidence
			}
			in.Source = o.ID
			in.Description = o.Name
			n, err := Normalize(in)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s: %v", o.ID, err))
				continue
			}
			inds = append(inds, n)
		}
	}
	return inds, skipped, nil
}

// stixPaths maps the object paths of simple STIX comparisons to indicator
// types.
var stixPaths = map[string]Type{
	"ipv4-addr:value":              IP,
	"ipv6-addr:value":              IP,
	"domain-name:value":            Domain,
	"url:value":                    URL,
	"email-addr:value":             Email,
	"email-message:from_ref.value": Email,
	"file:hashes.md5":              MD5,
	"file:hashes.'md5'":            MD5,
	"file:hashes.'sha-1'":          SHA1,
	"file:hashes.sha1":             SHA1,
	"file:hashes.'sha1'":           SHA1,
	"file:hashes.'sha-256'":        SHA256,
	"file:hashes.sha256":           SHA256,
	"file:hashes.'sha256'":         SHA256,
	"file:hashes.'sha-512'":        SHA512,
	"file:hashes.'sha512'":         SHA512,
}

// ParsePattern reads the simple form of a STIX 2.1 pattern: equality
// comparisons on one observable path each, ORed, inside one or more
// bracketed observation expressions themselves joined by OR, e.g.
// "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'evil.example']".
// ipv4-addr/ipv6-addr values with a prefix become CIDR indicators. AND,
// other operators, qualifiers (WITHIN, REPEATS…) and unknown paths are
// errors: such a pattern cannot be reduced to a list of values.
func ParsePattern(p string) ([]Indicator, error) {
	if len(p) > 64<<10 {
		return nil, fmt.Errorf("pattern longer than 64 KiB")
	}
	l := &lexer{s: p}
	var out []Indicator
	for {
		if !l.eat("[") {
			return nil, fmt.Errorf("pattern: want '[' at offset %d", l.i)
		}
		for {
			path, ok := l.path()
			if !ok {
				return nil, fmt.Errorf("pattern: want an object path at offset %d", l.i)
			}
			t, known := stixPaths[strings.ToLower(path)]
			if !known {
				return nil, fmt.Errorf("pattern: unsupported object path %q", path)
			}
			if !l.eat("=") {
				return nil, fmt.Errorf("pattern: only '=' comparisons are supported (offset %d)", l.i)
			}
			v, ok := l.str()
			if !ok {
				return nil, fmt.Errorf("pattern: want a quoted string at offset %d", l.i)
			}
			if t == IP && strings.Contains(v, "/") {
				t = CIDR
			}
			out = append(out, Indicator{Type: t, Value: v})
			if l.eat("]") {
				break
			}
			if !l.word("OR") {
				return nil, fmt.Errorf("pattern: only OR joins are supported (offset %d)", l.i)
			}
		}
		l.skip()
		if l.i == len(l.s) {
			return out, nil
		}
		if !l.word("OR") {
			return nil, fmt.Errorf("pattern: only OR joins observations (offset %d)", l.i)
		}
	}
}

type lexer struct {
	s string
	i int
}

func (l *lexer) skip() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t' || l.s[l.i] == '\n' || l.s[l.i] == '\r') {
		l.i++
	}
}

func (l *lexer) eat(tok string) bool {
	l.skip()
	if strings.HasPrefix(l.s[l.i:], tok) {
		l.i += len(tok)
		return true
	}
	return false
}

func (l *lexer) word(w string) bool {
	l.skip()
	if len(l.s)-l.i >= len(w) && strings.EqualFold(l.s[l.i:l.i+len(w)], w) {
		end := l.i + len(w)
		if end == len(l.s) || l.s[end] == ' ' || l.s[end] == '[' || l.s[end] == '\t' || l.s[end] == '\n' {
			l.i = end
			return true
		}
	}
	return false
}

// path reads an object path: letters, digits, '-', '_', ':', '.', and
// single-quoted segments (hashes.'SHA-256').
func (l *lexer) path() (string, bool) {
	l.skip()
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == '\'':
			j := strings.IndexByte(l.s[l.i+1:], '\'')
			if j < 0 {
				return "", false
			}
			l.i += j + 2
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == ':', c == '.':
			l.i++
		default:
			return l.s[start:l.i], l.i > start
		}
	}
	return l.s[start:l.i], l.i > start
}

// str reads a single-quoted STIX string with \' and \\ escapes.
func (l *lexer) str() (string, bool) {
	l.skip()
	if l.i >= len(l.s) || l.s[l.i] != '\'' {
		return "", false
	}
	var b strings.Builder
	for j := l.i + 1; j < len(l.s); j++ {
		switch c := l.s[j]; c {
		case '\\':
			if j+1 >= len(l.s) || (l.s[j+1] != '\'' && l.s[j+1] != '\\') {
				return "", false
			}
			b.WriteByte(l.s[j+1])
			j++
		case '\'':
			l.i = j + 1
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}
