package correlate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

var update = flag.Bool("update", false, "rewrite testdata/cases/*/want.json from the current output")

// caseAlert is one line of a case's expected output.
type caseAlert struct {
	Event  int               `json:"event"` // 1-based line of events.jsonl
	Kind   string            `json:"kind"`  // match or correlation
	Rule   string            `json:"rule"`
	Level  string            `json:"level"`
	Group  map[string]string `json:"group,omitempty"`
	Count  int               `json:"count,omitempty"`
	Values []string          `json:"values,omitempty"`
	Fields map[string]any    `json:"fields,omitempty"`
}

// TestCases runs each testdata/cases/<name>: rules.yml (detection and
// correlation rules), events.jsonl (one event per line with @timestamp), and
// want.json (the alerts), through the Sigma engine and the correlation
// engine exactly as the detection pipeline chains them.
func TestCases(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/cases/*")
	if len(dirs) == 0 {
		t.Fatal("no cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rs := sigma.NewRuleset(nil)
			if err := rs.LoadDir(dir); err != nil {
				t.Fatal(err)
			}
			corrs, cerrs, err := Load(dir)
			if err != nil || len(rs.Errors) > 0 || len(cerrs) > 0 {
				t.Fatalf("loading: %v %v %v", err, rs.Errors, cerrs)
			}
			se := sigma.NewEngine(rs)
			ce, err := New(corrs, rs.Rules, nil)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			got := []caseAlert{}
			sc := bufio.NewScanner(bytes.NewReader(data))
			for line := 1; sc.Scan(); line++ {
				var ev map[string]any
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("events.jsonl:%d: %v", line, err)
				}
				ts, err := time.Parse(time.RFC3339, ev["@timestamp"].(string))
				if err != nil {
					t.Fatalf("events.jsonl:%d: %v", line, err)
				}
				for _, m := range se.Match(sigma.MapEvent(ev), nil) {
					if ce.Standalone(m.Rule.ID, m.Rule.Name) {
						a := caseAlert{Event: line, Kind: "match", Rule: m.Rule.Title, Level: m.Rule.Level, Fields: map[string]any{}}
						for _, f := range m.Fields {
							a.Fields[f.Field] = f.Value
						}
						got = append(got, a)
					}
					for _, c := range ce.Observe(Hit{ID: m.Rule.ID, Name: m.Rule.Name, Event: sigma.MapEvent(ev), Time: ts}) {
						a := caseAlert{Event: line, Kind: "correlation", Rule: c.Rule.Title, Level: c.Rule.Level, Count: c.Count, Values: c.Values, Group: map[string]string{}}
						for _, g := range c.Group {
							a.Group[g.Field] = g.Value
						}
						got = append(got, a)
					}
				}
			}
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				out, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(wantPath, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want []caseAlert
			raw, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			// Round-trip got through JSON so numbers compare alike.
			out, _ := json.Marshal(got)
			got = nil
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("alerts (-want +got):\n%s", d)
			}
		})
	}
}
