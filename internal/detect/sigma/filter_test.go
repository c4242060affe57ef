package sigma

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetaFilters(t *testing.T) {
	src := `title: Net user add
id: 3f7a1c22-5b0e-4c8e-9d1a-0a0b0c0d0e01
name: net_user_add
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|contains|all: [' user ', '/add']
  condition: selection
level: medium
---
title: Exclude the provisioning service
logsource:
  product: windows
  category: process_creation
filter:
  rules:
    - net_user_add
  selection:
    User|endswith: '\svc_provision'
  condition: not selection
---
title: Exclude the lab hosts
logsource:
  product: windows
filter:
  rules: [3f7a1c22-5b0e-4c8e-9d1a-0a0b0c0d0e01]
  lab:
    Computer|startswith: 'LAB-'
  condition: not lab
`
	rs := NewRuleset(nil)
	rs.AddFile("f.yml", []byte(src))
	rs.checkFilters()
	if len(rs.Errors) > 0 || len(rs.Filters) != 2 || len(rs.Rules) != 1 {
		t.Fatalf("rules %d filters %d errors %v", len(rs.Rules), len(rs.Filters), rs.Errors)
	}
	e := NewEngine(rs)
	ev := func(user, host string) MapEvent {
		return MapEvent{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": int64(1),
			"CommandLine": "net user x /add", "User": user, "Computer": host}
	}
	cases := []struct {
		name string
		ev   MapEvent
		want int
	}{
		{"not filtered", ev(`CORP\bob`, "WS-1"), 1},
		{"first filter", ev(`CORP\svc_provision`, "WS-1"), 0},
		{"second filter", ev(`CORP\bob`, "LAB-7"), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := e.Match(tc.ev, nil)
			if len(got) != tc.want {
				t.Fatalf("got %d matches, want %d", len(got), tc.want)
			}
			if tc.want == 1 {
				want := []MatchedField{{Selection: "selection", Field: "CommandLine", Value: "net user x /add"}}
				if d := cmp.Diff(want, got[0].Fields); d != "" {
					t.Errorf("fields (-want +got):\n%s", d)
				}
			}
		})
	}
	// The ruleset's own rule is unchanged: an engine applies filters to
	// copies.
	if len(rs.Rules[0].det.sels) != 1 {
		t.Error("filters modified the loaded rule")
	}
}

func TestMetaFilterErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown rule", "title: f\nlogsource: {product: windows}\nfilter:\n  rules: [nope]\n  s: {User: x}\n  condition: not s\n", `unknown rule "nope"`},
		{"no rules", "title: f\nlogsource: {product: windows}\nfilter:\n  s: {User: x}\n  condition: not s\n", "names no rules"},
		{"bad selection", "title: f\nlogsource: {product: windows}\nfilter:\n  rules: [x]\n  s: {User|bogus: x}\n  condition: not s\n", "unknown modifier"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := NewRuleset(nil)
			rs.AddFile("f.yml", []byte(tc.src))
			rs.checkFilters()
			if len(rs.Errors) != 1 || !strings.Contains(rs.Errors[0].Reason, tc.want) {
				t.Errorf("errors = %v, want one mentioning %q", rs.Errors, tc.want)
			}
		})
	}
}
