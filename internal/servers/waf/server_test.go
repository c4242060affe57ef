package waf

import (
	"context"
	"github.com/mcpsoc/mcpsoc/internal/mcpx/mcpxtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connect serves s over in-memory transports and returns a client session.
func connect(t testing.TB, s *Server) *mcp.ClientSession {
	t.Helper()
	return mcpxtest.Connect(t, s.MCP(nil), "waf-test")
}

// call calls a tool; see mcpxtest.Call.
var call = mcpxtest.Call

var testNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// allTools are the tools and whether each is read-only.
var allTools = map[string]bool{"status": true, "waf_events": true, "top_attacked_uris": true, "rule_stats": true,
	"explain_rule": true, "list_exclusions": true, "propose_exclusion": true, "apply_exclusion": false, "remove_exclusion": false}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{EnableApply: true}, "exclusions_dir"},
		{Config{EnableApply: true, ExclusionsDir: "/x"}, "validate_command"},
		{Config{EnableApply: true, ExclusionsDir: "/x", ValidateCommand: []string{"true"}}, "reload_command"},
		{Config{RuleIDBase: 895000}, "rule_id_base"},
		{Config{RuleFiles: []string{"[bad"}}, "rule_files"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestUnconfigured runs every tool with nothing configured: each answers
// or says what is missing in an isError result; bad arguments are refused
// before any backend is needed.
func TestUnconfigured(t *testing.T) {
	s, err := New(Config{RuleFiles: []string{filepath.Join(t.TempDir(), "*.conf")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(tools.Tools) != len(allTools) {
		t.Fatalf("tools: %v %v", tools, err)
	}
	for _, tool := range tools.Tools {
		ro, ok := allTools[tool.Name]
		if !ok || tool.Annotations.ReadOnlyHint != ro || *tool.Annotations.DestructiveHint == ro {
			t.Errorf("%s: annotations %+v", tool.Name, tool.Annotations)
		}
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"waf_events", nil, "no WAF audit log is configured"},
		{"top_attacked_uris", nil, "no WAF audit log is configured"},
		{"rule_stats", nil, "no WAF audit log is configured"},
		{"explain_rule", map[string]any{"id": "942100"}, "no rule files found"},
		{"list_exclusions", nil, "no exclusions directory"},
		{"propose_exclusion", map[string]any{"rule_id": "942100"}, "no exclusions directory"},
		{"apply_exclusion", map[string]any{"rule_id": "942100"}, "no exclusions directory"},
		{"remove_exclusion", map[string]any{"file": "mcpsoc-exclusion-1-00.conf"}, "no exclusions directory"},
		{"waf_events", map[string]any{"client_ip": "not-an-ip"}, "not an IP address"},
		{"waf_events", map[string]any{"rule_id": "94x"}, "not a rule id"},
		{"waf_events", map[string]any{"path": "index"}, "must start with /"},
		{"waf_events", map[string]any{"limit": 100000}, "limit"},
		{"waf_events", map[string]any{"since": "yesterday"}, "since"},
		{"waf_events", map[string]any{"since": "1h", "until": "2h"}, "not before"},
		{"waf_events", map[string]any{"min_anomaly_score": -1}, "min_anomaly_score"},
		{"explain_rule", map[string]any{"id": "1 OR 1"}, "not a rule id"},
		{"propose_exclusion", map[string]any{"rule_id": "942100", "path": "/a\" b"}, "URL path characters"},
		{"propose_exclusion", map[string]any{"rule_id": "942100", "target": "ARGS:a,ctl:ruleEngine=Off"}, "not a variable"},
		{"propose_exclusion", map[string]any{"rule_id": "942100", "reason": "line\nbreak"}, "printable ASCII"},
	} {
		if e := call(t, cs, tc.tool, tc.args, nil); !strings.Contains(e, tc.want) {
			t.Errorf("%s %v: %q, want %q", tc.tool, tc.args, e, tc.want)
		}
	}
	var st Status
	if e := call(t, cs, "status", nil, &st); e != "" || st.ApplyEnabled || !strings.Contains(st.RuleFilesError, "no rule files") {
		t.Errorf("status: %q %+v", e, st)
	}
}

// TestApplyDisabledAndRollback covers the guards of apply_exclusion
// without a WAF: disabled means refused (and audited as deny); a failing
// validate command puts the previous file back.
func TestApplyDisabledAndRollback(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.conf")
	write(t, rules, `SecRule ARGS "@rx x" "id:942100,phase:2,block,msg:'test rule',severity:'CRITICAL'"`+"\n")
	var evs []audit.Event
	rec := func(ev audit.Event) error { evs = append(evs, ev); return nil }
	s, err := New(Config{RuleFiles: []string{rules}, ExclusionsDir: dir}, &Options{Audit: rec})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	if e := call(t, cs, "apply_exclusion", map[string]any{"rule_id": "942100"}, nil); !strings.Contains(e, "disabled") {
		t.Fatalf("disabled: %q", e)
	}
	if len(evs) != 1 || evs[0].Decision != "deny" || evs[0].Tool != "apply_exclusion" {
		t.Fatalf("audit: %+v", evs)
	}
	if e := call(t, cs, "propose_exclusion", map[string]any{"rule_id": "942999"}, nil); !strings.Contains(e, "not defined") {
		t.Fatalf("unknown rule: %q", e)
	}

	evs = nil
	old := filepath.Join(dir, Exclusion{RuleID: "942100", Path: "/a"}.fileName())
	write(t, old, "# the previous exclusion\n")
	s, err = New(Config{RuleFiles: []string{rules}, ExclusionsDir: dir, EnableApply: true,
		ValidateCommand: []string{"sh", "-c", "echo config broken >&2; exit 1"}, ReloadCommand: []string{"true"}}, &Options{Audit: rec})
	if err != nil {
		t.Fatal(err)
	}
	cs = connect(t, s)
	e := call(t, cs, "apply_exclusion", map[string]any{"rule_id": "942100", "path": "/a", "reason": "search box"}, nil)
	if !strings.Contains(e, "does not validate") || !strings.Contains(e, "config broken") || !strings.Contains(e, "put back") {
		t.Fatalf("failing validation: %q", e)
	}
	if b, _ := os.ReadFile(old); string(b) != "# the previous exclusion\n" {
		t.Fatalf("not rolled back: %q", b)
	}
	if len(evs) != 1 || evs[0].Decision != "error" || !strings.Contains(string(evs[0].Detail), `"rolled_back":true`) {
		t.Fatalf("audit: %+v", evs)
	}
	// A failing reload rolls back too, and a new file disappears.
	s, _ = New(Config{RuleFiles: []string{rules}, ExclusionsDir: dir, EnableApply: true,
		ValidateCommand: []string{"true"}, ReloadCommand: []string{"false"}}, nil)
	cs = connect(t, s)
	var res ExclusionResult
	if e := call(t, cs, "apply_exclusion", map[string]any{"rule_id": "942100", "target": "ARGS:q", "dry_run": true}, &res); e != "" || !res.DryRun {
		t.Fatalf("dry run: %q", e)
	}
	if e := call(t, cs, "apply_exclusion", map[string]any{"rule_id": "942100", "target": "ARGS:q"}, nil); !strings.Contains(e, "reloading the WAF failed") {
		t.Fatalf("failing reload: %q", e)
	}
	if _, err := os.Stat(res.File); !os.IsNotExist(err) {
		t.Fatalf("new file kept after a failed reload: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".mcpsoc-tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestSnippets(t *testing.T) {
	for _, tc := range []struct {
		x    Exclusion
		want string
	}{
		{Exclusion{RuleID: "942100"}, "SecRuleRemoveById 942100\n"},
		{Exclusion{RuleID: "942100", Target: "ARGS:q"}, `SecAction "id:10001,phase:1,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:q"` + "\n"},
		{Exclusion{RuleID: "942100", Path: "/search"}, `SecRule REQUEST_URI "@beginsWith /search" "id:10001,phase:1,pass,nolog,ctl:ruleRemoveById=942100"` + "\n"},
		{Exclusion{RuleID: "942100", Path: "/search", Target: "ARGS:q"}, `SecRule REQUEST_URI "@beginsWith /search" "id:10001,phase:1,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:q"` + "\n"},
	} {
		got := tc.x.snippet(10001, "alice", testNow)
		if !strings.HasSuffix(got, tc.want) || !strings.Contains(got, "by alice at 2026-11-21T10:00:00Z") {
			t.Errorf("%+v:\n%s", tc.x, got)
		}
		// Our own parser reads the snippet back as a rule with the id.
		rs, err := ParseRules(strings.NewReader(got), "snippet.conf")
		scoped := tc.x.Path != "" || tc.x.Target != ""
		if err != nil || scoped != (len(rs) == 1) {
			t.Errorf("%+v: parsed %v %v", tc.x, rs, err)
		} else if scoped {
			if rs[0].ID != "10001" || rs[0].Phase != "1" || rs[0].Disruptive != "pass" {
				t.Errorf("%+v: %+v", tc.x, rs[0])
			}
		}
	}
	if a, b := (Exclusion{RuleID: "1", Path: "/a"}).fileName(), (Exclusion{RuleID: "1", Path: "/b"}).fileName(); a == b || !strings.HasPrefix(a, "mcpsoc-exclusion-1-") {
		t.Errorf("file names %s %s", a, b)
	}
}
