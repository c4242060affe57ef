// Package textfeed reads indicator lists: plain text (one value a line,
// '#' comments, as abuse.ch and most blocklists publish them) and CSV,
// either MCPSoc's own columns (type,value[,confidence,expires,source]) or
// any layout through a column mapping. It produces intel Batches; bad
// lines are skipped with their line number and reason, never fatal.
package textfeed

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

// MaxLine bounds one line or record.
const MaxLine = 64 << 10

// Mapping says which CSV columns hold what. A column is a 1-based index
// ("3") or, when the file has a header row, its name ("url"). Only Value
// is required.
type Mapping struct {
	Value       string `yaml:"value" json:"value"`
	Type        string `yaml:"type" json:"type,omitempty"`
	Confidence  string `yaml:"confidence" json:"confidence,omitempty"`
	ValidUntil  string `yaml:"valid_until" json:"valid_until,omitempty"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Labels is a column of labels separated by commas, spaces or '|'.
	Labels string `yaml:"labels" json:"labels,omitempty"`
	// Ref is a column naming the record in its source (an id), which
	// relates values sharing it.
	Ref string `yaml:"ref" json:"ref,omitempty"`
}

// Options configure the readers.
type Options struct {
	// Type is the indicator type of every value; "" infers it per value.
	Type ioc.Type
	// Mapping selects CSV columns; nil reads MCPSoc's own layout.
	Mapping *Mapping
	// Header says the first CSV record names the columns (inferred when a
	// mapping uses names).
	Header bool
	// Comma is the CSV field separator (default ',').
	Comma rune
}

// ReadText reads a plain list: the first whitespace-separated word of
// each line is a value; blank lines and lines starting with '#' or ';'
// are skipped, as is anything after " #".
func ReadText(r io.Reader, o *Options) (intel.Batch, error) {
	if o == nil {
		o = &Options{}
	}
	var b intel.Batch
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if i := strings.Index(s, " #"); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		v := strings.Fields(s)[0]
		e, err := entry(o.Type, v)
		if err != nil {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: fmt.Sprintf("line %d", line), Reason: err.Error()})
			continue
		}
		b.Entries = append(b.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return b, fmt.Errorf("reading list at line %d: %w", line+1, err)
	}
	return b, nil
}

// entry checks one value: it must normalize as its type (given or
// inferred).
func entry(t ioc.Type, v string) (intel.Entry, error) {
	n, err := ioc.Normalize(ioc.Indicator{Type: t, Value: v})
	if err != nil {
		return intel.Entry{}, err
	}
	return intel.Entry{Type: n.Type, Value: n.Value}, nil
}

// typeAliases maps the type names feeds use to ours.
var typeAliases = map[string]ioc.Type{
	"ip": ioc.IP, "ipv4": ioc.IP, "ipv6": ioc.IP, "ip-src": ioc.IP, "ip-dst": ioc.IP, "ipv4-addr": ioc.IP, "ipv6-addr": ioc.IP,
	"cidr": ioc.CIDR, "netblock": ioc.CIDR, "ip-range": ioc.CIDR,
	"domain": ioc.Domain, "hostname": ioc.Domain, "domain-name": ioc.Domain, "fqdn": ioc.Domain,
	"url": ioc.URL, "uri": ioc.URL,
	"md5": ioc.MD5, "sha1": ioc.SHA1, "sha-1": ioc.SHA1, "sha256": ioc.SHA256, "sha-256": ioc.SHA256,
	"sha512": ioc.SHA512, "sha-512": ioc.SHA512,
	"email": ioc.Email, "email-addr": ioc.Email, "email-src": ioc.Email, "email-dst": ioc.Email,
}

// ParseType reads a feed's type name ("" stays "", meaning infer).
func ParseType(s string) (ioc.Type, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if t, ok := typeAliases[s]; ok {
		return t, nil
	}
	return "", fmt.Errorf("unknown indicator type %q", s)
}

// ReadCSV reads a CSV list. Without a mapping the columns are
// type,value[,confidence,expires,source] (type may be empty: inferred;
// expires is RFC 3339 or YYYY-MM-DD; a header whose first field is "type"
// is skipped). Lines starting with '#' are comments.
func ReadCSV(r io.Reader, o *Options) (intel.Batch, error) {
	if o == nil {
		o = &Options{}
	}
	var b intel.Batch
	cr := csv.NewReader(bufio.NewReader(io.LimitReader(r, 1<<40)))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	if o.Comma != 0 {
		cr.Comma = o.Comma
	}
	m := o.Mapping
	if m == nil {
		m = &Mapping{Type: "1", Value: "2", Confidence: "3", ValidUntil: "4", Ref: "5"}
	}
	cols, byName, err := columns(m)
	if err != nil {
		return b, err
	}
	header := o.Header || byName
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: fmt.Sprintf("line %d", pe.Line), Reason: pe.Err.Error()})
			if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
				continue
			}
			return b, fmt.Errorf("reading CSV: %w", err)
		}
		if err != nil {
			return b, fmt.Errorf("reading CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if header {
				if err := cols.resolve(rec); err != nil {
					return b, err
				}
				continue
			}
			if o.Mapping == nil && strings.EqualFold(strings.TrimSpace(rec[0]), "type") {
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		e, err := cols.entry(rec, o.Type)
		if err != nil {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: fmt.Sprintf("line %d", line), Reason: err.Error()})
			continue
		}
		b.Entries = append(b.Entries, e)
	}
}

// colSet is a mapping resolved to 0-based indexes (-1: absent).
type colSet struct {
	names                                      map[string]*int
	value, typ, conf, until, desc, labels, ref int
}

func columns(m *Mapping) (*colSet, bool, error) {
	c := &colSet{names: map[string]*int{}}
	byName := false
	set := func(dst *int, spec, what string, required bool) error {
		spec = strings.TrimSpace(spec)
		*dst = -1
		if spec == "" {
			if required {
				return fmt.Errorf("column mapping needs a %s column", what)
			}
			return nil
		}
		if n, err := strconv.Atoi(spec); err == nil {
			if n < 1 || n > 1000 {
				return fmt.Errorf("%s column %d out of 1-1000", what, n)
			}
			*dst = n - 1
			return nil
		}
		byName = true
		c.names[strings.ToLower(spec)] = dst
		return nil
	}
	for _, f := range []struct {
		dst      *int
		spec     string
		what     string
		required bool
	}{
		{&c.value, m.Value, "value", true}, {&c.typ, m.Type, "type", false}, {&c.conf, m.Confidence, "confidence", false},
		{&c.until, m.ValidUntil, "valid_until", false}, {&c.desc, m.Description, "description", false},
		{&c.labels, m.Labels, "labels", false}, {&c.ref, m.Ref, "ref", false},
	} {
		if err := set(f.dst, f.spec, f.what, f.required); err != nil {
			return nil, false, err
		}
	}
	return c, byName, nil
}

// resolve maps column names to indexes from the header record.
func (c *colSet) resolve(header []string) error {
	for name, dst := range c.names {
		*dst = -1
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "#")), name) {
				*dst = i
				break
			}
		}
		if *dst < 0 {
			return fmt.Errorf("CSV header has no column %q", name)
		}
	}
	return nil
}

func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func (c *colSet) entry(rec []string, t ioc.Type) (intel.Entry, error) {
	v := field(rec, c.value)
	if v == "" {
		return intel.Entry{}, fmt.Errorf("no value in column %d", c.value+1)
	}
	if s := field(rec, c.typ); s != "" {
		var err error
		if t, err = ParseType(s); err != nil {
			return intel.Entry{}, err
		}
	}
	e, err := entry(t, v)
	if err != nil {
		return e, err
	}
	if s := field(rec, c.conf); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return e, fmt.Errorf("confidence %q is not an integer 0-100", s)
		}
		e.Confidence = n
	}
	if s := field(rec, c.until); s != "" {
		u, err := parseTime(s)
		if err != nil {
			return e, fmt.Errorf("expiry %q: want RFC 3339, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", s)
		}
		e.ValidUntil = u
	}
	e.Description = field(rec, c.desc)
	e.Ref = field(rec, c.ref)
	if s := field(rec, c.labels); s != "" {
		e.Labels = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '|' || r == ';' })
	}
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}
