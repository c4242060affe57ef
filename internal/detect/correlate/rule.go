// Package correlate evaluates Sigma correlation rules (specification v2.1):
// event_count, value_count, temporal, temporal_ordered, value_sum,
// value_avg and value_percentile (and pySigma's value_median), with group-by
// keys, aliases, sliding windows on event time, chaining of correlations,
// and bounded per-key state.
//
// It owns parsing correlation documents and the windowed state. It does not
// evaluate single events: the caller feeds it the hits of base rules (from
// internal/detect/sigma) and receives the correlations that fire.
package correlate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"go.yaml.in/yaml/v3"
)

// Type is a correlation type.
type Type string

// The supported correlation types.
const (
	EventCount      Type = "event_count"
	ValueCount      Type = "value_count"
	Temporal        Type = "temporal"
	TemporalOrdered Type = "temporal_ordered"
	ValueSum        Type = "value_sum"
	ValueAvg        Type = "value_avg"
	ValuePercentile Type = "value_percentile"
	// ValueMedian is pySigma's value_median: value_percentile at 50.
	ValueMedian Type = "value_median"
)

// Numeric reports the types that aggregate a numeric field over the window.
func (t Type) Numeric() bool {
	return t == ValueSum || t == ValueAvg || t == ValuePercentile || t == ValueMedian
}

// Condition is a correlation threshold. Set bounds are ANDed.
type Condition struct {
	Field string
	// Percentile is value_percentile's rank, 0 to 100 (nearest rank).
	Percentile *float64
	GT         *float64
	GTE        *float64
	LT         *float64
	LTE        *float64
	EQ         *float64
	NEQ        *float64
}

// holds reports whether n satisfies every set bound.
func (c Condition) holds(n float64) bool {
	return (c.GT == nil || n > *c.GT) && (c.GTE == nil || n >= *c.GTE) &&
		(c.LT == nil || n < *c.LT) && (c.LTE == nil || n <= *c.LTE) &&
		(c.EQ == nil || n == *c.EQ) && (c.NEQ == nil || n != *c.NEQ)
}

// lowerBound is the smallest count that can satisfy c (0 when unbounded
// below).
func (c Condition) lowerBound() float64 {
	lb := 0.0
	for _, v := range []*float64{c.GT, c.GTE, c.EQ} {
		if v != nil && *v > lb {
			lb = *v
		}
	}
	return lb
}

func (c Condition) empty() bool {
	return c.GT == nil && c.GTE == nil && c.LT == nil && c.LTE == nil && c.EQ == nil && c.NEQ == nil
}

// onlyUpperBound reports a condition that can only be decided when a
// window closes ("fewer than N"), which a streaming engine that fires on
// arriving hits cannot evaluate.
func (c Condition) onlyUpperBound() bool {
	return (c.LT != nil || c.LTE != nil) && c.GT == nil && c.GTE == nil && c.EQ == nil && c.NEQ == nil
}

// Rule is one correlation rule.
type Rule struct {
	ID       string
	Name     string
	Title    string
	Level    string
	Status   string
	Tags     []string
	Generate bool
	// Date and Modified are the rule's dates as written (YYYY-MM-DD).
	Date     string
	Modified string

	Type      Type
	Rules     []string
	GroupBy   []string
	Timespan  time.Duration
	Condition Condition
	// Aliases maps an alias used in GroupBy to the field each referenced
	// rule (by name or id) carries it in.
	Aliases map[string]map[string]string

	File string
	Line int
	// Hash identifies the rule's definition: every field above but File
	// and Line and, once the rule is in an engine (New), the Hash of each
	// rule it references, base (sigma.Rule.Hash) or correlation. State
	// kept for a rule survives a reload or restart only into a rule with
	// the same id and hash, so changing a base rule restarts the windows
	// of the correlations over it.
	Hash string
}

// hash digests the rule's own fields (not File, Line or Hash); New folds
// in the referenced rules' hashes.
func (r *Rule) hash() string {
	c := *r
	c.File, c.Line, c.Hash = "", 0, ""
	b, _ := json.Marshal(&c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Load reads every correlation document from .yml/.yaml files under the
// roots. Non-correlation documents are ignored. Per-document problems are
// returned as RuleErrors; the error is for roots that cannot be walked.
func Load(roots ...string) ([]*Rule, []*sigma.RuleError, error) {
	var rules []*Rule
	var rerrs []*sigma.RuleError
	var errs []error
	for _, root := range roots {
		var files []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("loading correlations from %q: %w", root, err))
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				rerrs = append(rerrs, &sigma.RuleError{File: f, Reason: err.Error()})
				continue
			}
			rs, es := Parse(f, data)
			rules = append(rules, rs...)
			rerrs = append(rerrs, es...)
		}
	}
	return rules, rerrs, errors.Join(errs...)
}

// Parse reads the correlation documents of one file.
func Parse(file string, data []byte) ([]*Rule, []*sigma.RuleError) {
	var rules []*Rule
	var errs []*sigma.RuleError
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &sigma.RuleError{File: file, Reason: "yaml: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		if get(root, "correlation") == nil {
			continue
		}
		r, line, err := parseRule(root)
		if err != nil {
			re := &sigma.RuleError{File: file, Line: line, Reason: err.Error()}
			if r != nil {
				re.RuleID, re.Title = r.ID, r.Title
			}
			errs = append(errs, re)
			continue
		}
		r.File = file
		r.Hash = r.hash()
		rules = append(rules, r)
	}
	return rules, errs
}

func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func strList(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: expected a value", it.Line)
			}
			out = append(out, it.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a value or a list")
}

// ParseTimespan reads "<int><unit>" with unit s, m, h, d, w, M (30 days) or
// y (365 days).
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad timespan %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
		'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("bad timespan unit in %q (use s, m, h, d, w, M or y)", s)
	}
	if n > int64((400*24*time.Hour)/unit) {
		return 0, fmt.Errorf("timespan %q is longer than 400 days", s)
	}
	return time.Duration(n) * unit, nil
}

func parseRule(root *yaml.Node) (*Rule, int, error) {
	r := &Rule{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind != yaml.ScalarNode && k.Value != "tags" && k.Value != "correlation" {
			continue
		}
		switch k.Value {
		case "id":
			r.ID = v.Value
		case "name":
			r.Name = v.Value
		case "title":
			r.Title = v.Value
		case "level":
			r.Level = v.Value
		case "status":
			r.Status = v.Value
		case "date":
			r.Date = v.Value
		case "modified":
			r.Modified = v.Value
		case "generate":
			r.Generate = v.Value == "true" || v.Value == "True"
		case "tags":
			tags, err := strList(v)
			if err != nil {
				return r, v.Line, fmt.Errorf("tags: %v", err)
			}
			r.Tags = tags
		}
	}
	if r.Title == "" {
		return r, root.Line, fmt.Errorf("correlation has no title")
	}
	c := get(root, "correlation")
	if c.Kind != yaml.MappingNode {
		return r, c.Line, fmt.Errorf("correlation must be a map")
	}
	var tsNode *yaml.Node
	for i := 0; i+1 < len(c.Content); i += 2 {
		k, v := c.Content[i], c.Content[i+1]
		var err error
		switch k.Value {
		case "type":
			r.Type = Type(v.Value)
		case "rules":
			r.Rules, err = strList(v)
		case "group-by":
			r.GroupBy, err = strList(v)
		case "timespan", "timeframe":
			tsNode = v
			r.Timespan, err = ParseTimespan(v.Value)
		case "condition":
			err = parseCondition(v, &r.Condition)
		case "aliases":
			err = parseAliases(v, r)
		case "generate":
			r.Generate = v.Value == "true" || v.Value == "True"
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return r, v.Line, fmt.Errorf("correlation.%s: %v", k.Value, err)
		}
	}
	switch r.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg, ValuePercentile, ValueMedian:
	case "":
		return r, c.Line, fmt.Errorf("correlation has no type")
	default:
		return r, c.Line, fmt.Errorf("unknown correlation type %q", r.Type)
	}
	if len(r.Rules) == 0 {
		return r, c.Line, fmt.Errorf("correlation references no rules")
	}
	if tsNode == nil {
		return r, c.Line, fmt.Errorf("correlation has no timespan")
	}
	switch r.Type {
	case EventCount, ValueCount:
		if r.Condition.empty() {
			return r, c.Line, fmt.Errorf("%s needs a condition", r.Type)
		}
		if r.Condition.onlyUpperBound() {
			return r, c.Line, fmt.Errorf("condition with only lt/lte cannot fire on arriving events; add gt, gte or eq")
		}
		if r.Type == ValueCount && r.Condition.Field == "" {
			return r, c.Line, fmt.Errorf("value_count needs condition.field")
		}
	case ValueSum, ValueAvg, ValuePercentile, ValueMedian:
		if r.Condition.empty() {
			return r, c.Line, fmt.Errorf("%s needs a condition", r.Type)
		}
		if r.Condition.Field == "" {
			return r, c.Line, fmt.Errorf("%s needs condition.field", r.Type)
		}
		if r.Type == ValueSum && r.Condition.onlyUpperBound() {
			// A sum of non-negative values only grows inside a window, so
			// "below N" would hold on the first hit of every key.
			return r, c.Line, fmt.Errorf("value_sum with only lt/lte cannot fire on arriving events; add gt, gte or eq")
		}
		switch {
		case r.Type == ValuePercentile && r.Condition.Percentile == nil:
			return r, c.Line, fmt.Errorf("value_percentile needs condition.percentile")
		case r.Type != ValuePercentile && r.Condition.Percentile != nil:
			return r, c.Line, fmt.Errorf("condition.percentile applies to value_percentile only")
		}
		if r.Type == ValueMedian {
			half := 50.0
			r.Condition.Percentile = &half
		}
	case Temporal, TemporalOrdered:
		if len(r.Rules) < 2 {
			return r, c.Line, fmt.Errorf("%s needs at least two rules", r.Type)
		}
		if r.Condition.onlyUpperBound() {
			return r, c.Line, fmt.Errorf("condition with only lt/lte cannot fire on arriving events")
		}
	}
	for _, g := range r.GroupBy {
		if g == "" {
			return r, c.Line, fmt.Errorf("empty group-by field")
		}
	}
	return r, root.Line, nil
}

func parseCondition(n *yaml.Node, c *Condition) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a map")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if k == "field" {
			c.Field = v.Value
			continue
		}
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %q is not a number", k, v.Value)
		}
		switch k {
		case "percentile":
			if f < 0 || f > 100 {
				return fmt.Errorf("percentile: %v is outside 0 to 100", f)
			}
			c.Percentile = &f
		case "gt":
			c.GT = &f
		case "gte":
			c.GTE = &f
		case "lt":
			c.LT = &f
		case "lte":
			c.LTE = &f
		case "eq":
			c.EQ = &f
		case "neq":
			c.NEQ = &f
		default:
			return fmt.Errorf("unknown operator %q", k)
		}
	}
	return nil
}

func parseAliases(n *yaml.Node, r *Rule) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a map")
	}
	r.Aliases = map[string]map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		alias, m := n.Content[i].Value, n.Content[i+1]
		if m.Kind != yaml.MappingNode {
			return fmt.Errorf("alias %q must map rule names to fields", alias)
		}
		r.Aliases[alias] = map[string]string{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			r.Aliases[alias][m.Content[j].Value] = m.Content[j+1].Value
		}
	}
	return nil
}
