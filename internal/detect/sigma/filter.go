package sigma

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Filter is a Sigma meta-filter: a condition over its own selections that
// is ANDed into the rules it names (by id or name), for site exclusions
// without editing the rules. Its condition is usually "not selection".
type Filter struct {
	ID        string
	Name      string
	Title     string
	Logsource Logsource
	Rules     []string
	File      string
	Line      int

	det *detection
}

// compileFilter compiles one filter document; fn is its "filter" map, which
// holds "rules", the selections and "condition".
func (rs *Ruleset) compileFilter(file string, root, fn *yaml.Node) (*Filter, error) {
	f := &Filter{File: file, Line: root.Line}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "id":
			f.ID, _ = scalar(v)
		case "name":
			f.Name, _ = scalar(v)
		case "title":
			f.Title, _ = scalar(v)
		case "logsource":
			if v.Kind == yaml.MappingNode {
				f.Logsource.Product, _ = scalar(orEmpty(mapGet(v, "product")))
				f.Logsource.Category, _ = scalar(orEmpty(mapGet(v, "category")))
				f.Logsource.Service, _ = scalar(orEmpty(mapGet(v, "service")))
			}
		}
	}
	if f.Title == "" {
		return f, errAt(root, "filter has no title")
	}
	if fn.Kind != yaml.MappingNode {
		return f, errAt(fn, "filter must be a map")
	}
	rules := mapGet(fn, "rules")
	if rules == nil {
		return f, errAt(fn, "filter names no rules")
	}
	var err error
	if f.Rules, err = scalarList(rules); err != nil || len(f.Rules) == 0 {
		return f, errAt(rules, "filter rules must be a list of rule ids or names")
	}
	c := &compiler{rs: rs, unmapped: map[string]bool{}}
	for _, fm := range rs.opts.FieldMappings {
		if fm.Logsource.covers(f.Logsource) {
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
	}
	det, err := c.compileDetection(stripKey(fn, "rules"))
	if err != nil {
		return f, err
	}
	f.det = det
	return f, nil
}

var emptyScalar = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}

func orEmpty(n *yaml.Node) *yaml.Node {
	if n == nil {
		return emptyScalar
	}
	return n
}

// checkFilters reports filters that name no loaded rule.
func (rs *Ruleset) checkFilters() {
	known := map[string]bool{}
	for _, r := range rs.Rules {
		known[r.ID] = true
		known[r.Name] = true
	}
	for _, f := range rs.Filters {
		for _, ref := range f.Rules {
			if ref == "" || !known[ref] {
				rs.Errors = append(rs.Errors, &RuleError{File: f.File, Line: f.Line, RuleID: f.ID, Title: f.Title,
					Reason: fmt.Sprintf("filter references unknown rule %q", ref)})
			}
		}
	}
}

// applyFilters returns rules with every filter that names them ANDed in.
// Filtered rules are copies; the originals are left untouched.
func applyFilters(rules []*Rule, filters []*Filter) []*Rule {
	if len(filters) == 0 {
		return rules
	}
	byRef := map[string][]*Filter{}
	for _, f := range filters {
		for _, ref := range f.Rules {
			byRef[ref] = append(byRef[ref], f)
		}
	}
	out := make([]*Rule, len(rules))
	for i, r := range rules {
		var fs []*Filter
		seen := map[*Filter]bool{}
		for _, ref := range []string{r.ID, r.Name} {
			if ref == "" {
				continue
			}
			for _, f := range byRef[ref] {
				if !seen[f] {
					seen[f] = true
					fs = append(fs, f)
				}
			}
		}
		if len(fs) == 0 {
			out[i] = r
			continue
		}
		d := &detection{witness: r.det.witness, witness2: r.det.witness2, wscore: r.det.wscore,
			check: r.det.check, eqA: r.det.eqA, eqB: r.det.eqB}
		d.sels = append(d.sels, r.det.sels...)
		and := &condNode{op: opAnd, kids: []*condNode{r.det.cond}}
		for _, f := range fs {
			off := len(d.sels)
			for _, s := range f.det.sels {
				s.name = "filter:" + f.Title + ":" + s.name
				d.sels = append(d.sels, s)
			}
			and.kids = append(and.kids, shiftSels(f.det.cond, off))
		}
		d.cond = and
		d.pos = d.positive()
		cp := *r
		cp.det = d
		out[i] = &cp
	}
	return out
}

func shiftSels(n *condNode, off int) *condNode {
	c := &condNode{op: n.op, sel: n.sel}
	if n.op == opIdent {
		c.sel += off
	}
	for _, k := range n.kids {
		c.kids = append(c.kids, shiftSels(k, off))
	}
	return c
}
