package sigma

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Options configure rule compilation and routing. The zero value (or nil)
// means: the default logsource table, the default field mappings, no
// placeholder values, and keyword fields "message" and "event.original".
type Options struct {
	// Logsources routes events to rules; nil means DefaultLogsourceConfig.
	Logsources *LogsourceConfig `yaml:"logsources,omitempty" json:"logsources,omitempty"`
	// FieldMappings rename Sigma fields per logsource; nil means
	// DefaultFieldMappings, an empty non-nil slice means none.
	FieldMappings []FieldMapping `yaml:"field_mappings,omitempty" json:"field_mappings,omitempty"`
	// Placeholders are the values of %name% placeholders for the expand
	// modifier, keyed by name without the percent signs. A rule that uses
	// an unknown placeholder is rejected.
	Placeholders map[string][]string `yaml:"placeholders,omitempty" json:"placeholders,omitempty"`
	// KeywordFields are the event fields a keyword search (a value list
	// with no field name) looks in; nil means DefaultKeywordFields().
	KeywordFields []string `yaml:"keyword_fields,omitempty" json:"keyword_fields,omitempty"`
}

// DefaultKeywordFields returns the fields keyword searches read by default:
// the raw line as MCPSoc's parsers keep it, and generic message fields.
func DefaultKeywordFields() []string { return []string{"message", "event.original", "Message"} }

func (o *Options) withDefaults() *Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Logsources == nil {
		c.Logsources = DefaultLogsourceConfig()
	}
	if c.FieldMappings == nil {
		c.FieldMappings = DefaultFieldMappings()
	}
	if c.KeywordFields == nil {
		c.KeywordFields = DefaultKeywordFields()
	}
	return &c
}

// fieldTable interns event field names to small integers.
type fieldTable struct {
	ids   map[string]int
	names []string
}

func (t *fieldTable) intern(name string) int {
	if id, ok := t.ids[name]; ok {
		return id
	}
	id := len(t.names)
	t.ids[name] = id
	t.names = append(t.names, name)
	return id
}

// Ruleset is a set of compiled rules and the errors met while loading them.
// Load everything first, then build engines: loading is not safe
// concurrently with engines built from the same Ruleset.
type Ruleset struct {
	Rules  []*Rule
	Errors []*RuleError
	// Documents counts rule and filter documents seen (compiled or not);
	// correlation documents are listed in Skipped instead.
	Documents int
	// Skipped lists documents that are not detection rules (correlations),
	// by file:line, for other engines to pick up.
	Skipped []string
	// Filters are the compiled meta-filter documents; engines AND their
	// conditions into the rules they name.
	Filters []*Filter

	opts       *Options
	fields     *fieldTable
	keywordIDs []int
	router     *router
}

// NewRuleset returns an empty ruleset compiled with opts (nil: defaults).
func NewRuleset(opts *Options) *Ruleset {
	rs := &Ruleset{opts: opts.withDefaults(), fields: &fieldTable{ids: map[string]int{}}}
	for _, f := range rs.opts.KeywordFields {
		rs.keywordIDs = append(rs.keywordIDs, rs.fields.intern(f))
	}
	rs.router = newRouter(rs.opts.Logsources, rs.fields)
	return rs
}

// Select returns a ruleset sharing rs's compiled state with only the rules
// keep accepts.
func (rs *Ruleset) Select(keep func(*Rule) bool) *Ruleset {
	out := *rs
	out.Rules = nil
	for _, r := range rs.Rules {
		if keep(r) {
			out.Rules = append(out.Rules, r)
		}
	}
	return &out
}

// LoadDir loads every .yml and .yaml file under each root, recursively. A
// bad rule is recorded in rs.Errors and never stops the others; the error
// returned is only for roots that cannot be walked.
func (rs *Ruleset) LoadDir(roots ...string) error {
	var errs []error
	for _, root := range roots {
		var files []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				rs.Errors = append(rs.Errors, &RuleError{File: p, Reason: err.Error()})
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(p)); ext == ".yml" || ext == ".yaml" {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("loading rules from %q: %w", root, err))
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				rs.Errors = append(rs.Errors, &RuleError{File: f, Reason: err.Error()})
				continue
			}
			rs.AddFile(f, data)
		}
	}
	rs.checkFilters()
	return errors.Join(errs...)
}

// maxRuleFileSize bounds one rule file; real rules are a few kilobytes.
const maxRuleFileSize = 4 << 20

// AddFile parses and compiles every document of one rule file. It returns
// the number of rules added; failures are appended to rs.Errors.
func (rs *Ruleset) AddFile(name string, data []byte) int {
	if len(data) > maxRuleFileSize {
		rs.Errors = append(rs.Errors, &RuleError{File: name, Reason: fmt.Sprintf("file is %d bytes, limit %d", len(data), maxRuleFileSize)})
		return 0
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var global *yaml.Node
	var previous *yaml.Node
	added := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rs.Errors = append(rs.Errors, &RuleError{File: name, Line: yamlErrLine(err), Reason: "yaml: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			rs.Documents++
			rs.Errors = append(rs.Errors, &RuleError{File: name, Line: root.Line, Reason: "rule document must be a map"})
			continue
		}
		if act := mapGet(root, "action"); act != nil {
			switch act.Value {
			case "global":
				global = stripKey(root, "action")
				continue
			case "reset":
				global = nil
				continue
			case "repeat":
				if previous == nil {
					rs.Documents++
					rs.Errors = append(rs.Errors, &RuleError{File: name, Line: act.Line, Reason: "action: repeat with no previous rule"})
					continue
				}
				root = mergeMaps(previous, stripKey(root, "action"))
			default:
				rs.Documents++
				rs.Errors = append(rs.Errors, &RuleError{File: name, Line: act.Line, Reason: fmt.Sprintf("unknown action %q", act.Value)})
				continue
			}
		} else if global != nil {
			root = mergeMaps(global, root)
		}
		previous = root
		if mapGet(root, "correlation") != nil {
			rs.Skipped = append(rs.Skipped, fmt.Sprintf("%s:%d", name, root.Line))
			continue
		}
		if fn := mapGet(root, "filter"); fn != nil {
			rs.Documents++
			f, err := rs.compileFilter(name, root, fn)
			if err != nil {
				re := &RuleError{File: name, Line: root.Line, Reason: err.Error()}
				var le *lineError
				if errors.As(err, &le) && le.line > 0 {
					re.Line = le.line
				}
				if f != nil {
					re.RuleID, re.Title = f.ID, f.Title
				}
				rs.Errors = append(rs.Errors, re)
				continue
			}
			rs.Filters = append(rs.Filters, f)
			continue
		}
		rs.Documents++
		r, err := rs.compileRule(name, root)
		if err != nil {
			re := &RuleError{File: name, Line: root.Line, Reason: err.Error()}
			var le *lineError
			if errors.As(err, &le) && le.line > 0 {
				re.Line = le.line
			}
			if r != nil {
				re.RuleID, re.Title = r.ID, r.Title
			}
			rs.Errors = append(rs.Errors, re)
			continue
		}
		rs.Rules = append(rs.Rules, r)
		added++
	}
	return added
}

func yamlErrLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &n)
	}
	return n
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func stripKey(m *yaml.Node, key string) *yaml.Node {
	out := *m
	out.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	return &out
}

// mergeMaps returns base overlaid with over: nested maps merge, anything
// else in over replaces base's value.
func mergeMaps(base, over *yaml.Node) *yaml.Node {
	out := *over
	out.Content = nil
	seen := map[string]bool{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		k, bv := base.Content[i], base.Content[i+1]
		if ov := mapGet(over, k.Value); ov != nil {
			seen[k.Value] = true
			if bv.Kind == yaml.MappingNode && ov.Kind == yaml.MappingNode {
				out.Content = append(out.Content, k, mergeMaps(bv, ov))
			} else {
				out.Content = append(out.Content, k, ov)
			}
			continue
		}
		out.Content = append(out.Content, k, bv)
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		if !seen[over.Content[i].Value] {
			out.Content = append(out.Content, over.Content[i], over.Content[i+1])
		}
	}
	return &out
}

var validLevels = map[string]bool{"": true, "informational": true, "low": true, "medium": true, "high": true, "critical": true}

// compileRule builds a Rule from one document. On error the returned rule,
// when non-nil, carries the metadata read so far.
func (rs *Ruleset) compileRule(file string, root *yaml.Node) (*Rule, error) {
	r := &Rule{File: file, Line: root.Line}
	var det, ls *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		var err error
		switch k.Value {
		case "title":
			r.Title, err = scalar(v)
		case "id":
			r.ID, err = scalar(v)
		case "name":
			r.Name, err = scalar(v)
		case "status":
			r.Status, err = scalar(v)
		case "description":
			r.Description, err = scalar(v)
		case "level":
			r.Level, err = scalar(v)
			if err == nil && !validLevels[r.Level] {
				err = errAt(v, "unknown level %q", r.Level)
			}
		case "author":
			r.Author, err = scalar(v)
		case "date":
			r.Date, err = scalar(v)
		case "modified":
			r.Modified, err = scalar(v)
		case "tags":
			r.Tags, err = scalarList(v)
		case "references":
			r.References, err = scalarList(v)
		case "falsepositives":
			r.Falsepositives, err = scalarList(v)
		case "fields":
			r.Fields, err = scalarList(v)
		case "logsource":
			ls = v
		case "detection":
			det = v
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", k.Value, err)
		}
	}
	if r.Title == "" {
		return r, errAt(root, "rule has no title")
	}
	if ls == nil {
		return r, errAt(root, "rule has no logsource")
	}
	if ls.Kind != yaml.MappingNode {
		return r, errAt(ls, "logsource must be a map")
	}
	for i := 0; i+1 < len(ls.Content); i += 2 {
		k, v := ls.Content[i], ls.Content[i+1]
		s, err := scalar(v)
		if err != nil {
			return r, fmt.Errorf("logsource.%s: %w", k.Value, err)
		}
		switch k.Value {
		case "product":
			r.Logsource.Product = strings.ToLower(s)
		case "category":
			r.Logsource.Category = strings.ToLower(s)
		case "service":
			r.Logsource.Service = strings.ToLower(s)
		case "definition":
			r.Logsource.Definition = s
		}
	}
	if det == nil {
		return r, errAt(root, "rule has no detection")
	}
	c := &compiler{rs: rs, unmapped: map[string]bool{}}
	for _, fm := range rs.opts.FieldMappings {
		if !fm.Logsource.covers(r.Logsource) {
			continue
		}
		if c.mapping == nil {
			c.mapping = map[string][]string{}
		}
		c.mapped = true
		for k, v := range fm.Fields {
			if _, ok := c.mapping[k]; !ok {
				c.mapping[k] = v
			}
		}
	}
	d, err := c.compileDetection(det)
	if err != nil {
		return r, err
	}
	r.det = d
	for f := range c.unmapped {
		r.UnmappedFields = append(r.UnmappedFields, f)
	}
	sort.Strings(r.UnmappedFields)
	r.Hash = docHash(root)
	return r, nil
}

// docHash digests a YAML document's content: node kinds, scalar tags and
// values, list order; not map key order, comments, styles or positions, so
// an equivalent rewrite of a rule keeps its hash.
func docHash(root *yaml.Node) string {
	return hex.EncodeToString(nodeDigest(root)[:12])
}

func nodeDigest(n *yaml.Node) []byte {
	h := sha256.New()
	buf := []byte{byte(n.Kind)}
	switch n.Kind {
	case yaml.ScalarNode, yaml.AliasNode:
		// An alias is digested by its anchor's name, whose content is
		// digested where it is defined: following aliases could expand
		// without bound.
		tag := n.ShortTag()
		if n.Kind == yaml.AliasNode {
			tag = ""
		}
		buf = binary.AppendUvarint(buf, uint64(len(tag)))
		buf = append(buf, tag...)
		buf = binary.AppendUvarint(buf, uint64(len(n.Value)))
		buf = append(buf, n.Value...)
		h.Write(buf)
	case yaml.MappingNode:
		var pairs [][]byte
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := sha256.New()
			p.Write(nodeDigest(n.Content[i]))
			p.Write(nodeDigest(n.Content[i+1]))
			pairs = append(pairs, p.Sum(nil))
		}
		sort.Slice(pairs, func(i, j int) bool { return bytes.Compare(pairs[i], pairs[j]) < 0 })
		h.Write(buf)
		for _, p := range pairs {
			h.Write(p)
		}
	default:
		h.Write(buf)
		for _, c := range n.Content {
			h.Write(nodeDigest(c))
		}
	}
	return h.Sum(nil)
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", errAt(v, "expected a single value")
	}
	if v.ShortTag() == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

func scalarList(v *yaml.Node) ([]string, error) {
	if v.Kind == yaml.ScalarNode {
		if v.ShortTag() == "!!null" {
			return nil, nil
		}
		return []string{v.Value}, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v, "expected a list of values")
	}
	out := make([]string, 0, len(v.Content))
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode {
			return nil, errAt(it, "expected a value")
		}
		out = append(out, it.Value)
	}
	return out, nil
}
