package waf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// RuleInfo describes one rule of the installed rule set, read from its
// SecRule or SecAction directive.
type RuleInfo struct {
	ID            string   `json:"id"`
	Directive     string   `json:"directive" jsonschema:"SecRule or SecAction"`
	Phase         string   `json:"phase,omitempty" jsonschema:"1 request headers, 2 request body, 3 response headers, 4 response body, 5 logging"`
	Msg           string   `json:"msg,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Disruptive    string   `json:"disruptive,omitempty" jsonschema:"block, deny, pass, drop, allow... as written in the rule"`
	Tags          []string `json:"tags"`
	ParanoiaLevel int      `json:"paranoia_level,omitempty" jsonschema:"the CRS paranoia level the rule runs at (from its paranoia-level tag or the level gate before it); 0 when unknown"`
	Variables     string   `json:"variables,omitempty" jsonschema:"what the rule inspects"`
	Operator      string   `json:"operator,omitempty" jsonschema:"the operator and its argument, truncated to 300 bytes"`
	Transforms    []string `json:"transformations"`
	Version       string   `json:"version,omitempty"`
	AnomalyPoints string   `json:"anomaly_setvar,omitempty" jsonschema:"the setvar that adds to the anomaly score"`
	Chain         int      `json:"chained_rules" jsonschema:"how many chained rules follow the first one"`
	File          string   `json:"file"`
	Line          int      `json:"line" jsonschema:"line of the directive's first line"`
}

// maxDirective bounds one joined directive; CRS's longest is about 12 KiB.
const maxDirective = 1 << 20

// directive is one configuration directive joined over its continuation
// lines.
type directive struct {
	text string
	line int
}

// readDirectives splits a ModSecurity configuration into directives:
// comments and blank lines dropped, lines ending in a backslash joined with
// the next.
func readDirectives(r io.Reader) ([]directive, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDirective)
	var out []directive
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if cur.Len() == 0 {
			t := strings.TrimSpace(l)
			if t == "" || t[0] == '#' {
				continue
			}
			start = n
		}
		t := strings.TrimRight(l, " \t\r")
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\"))
			if cur.Len() > maxDirective {
				return nil, fmt.Errorf("line %d: directive longer than %d bytes", start, maxDirective)
			}
			continue
		}
		cur.WriteString(t)
		out = append(out, directive{text: strings.TrimSpace(cur.String()), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		out = append(out, directive{text: strings.TrimSpace(cur.String()), line: start})
	}
	return out, nil
}

// splitArgs splits a directive into its words: bare words and double-quoted
// strings (with backslash escapes kept, as ModSecurity reads them).
func splitArgs(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		if s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					if s[i+1] == '"' {
						b.WriteByte('"')
					} else {
						b.WriteByte(c)
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
			out = append(out, b.String())
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
}

// action is one name:value pair of a rule's action list.
type action struct{ name, value string }

// splitActions splits "id:1,phase:2,msg:'a, b',t:none" at commas outside
// single quotes and unquotes the values.
func splitActions(s string) ([]action, error) {
	var out []action
	var cur strings.Builder
	inQ := false
	flush := func() {
		p := strings.TrimSpace(cur.String())
		cur.Reset()
		if p == "" {
			return
		}
		name, val, _ := strings.Cut(p, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '\'' && val[len(val)-1] == '\'' {
			val = val[1 : len(val)-1]
		}
		val = strings.ReplaceAll(val, `\'`, `'`)
		out = append(out, action{name, val})
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && inQ:
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '\'':
			inQ = !inQ
			cur.WriteByte(c)
		case c == ',' && !inQ:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	if inQ {
		return nil, errors.New("unterminated single quote in the action list")
	}
	flush()
	return out, nil
}

var disruptive = map[string]bool{"block": true, "deny": true, "pass": true, "drop": true, "allow": true, "redirect": true, "proxy": true, "pause": true}

// ParseRules reads the rules of one ModSecurity configuration file. file
// names it in the result. A directive that cannot be read is reported with
// its line; directives other than SecRule and SecAction are skipped.
func ParseRules(r io.Reader, file string) ([]RuleInfo, error) {
	ds, err := readDirectives(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []RuleInfo
	level := 0           // the paranoia level gate in force
	var parent *RuleInfo // the rule a "chain" continues
	for _, d := range ds {
		words, err := splitArgs(d.text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, d.line, err)
		}
		if len(words) == 0 {
			continue
		}
		var vars, op, acts string
		switch name := strings.ToLower(words[0]); name {
		case "secrule":
			if len(words) < 3 {
				return nil, fmt.Errorf("%s:%d: SecRule needs variables and an operator", file, d.line)
			}
			vars, op = words[1], words[2]
			if len(words) > 3 {
				acts = words[3]
			}
		case "secaction":
			if len(words) < 2 {
				return nil, fmt.Errorf("%s:%d: SecAction needs an action list", file, d.line)
			}
			acts = words[1]
		default:
			continue
		}
		as, err := splitActions(acts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, d.line, err)
		}
		if parent != nil {
			// A chained rule adds its conditions to its parent.
			parent.Chain++
			chains := false
			for _, a := range as {
				switch a.name {
				case "chain":
					chains = true
				case "setvar":
					if parent.AnomalyPoints == "" && isScoreVar(a.value) {
						parent.AnomalyPoints = a.value
					}
				}
			}
			if !chains {
				parent = nil
			}
			continue
		}
		ri := RuleInfo{Directive: words[0], Variables: vars, Operator: clip(op, 300), File: file, Line: d.line, Tags: []string{}, Transforms: []string{}}
		chains := false
		for _, a := range as {
			switch {
			case a.name == "id":
				ri.ID = a.value
			case a.name == "phase":
				ri.Phase = phaseName(a.value)
			case a.name == "msg":
				ri.Msg = a.value
			case a.name == "severity":
				ri.Severity = a.value
			case a.name == "tag":
				ri.Tags = append(ri.Tags, a.value)
			case a.name == "t":
				if a.value != "none" {
					ri.Transforms = append(ri.Transforms, a.value)
				}
			case a.name == "ver":
				ri.Version = a.value
			case a.name == "chain":
				chains = true
			case a.name == "setvar":
				if ri.AnomalyPoints == "" && isScoreVar(a.value) {
					ri.AnomalyPoints = a.value
				}
			case disruptive[a.name]:
				ri.Disruptive = a.name
			}
		}
		if strings.EqualFold(vars, "TX:EXECUTING_PARANOIA_LEVEL") || strings.EqualFold(vars, "TX:DETECTION_PARANOIA_LEVEL") {
			// The CRS gate "skip the rest of this file below level N":
			// the rules after it run at level N.
			if n, ok := strings.CutPrefix(op, "@lt "); ok {
				if v, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
					level = v
				}
			}
		}
		ri.ParanoiaLevel = level
		for _, t := range ri.Tags {
			if n, ok := strings.CutPrefix(t, "paranoia-level/"); ok {
				if v, err := strconv.Atoi(n); err == nil {
					ri.ParanoiaLevel = v
				}
			}
		}
		out = append(out, ri)
		if chains {
			parent = &out[len(out)-1]
		}
	}
	return out, nil
}

// isScoreVar reports whether a setvar adds to an anomaly score variable
// (tx.anomaly_score_pl1, tx.inbound_anomaly_score...), as opposed to a
// category score that merely uses tx.critical_anomaly_score as its value.
func isScoreVar(v string) bool {
	name, _, _ := strings.Cut(v, "=")
	return strings.Contains(strings.ToLower(name), "anomaly_score")
}

func phaseName(v string) string {
	switch strings.ToLower(v) {
	case "request":
		return "2"
	case "response":
		return "4"
	case "logging":
		return "5"
	}
	return v
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ruleIndex is the installed rule set, by id.
type ruleIndex struct {
	files []string
	byID  map[string]RuleInfo
	rules int
}

// loadRules reads every file the globs match. A glob that matches nothing
// is not an error (the CRS may live elsewhere); a file that cannot be read
// or parsed is.
func loadRules(globs []string) (*ruleIndex, error) {
	idx := &ruleIndex{byID: map[string]RuleInfo{}}
	seen := map[string]bool{}
	for _, g := range globs {
		ms, err := filepath.Glob(g)
		if err != nil {
			return nil, fmt.Errorf("rule files %q: %w", g, err)
		}
		sort.Strings(ms)
		for _, m := range ms {
			if seen[m] {
				continue
			}
			seen[m] = true
			f, err := os.Open(m)
			if err != nil {
				return nil, fmt.Errorf("reading rule file: %w", err)
			}
			rs, err := ParseRules(f, m)
			f.Close()
			if err != nil {
				return nil, err
			}
			idx.files = append(idx.files, m)
			for _, r := range rs {
				idx.rules++
				if r.ID != "" {
					if _, dup := idx.byID[r.ID]; !dup {
						idx.byID[r.ID] = r
					}
				}
			}
		}
	}
	return idx, nil
}
