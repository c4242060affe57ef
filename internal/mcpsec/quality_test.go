package mcpsec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The labelled corpus lives in testdata/corpus/<half>/*.jsonl, one case per
// line. Half A was written first and the detectors were developed against
// it; half B was written afterwards, with new wording and new servers, to
// check that the numbers hold on text the detectors were not tuned on. Sets
// C, D and F are further blind rounds, each written after tuning on the
// previous one; E adds benign servers only. The numbers each set scored before any
// tuning on it are in docs/mcpsec.md.
//
// A case is one or more servers (the shape of a saved tools/list result plus a
// name). Tools may give "params" as a shorthand for a flat object schema of
// string properties {"name": "description"}; inputSchema is used as is.
type corpusCase struct {
	ID       string        `json:"id"`
	Label    string        `json:"label"` // malicious, benign, hard-negative
	Category string        `json:"category,omitempty"`
	Servers  []corpusSrv   `json:"servers"`
	Target   *corpusTarget `json:"target,omitempty"`
	half     string
}

type corpusSrv struct {
	Name         string       `json:"name"`
	Instructions string       `json:"instructions,omitempty"`
	Tools        []corpusTool `json:"tools"`
	Prompts      []Prompt     `json:"prompts,omitempty"`
	Resources    []Resource   `json:"resources,omitempty"`
}

type corpusTool struct {
	Tool
	Params map[string]string `json:"params,omitempty"`
}

type corpusTarget struct {
	Server string `json:"server"`
	Tool   string `json:"tool,omitempty"`
}

func (c corpusSrv) server() *Server {
	s := &Server{Name: c.Name, Instructions: c.Instructions, Prompts: c.Prompts, Resources: c.Resources}
	for _, t := range c.Tools {
		tool := t.Tool
		if len(tool.InputSchema) == 0 {
			props := map[string]any{}
			for k, d := range t.Params {
				props[k] = map[string]any{"type": "string", "description": d}
			}
			b, _ := json.Marshal(map[string]any{"type": "object", "properties": props})
			tool.InputSchema = b
		}
		s.Tools = append(s.Tools, tool)
	}
	return s
}

func loadCorpus(t testing.TB, half string) []corpusCase {
	t.Helper()
	dir := filepath.Join("testdata", "corpus", half)
	if strings.Contains(half, "/") { // a set outside corpus/, e.g. holdout/P
		dir = filepath.Join("testdata", filepath.FromSlash(half))
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files for half %s: %v", half, err)
	}
	var out []corpusCase
	ids := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 || b[0] == '#' {
				continue
			}
			var c corpusCase
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s:%d: %v", f, line, err)
			}
			if ids[c.ID] {
				t.Fatalf("%s:%d: duplicate id %s", f, line, c.ID)
			}
			ids[c.ID] = true
			switch c.Label {
			case "malicious":
				if c.Category == "" || c.Target == nil {
					t.Fatalf("%s:%d: malicious case %s needs category and target", f, line, c.ID)
				}
			case "benign", "hard-negative":
			default:
				t.Fatalf("%s:%d: bad label %q", f, line, c.Label)
			}
			c.half = half
			out = append(out, c)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return out
}

type catStats struct {
	n, hard, any int
	missed       []string
}

type fpStats struct {
	units, hardFP, anyFP int
	hits                 []string
}

type qualityReport struct {
	cats map[string]*catStats
	fp   map[string]*fpStats // benign, hard-negative
}

// corpusSets are the corpus folders, in the order they were written.
var corpusSets = []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "M", "N"}

// holdoutSets are printed for the record but not gated. L was the final
// holdout of the first revision; P (testdata/holdout/P) was written blind for
// the clause-level roles and then used to design them, so neither is blind
// any more (docs/mcpsec.md keeps P's blind "before" table).
var holdoutSets = []string{"L", "holdout/P", "holdout/Q"}

// hardCategories are structural attack classes where the hard tier must catch
// almost everything.
var hardCategories = map[string]bool{
	"hidden-unicode": true, "encoded-payload": true, "instruction-tags": true,
	"cross-server-shadowing": true, "override": true, "hidden-markup": true,
}

func evaluateCorpus(t testing.TB, cases []corpusCase) qualityReport {
	a := New(nil)
	r := qualityReport{cats: map[string]*catStats{}, fp: map[string]*fpStats{"benign": {}, "hard-negative": {}}}
	for _, c := range cases {
		servers := make([]*Server, len(c.Servers))
		for i, s := range c.Servers {
			servers[i] = s.server()
		}
		fs, err := a.AnalyzeServers(context.Background(), servers)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if c.Label == "malicious" {
			st := r.cats[c.Category]
			if st == nil {
				st = &catStats{}
				r.cats[c.Category] = st
			}
			st.n++
			hard, any := false, false
			for _, f := range fs {
				if !hitsTarget(f, c.Target) {
					continue
				}
				any = true
				hard = hard || f.Tier == TierHard
			}
			if hard {
				st.hard++
			}
			if any {
				st.any++
			}
			if !hard {
				st.missed = append(st.missed, c.ID+map[bool]string{true: "(review)", false: "(missed)"}[any])
			}
			continue
		}
		st := r.fp[c.Label]
		for _, s := range servers {
			units := map[string]bool{}
			for _, tl := range s.Tools {
				units["tool:"+tl.Name] = true
			}
			if s.Instructions != "" || len(s.Prompts) > 0 || len(s.Resources) > 0 {
				units["server"] = true
			}
			st.units += len(units)
			hardU, anyU := map[string]bool{}, map[string]bool{}
			for _, f := range fs {
				if f.Location.Server != s.Name {
					continue
				}
				u := "server"
				if f.Location.Kind == KindTool {
					u = "tool:" + f.Location.Object
				}
				if !anyU[u] {
					st.hits = append(st.hits, fmt.Sprintf("%s %s %s %s %s %q", c.ID, f.Tier, f.RuleID, f.Location, strings.Join(f.Signals, ","), f.Evidence))
				}
				anyU[u] = true
				if f.Tier == TierHard {
					hardU[u] = true
				}
			}
			st.hardFP += len(hardU)
			st.anyFP += len(anyU)
		}
	}
	return r
}

func hitsTarget(f Finding, tg *corpusTarget) bool {
	match := func(l Location) bool {
		return l.Server == tg.Server && (tg.Tool == "" || l.Object == tg.Tool)
	}
	if match(f.Location) {
		return true
	}
	if f.RuleID == RuleSplit && f.Location.Server == tg.Server {
		return true
	}
	return false
}

func (r qualityReport) table(half string) string {
	var b strings.Builder
	cats := make([]string, 0, len(r.cats))
	for c := range r.cats {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	fmt.Fprintf(&b, "| half | category | cases | hard recall | overall recall (hard+review) |\n|---|---|---:|---:|---:|\n")
	var n, h, a int
	for _, c := range cats {
		s := r.cats[c]
		n, h, a = n+s.n, h+s.hard, a+s.any
		mark := ""
		if hardCategories[c] {
			mark = " †"
		}
		fmt.Fprintf(&b, "| %s | %s%s | %d | %.2f | %.2f |\n", half, c, mark, s.n, ratio(s.hard, s.n), ratio(s.any, s.n))
	}
	if n > 0 {
		fmt.Fprintf(&b, "| %s | **all malicious** | %d | %.2f | %.2f |\n", half, n, ratio(h, n), ratio(a, n))
	}
	fmt.Fprintf(&b, "\n| half | benign set | units | hard FP rate | review-or-hard FP rate |\n|---|---|---:|---:|---:|\n")
	for _, l := range []string{"benign", "hard-negative"} {
		s := r.fp[l]
		fmt.Fprintf(&b, "| %s | %s | %d | %.3f | %.3f |\n", half, l, s.units, ratio(s.hardFP, s.units), ratio(s.anyFP, s.units))
	}
	return b.String()
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// check applies the quality gate and returns the failures.
//
// whole is set for the union of all gated sets: there the literal
// reading applies too, hard-tier recall ≥ 0.95 over every malicious case of
// every category. Single sets are small (10–94 cases), so per set only the
// structural categories carry the 0.95 hard-tier bar.
func (r qualityReport) check(whole bool) []string {
	var bad []string
	var n, h, a int
	for c, s := range r.cats {
		n, h, a = n+s.n, h+s.hard, a+s.any
		if hardCategories[c] && ratio(s.hard, s.n) < 0.95 {
			bad = append(bad, fmt.Sprintf("%s: hard recall %.2f < 0.95", c, ratio(s.hard, s.n)))
		}
		if ratio(s.any, s.n) < 0.60 {
			bad = append(bad, fmt.Sprintf("%s: overall recall %.2f < 0.60", c, ratio(s.any, s.n)))
		}
	}
	if whole && n > 0 && ratio(h, n) < 0.95 {
		bad = append(bad, fmt.Sprintf("hard recall over all malicious cases %.2f < 0.95", ratio(h, n)))
	}
	if n > 0 && ratio(a, n) < 0.80 {
		bad = append(bad, fmt.Sprintf("overall recall %.2f < 0.80", ratio(a, n)))
	}
	if f := r.fp["benign"]; f.units > 0 && ratio(f.hardFP, f.units) > 0.01 {
		bad = append(bad, fmt.Sprintf("benign hard FP %.3f > 0.01", ratio(f.hardFP, f.units)))
	}
	if f := r.fp["hard-negative"]; f.units > 0 && ratio(f.hardFP, f.units) > 0.05 {
		bad = append(bad, fmt.Sprintf("hard-negative hard FP %.3f > 0.05", ratio(f.hardFP, f.units)))
	}
	return bad
}

// TestQuality is the CI quality gate over the labelled corpus: over all gated
// sets together, hard-tier recall ≥ 0.95 over every malicious case; per half
// and combined, hard-tier recall ≥ 0.95 on the structural categories (†),
// overall recall (hard + review) ≥ 0.80 and ≥ 0.60 in every category,
// hard-tier false positives ≤ 1 % of benign units and ≤ 5 % of hard-negative
// units. Run with
// -v to print the per-category table published in docs/mcpsec.md.
func TestQuality(t *testing.T) {
	all := map[string][]corpusCase{}
	for _, half := range corpusSets {
		all[half] = loadCorpus(t, half)
		all["all"] = append(all["all"], all[half]...)
	}
	var mal, ben int
	for _, c := range all["all"] {
		if c.Label == "malicious" {
			mal++
		} else {
			for _, s := range c.Servers {
				ben += len(s.Tools)
			}
		}
	}
	if mal < 150 || ben < 300 {
		t.Errorf("corpus too small: %d malicious cases (want ≥150), %d benign tools (want ≥300)", mal, ben)
	}
	for _, half := range holdoutSets {
		r := evaluateCorpus(t, loadCorpus(t, half))
		t.Logf("holdout, not gated:\n%s", r.table(half))
		if testing.Verbose() {
			for c, s := range r.cats {
				if len(s.missed) > 0 {
					t.Logf("%s %s not hard: %v", half, c, s.missed)
				}
			}
			for l, s := range r.fp {
				for _, h := range s.hits {
					t.Logf("%s %s hit: %s", half, l, h)
				}
			}
		}
	}
	for _, half := range append(append([]string(nil), corpusSets...), "all") {
		r := evaluateCorpus(t, all[half])
		t.Logf("\n%s", r.table(half))
		if testing.Verbose() {
			for c, s := range r.cats {
				if len(s.missed) > 0 {
					t.Logf("%s %s not hard: %v", half, c, s.missed)
				}
			}
			for l, s := range r.fp {
				for _, h := range s.hits {
					t.Logf("%s %s hit: %s", half, l, h)
				}
			}
		}
		for _, b := range r.check(half == "all") {
			t.Errorf("half %s: %s", half, b)
		}
	}
}
