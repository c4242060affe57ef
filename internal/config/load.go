package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one configuration problem. File and Line are set when the
// problem can be traced to a place in a file.
type FieldError struct {
	File string
	Line int
	Path string // dotted field path, e.g. mcp.servers[0].url
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems, reported together.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Load reads, expands, strictly decodes and validates the file at path.
// With an empty path it returns Default. Environment variables are read
// with os.LookupEnv.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return c, c.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(path, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("resolving config directory: %w", err)
	}
	c.resolvePaths(dir)
	return c, nil
}

// Parse decodes data (named name in messages) on top of the defaults.
// Only ${NAME} and ${NAME:-default} are expanded, in scalar values; "$${"
// writes a literal "${". An unknown key, a wrong type, an undefined variable
// or an invalid value is an error naming file, line and field.
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := Default()
	lines, err := DecodeYAML(name, data, c, lookupEnv)
	if err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		var ves Errors
		if errors.As(err, &ves) {
			for _, e := range ves {
				e.File = name
				e.Line = lines.Line(e.Path)
			}
			return nil, ves
		}
		return nil, err
	}
	return c, nil
}

// Lines maps dotted field paths (mcp.servers[0].url) to the line they
// were written on, so validation errors can name it.
type Lines map[string]int

// Line returns the line of path or of its nearest ancestor, 0 if unknown.
func (l Lines) Line(path string) int { return lineFor(l, path) }

// DecodeYAML is the strict decoding every MCPSoc config file goes through:
// it parses data (named name in messages), expands ${NAME} and
// ${NAME:-default} in scalar values, refuses any key that names no field
// of dst (a pointer to a struct holding the defaults) and decodes into it.
// Every error names file and line. An empty document leaves dst as it is.
func DecodeYAML(name string, data []byte, dst any, lookupEnv func(string) (string, bool)) (Lines, error) {
	lines := Lines{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		return nil, &FieldError{File: name, Line: yamlErrLine(err), Msg: cleanYAMLErr(err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return lines, nil
	}
	var errs Errors
	expandEnv(root, name, lookupEnv, &errs)
	checkKnown(root, reflect.TypeOf(dst).Elem(), "", name, lines, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := root.Decode(dst); err != nil {
		return nil, decodeErrors(name, err)
	}
	return lines, nil
}

// lineFor finds the line of path or of its nearest ancestor.
func lineFor(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

var envRef = regexp.MustCompile(`\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} references in every scalar value (not keys).
func expandEnv(n *yaml.Node, file string, lookup func(string) (string, bool), errs *Errors) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$${" {
				return "${"
			}
			sub := envRef.FindStringSubmatch(m)
			if v, ok := lookup(sub[1]); ok && v != "" {
				return v
			}
			if sub[2] != "" {
				return sub[3]
			}
			*errs = append(*errs, &FieldError{File: file, Line: n.Line,
				Msg: fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a default)", sub[1], sub[1])})
			return ""
		})
		if n.Style == 0 {
			n.Tag = "" // let the decoder re-resolve an expanded plain scalar (numbers, booleans)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], file, lookup, errs)
		}
	default:
		for _, c := range n.Content {
			expandEnv(c, file, lookup, errs)
		}
	}
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
var obsoleteUnmarshalerType = reflect.TypeOf((*interface {
	UnmarshalYAML(func(any) error) error
})(nil)).Elem()

// checkKnown reports keys that name no field, and records the line of every
// field path it visits.
func checkKnown(n *yaml.Node, t reflect.Type, path, file string, lines map[string]int, errs *Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if path != "" {
		if _, ok := lines[path]; !ok {
			lines[path] = n.Line
		}
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(obsoleteUnmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch with its line
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				checkKnown(v, t, path, file, lines, errs)
				continue
			}
			ft, ok := fields[k.Value]
			fp := join(path, k.Value)
			if !ok {
				*errs = append(*errs, &FieldError{File: file, Line: k.Line, Path: fp,
					Msg: fmt.Sprintf("unknown field %q%s", k.Value, suggest(k.Value, fields))})
				continue
			}
			lines[fp] = k.Line
			checkKnown(v, ft, fp, file, lines, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKnown(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file, lines, errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKnown(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), file, lines, errs)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// suggest names the closest known field for a misspelt key.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for name := range fields {
		d := editDistance(key, name)
		if len(key) >= 4 && (strings.HasPrefix(name, key) || strings.HasPrefix(key, name)) {
			d = min(d, 2) // "quarantine" for "quarantine_dir"
		}
		if d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var (
	lineRE     = regexp.MustCompile(`line (\d+)`)
	lineLeadRE = regexp.MustCompile(`^line \d+: `)
)

func yamlErrLine(err error) int {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func cleanYAMLErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n  ")
	return lineLeadRE.ReplaceAllString(s, "")
}

// decodeErrors turns the decoder's type errors into FieldErrors with lines.
func decodeErrors(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &FieldError{File: file, Line: yamlErrLine(err), Msg: cleanYAMLErr(err)}
	}
	var errs Errors
	for _, e := range te.Errors {
		msg := lineLeadRE.ReplaceAllString(e, "")
		if strings.HasPrefix(msg, "cannot unmarshal") {
			msg = "wrong type: " + msg
		}
		errs = append(errs, &FieldError{File: file, Line: yamlErrLine(errors.New(e)), Msg: msg})
	}
	return errs
}

// resolvePaths makes relative paths absolute against dir, the config file's
// directory, so the process working directory does not matter.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.API.TLS.CertFile)
	abs(&c.API.TLS.KeyFile)
	for i := range c.MCP.Servers {
		abs(&c.MCP.Servers[i].Cwd)
	}
	for i := range c.Ingest.Syslog {
		s := &c.Ingest.Syslog[i]
		abs(&s.TLS.CertFile)
		abs(&s.TLS.KeyFile)
		abs(&s.ClientCAFile)
	}
	for i := range c.Detect.Rules {
		abs(&c.Detect.Rules[i])
	}
	abs(&c.Detect.Anomaly)
	fw := &c.Servers.Firewall
	abs(&fw.Audit)
	abs(&fw.CAFile)
	abs(&fw.DataDir)
	for i := range fw.Logs {
		abs(&fw.Logs[i])
	}
	abs(&c.Servers.Intel.GeoIPCity)
	abs(&c.Servers.Intel.GeoIPASN)
	wf := &c.Servers.WAF
	abs(&wf.ExclusionsDir)
	abs(&wf.Audit)
	for i := range wf.AuditLogs {
		abs(&wf.AuditLogs[i])
	}
	for i := range wf.RuleFiles {
		abs(&wf.RuleFiles[i])
	}
	a := &c.Servers.AV
	abs(&a.ClamdConfig)
	abs(&a.QuarantineDir)
	abs(&a.LogFile)
	abs(&a.Audit)
	for i := range a.AllowedRoots {
		abs(&a.AllowedRoots[i])
	}
	for i := range c.Detect.Intel {
		abs(&c.Detect.Intel[i])
	}
	c.intelPaths(abs)
	for i := range c.Ingest.Files {
		for j := range c.Ingest.Files[i].Paths {
			abs(&c.Ingest.Files[i].Paths[j])
		}
	}
}
