package detect

import (
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
)

// TestPacksCoverage checks that every rule of rules/ has a positive and a
// negative test case. A building-block rule referenced only by correlations
// is covered by its correlations' cases: its matches reach no alert on
// their own.
func TestPacksCoverage(t *testing.T) {
	files, err := RuleFiles("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	rs := sigma.NewRuleset(nil)
	if err := rs.LoadDir(files...); err != nil {
		t.Fatal(err)
	}
	corrs, cerrs, err := correlate.Load(files...)
	if err != nil || len(cerrs) > 0 || len(rs.Errors) > 0 {
		t.Fatalf("loading packs: %v %v %v", err, cerrs, rs.Errors)
	}
	cases, err := LoadCases("../../rules/tests")
	if err != nil {
		t.Fatal(err)
	}
	pos, neg := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		for _, e := range c.Expect {
			if e.Count == nil || *e.Count > 0 {
				pos[e.Rule] = true
			} else {
				neg[e.Rule] = true
			}
		}
	}
	// Correlation coverage flows down to the base rules.
	for _, c := range corrs {
		for _, ref := range c.Rules {
			pos[ref] = pos[ref] || pos[c.Name] || pos[c.ID]
			neg[ref] = neg[ref] || neg[c.Name] || neg[c.ID]
		}
	}
	check := func(kind, id, name string) {
		if !pos[id] && !pos[name] {
			t.Errorf("%s %s (%s) has no positive test case", kind, name, id)
		}
		if !neg[id] && !neg[name] {
			t.Errorf("%s %s (%s) has no negative test case", kind, name, id)
		}
		if name == "" || id == "" {
			t.Errorf("%s %q/%q: pack rules need both id and name", kind, id, name)
		}
	}
	for _, r := range rs.Rules {
		check("rule", r.ID, r.Name)
	}
	for _, c := range corrs {
		check("correlation", c.ID, c.Name)
	}
	if len(rs.Rules) < 20 || len(corrs) < 6 {
		t.Fatalf("packs shrank: %d rules, %d correlations", len(rs.Rules), len(corrs))
	}
}

// TestPackCases runs every case of rules/tests through Case.Run.
func TestPackCases(t *testing.T) {
	cases, err := LoadCases("../../rules/tests")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			res, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() {
				t.Fatalf("%v %v\n%s", res.RuleErrors, res.Failures, res.Summary())
			}
			if res.Events == 0 {
				t.Fatal("no events read")
			}
			// A case runs the same way twice (paths are not rewritten).
			again, err := c.Run()
			if err != nil || len(again.Alerts) != len(res.Alerts) {
				t.Fatalf("second run: %v, %d alerts vs %d", err, len(again.Alerts), len(res.Alerts))
			}
		})
	}
}

func TestReadCaseRejects(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key": "inputs: [{format: ndjson, lines: x}]\nexpected: []\n",
		"no inputs":   "expect: []\n",
		"no format":   "inputs: [{lines: x}]\n",
		"both":        "inputs: [{format: ndjson, lines: x, file: y}]\n",
		"no rule":     "inputs: [{format: ndjson, lines: x}]\nexpect: [{count: 1}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir+"/"+CaseFile, body)
			if _, err := ReadCase(dir); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
