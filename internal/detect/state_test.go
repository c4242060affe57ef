package detect

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/anomaly"
	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

const stateRules = `title: Fail
name: fail
logsource: {product: linux}
detection:
  sel: {event.outcome: failure}
  condition: sel
level: low
---
title: Many failures
name: many_failures
correlation:
  type: event_count
  rules: [fail]
  group-by: [host.name]
  timespan: 10m
  condition: {gte: 3}
level: high
`

func stateEngine(t testing.TB, rules string) *Engine {
	t.Helper()
	rs := sigma.NewRuleset(nil)
	rs.AddFile("r.yml", []byte(rules))
	corrs, errs := correlate.Parse("r.yml", []byte(rules))
	if len(errs) > 0 || len(rs.Errors) > 0 {
		t.Fatal(errs, rs.Errors)
	}
	det, err := anomaly.New(&anomaly.Config{FirstSeen: []anomaly.FirstSeenConfig{{Name: "new_port", GroupBy: []string{"host.name"}, Field: "destination.port", Learn: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(rs, corrs, &Options{Anomaly: det})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func failure(host string, sec int) sigma.MapEvent {
	return sigma.MapEvent{"@timestamp": time.Date(2026, 11, 21, 10, 0, sec, 0, time.UTC).Format(time.RFC3339),
		"event.outcome": "failure", "host.name": host, "destination.port": "22"}
}

// TestStateRoundTrip: correlation windows, dedup windows and anomaly
// baselines survive State → JSON → RestoreState, and TakeOver keeps an
// unchanged correlation's window but not a changed one's.
func TestStateRoundTrip(t *testing.T) {
	e := stateEngine(t, stateRules)
	e.Process(failure("h1", 0))
	e.Process(failure("h1", 1))
	for i := range 3 {
		e.Process(failure("h2", 10+i)) // fires, leaves a dedup entry
	}
	raw, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeState(raw)
	if err != nil {
		t.Fatal(err)
	}
	e2 := stateEngine(t, stateRules)
	r := e2.RestoreState(s)
	if r.Groups != 1 || r.Dedup != 1 || r.Anomaly != 2 || len(r.Changed) != 0 {
		t.Fatalf("restored %+v", r)
	}
	if a := e2.Process(failure("h1", 2)); len(a) != 1 || a[0].Kind != KindCorrelation {
		t.Fatalf("h1's third failure after restore: %+v", a)
	}
	for i := range 3 {
		if a := e2.Process(failure("h2", 20+i)); len(a) != 0 {
			t.Fatalf("h2 repeat inside the dedup window raised %+v", a)
		}
	}

	// A reload with the threshold changed: the window starts fresh.
	e3 := stateEngine(t, stateRules)
	e3.Process(failure("h3", 0))
	e3.Process(failure("h3", 1))
	changed := stateEngine(t, stateRules[:len(stateRules)-len("  condition: {gte: 3}\nlevel: high\n")]+"  condition: {gte: 4}\nlevel: high\n")
	if r := changed.TakeOver(e3); len(r.Changed) != 1 || r.Changed[0] != "many_failures" || r.Groups != 0 {
		t.Fatalf("takeover into a changed rule: %+v", r)
	}
	same := stateEngine(t, stateRules)
	e4 := stateEngine(t, stateRules)
	e4.Process(failure("h4", 0))
	e4.Process(failure("h4", 1))
	if r := same.TakeOver(e4); r.Groups != 1 || len(r.Changed) != 0 {
		t.Fatalf("takeover into the same rule: %+v", r)
	}
	if a := same.Process(failure("h4", 2)); len(a) != 1 || len(a[0].EventIDs) != 3 {
		t.Fatalf("after takeover the correlation should fire with 3 events of evidence: %+v", a)
	}
}

// FuzzDecodeState: whatever the store hands back, decoding and restoring
// never panic.
func FuzzDecodeState(f *testing.F) {
	e := stateEngine(f, stateRules)
	e.Process(failure("h1", 0))
	good, _ := json.Marshal(e.State())
	f.Add(good)
	f.Add([]byte(`{"version":1,"correlations":{"many_failures":[{"key":"h\u001f","times":["2026-11-21T10:00:00Z"]}]}}`))
	f.Add([]byte(`{"version":2,"anomaly":{"version":1,"detectors":{"new_port":{"kind":"first_seen","keys":[{"key":"x"}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeState(data)
		if err != nil {
			return
		}
		e := stateEngine(t, stateRules)
		e.RestoreState(s)
		e.Process(failure("h1", 5))
	})
}

// TestBaseRuleChangeRestartsCorrelation: a reload that changes only a base
// rule changes the hash of the correlation over it, so neither TakeOver nor
// a restored snapshot carries its window over; a reload that changes only
// comments and layout keeps it.
func TestBaseRuleChangeRestartsCorrelation(t *testing.T) {
	changedBase := strings.Replace(stateRules, "sel: {event.outcome: failure}", "sel: {event.outcome: [failure, denied]}", 1)
	if changedBase == stateRules {
		t.Fatal("base rule edit did not apply")
	}
	relaid := strings.Replace(stateRules, "  sel: {event.outcome: failure}\n", "  # same selection, written as a block\n  sel:\n    event.outcome: failure\n", 1)
	if relaid == stateRules {
		t.Fatal("layout edit did not apply")
	}
	for _, tc := range []struct {
		name    string
		rules   string
		changed bool
	}{{"base rule changed", changedBase, true}, {"comments and layout only", relaid, false}} {
		t.Run(tc.name, func(t *testing.T) {
			old := stateEngine(t, stateRules)
			old.Process(failure("h1", 0))
			old.Process(failure("h1", 1))
			snap := old.State()
			next := stateEngine(t, tc.rules)
			r := next.TakeOver(old)
			restored := stateEngine(t, tc.rules).RestoreState(snap)
			if tc.changed {
				if len(r.Changed) != 1 || r.Changed[0] != "many_failures" || r.Groups != 0 {
					t.Fatalf("takeover: %+v", r)
				}
				if len(restored.Changed) != 1 || restored.Groups != 0 {
					t.Fatalf("restore: %+v", restored)
				}
				// The base rule alone raises nothing (the correlation does
				// not generate it), and its window holds one hit now.
				if a := next.Process(failure("h1", 2)); len(a) != 0 {
					t.Fatalf("third failure after the base rule changed: %+v", a)
				}
				return
			}
			if len(r.Changed) != 0 || r.Groups != 1 || len(restored.Changed) != 0 || restored.Groups != 1 {
				t.Fatalf("takeover %+v, restore %+v", r, restored)
			}
			if a := next.Process(failure("h1", 2)); len(a) != 1 || a[0].Kind != KindCorrelation {
				t.Fatalf("third failure after an unchanged reload: %+v", a)
			}
		})
	}
}
