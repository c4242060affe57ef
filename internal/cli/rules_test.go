package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/demo"
	"github.com/mcpsoc/mcpsoc/internal/detect"
)

const lintGoodRule = `title: Certutil download
id: 0c7f8d0e-8a55-4f0b-9a37-6f3a3b2d1c01
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\certutil.exe'
    CommandLine|contains: urlcache
  condition: selection
level: high
`

const lintBadRules = `title: Typo in a modifier
logsource:
  product: windows
detection:
  selection:
    Image|endswit: '\x.exe'
  condition: selection
---
title: Lookahead regex
logsource:
  product: windows
detection:
  selection:
    CommandLine|re: 'a(?!b)'
  condition: selection
`

func writeRule(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRulesLint(t *testing.T) {
	t.Run("all good", func(t *testing.T) {
		dir := t.TempDir()
		writeRule(t, dir, "win/good.yml", lintGoodRule)
		var out, errb bytes.Buffer
		code := Execute(context.Background(), []string{"rules", "lint", dir}, nil, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d, stdout %q stderr %q", code, out.String(), errb.String())
		}
		if got, want := out.String(), "1 rules, 1 compiled (100.00%)\n"; got != want {
			t.Errorf("stdout = %q, want %q", got, want)
		}
	})
	t.Run("failures", func(t *testing.T) {
		dir := t.TempDir()
		writeRule(t, dir, "good.yaml", lintGoodRule)
		bad := writeRule(t, dir, "sub/bad.yml", lintBadRules)
		writeRule(t, dir, "notes.txt", "not a rule")
		var out, errb bytes.Buffer
		code := Execute(context.Background(), []string{"rules", "lint", dir}, nil, &out, &errb)
		if code != 1 {
			t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, out.String(), errb.String())
		}
		want := bad + `:6: unknown modifier "endswit"` + "\n" +
			bad + ":14: regex needs look-around or back-references"
		if !strings.HasPrefix(out.String(), want) {
			t.Errorf("stdout = %q\nwant prefix %q", out.String(), want)
		}
		if !strings.Contains(out.String(), "3 rules, 1 compiled (33.33%), 2 failed\n") {
			t.Errorf("summary missing from %q", out.String())
		}
	})
	t.Run("placeholder flag", func(t *testing.T) {
		dir := t.TempDir()
		writeRule(t, dir, "p.yml", `title: Admin logon
logsource:
  product: windows
  service: security
detection:
  selection:
    TargetUserName|expand: '%Admins%'
  condition: selection
`)
		var out, errb bytes.Buffer
		if code := Execute(context.Background(), []string{"rules", "lint", dir}, nil, &out, &errb); code != 1 {
			t.Errorf("without --placeholder: exit %d, want 1 (%s)", code, out.String())
		}
		out.Reset()
		if code := Execute(context.Background(), []string{"rules", "lint", "--placeholder", "Admins=root,adm-*", dir}, nil, &out, &errb); code != 0 {
			t.Errorf("with --placeholder: exit %d, want 0 (%s)", code, out.String())
		}
	})
	t.Run("correlations", func(t *testing.T) {
		dir := t.TempDir()
		writeRule(t, dir, "good.yml", lintGoodRule+`---
title: Many downloads
correlation:
  type: event_count
  rules: [0c7f8d0e-8a55-4f0b-9a37-6f3a3b2d1c01]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 5}
`)
		var out, errb bytes.Buffer
		if code := Execute(context.Background(), []string{"rules", "lint", dir}, nil, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, out.String())
		}
		if got, want := out.String(), "1 rules, 1 compiled (100.00%); 1 correlations, 1 loaded\n"; got != want {
			t.Errorf("stdout = %q, want %q", got, want)
		}
		bad := writeRule(t, dir, "bad.yml", `title: Dangling
correlation:
  type: temporal
  rules: [nope, 0c7f8d0e-8a55-4f0b-9a37-6f3a3b2d1c01]
  timespan: 1x
`)
		out.Reset()
		if code := Execute(context.Background(), []string{"rules", "lint", dir}, nil, &out, &errb); code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, out.String())
		}
		if !strings.Contains(out.String(), bad+":5: correlation.timespan: bad timespan unit") {
			t.Errorf("stdout %q lacks the timespan error", out.String())
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := Execute(context.Background(), []string{"rules", "lint", filepath.Join(t.TempDir(), "nope")}, nil, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "nope") {
			t.Errorf("exit %d stderr %q", code, errb.String())
		}
	})
}

func TestRulesPacksLintAndTest(t *testing.T) {
	code, out, errb := run(t, context.Background(), "rules", "lint", "../../rules")
	if code != 0 || !strings.Contains(out, "(100.00%)") {
		t.Fatalf("lint rules/: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb = run(t, context.Background(), "rules", "test", "-v", "../../rules")
	if code != 0 {
		t.Fatalf("rules test rules/: exit %d\n%s%s", code, out, errb)
	}
	if !strings.Contains(out, " passed, 0 failed\n") || strings.Contains(out, "FAIL") {
		t.Fatalf("rules test output:\n%s", out)
	}
}

func TestRulesTestReportsDiff(t *testing.T) {
	dir := t.TempDir()
	writeRule(t, dir, "c1/rule.yml", `title: Telnet attempt
id: 5b0d7d0a-3c1e-4e7e-9a55-0c9f6c1b2a10
name: telnet_attempt
logsource: {category: firewall}
detection:
  sel: {destination.port: 23}
  condition: sel
level: low
`)
	writeRule(t, dir, "c1/case.yml", `description: expects an alert the rule cannot raise, and misses one it does
inputs:
  - format: ndjson
    lines: |
      {"@timestamp":"2026-11-21T10:00:00Z","event":{"dataset":"pfsense.filterlog"},"source":{"ip":"203.0.113.1"},"destination":{"ip":"192.0.2.1","port":23}}
expect:
  - rule: telnet_attempt
    fields:
      source.ip: 203.0.113.2
  - rule: some_other_rule
`)
	code, out, _ := run(t, context.Background(), "rules", "test", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL c1 ",
		"- telnet_attempt: want 1 alert(s) with source.ip=203.0.113.2",
		"+ telnet_attempt: got 0 (1 alert(s) of the rule in all)",
		"- some_other_rule: want 1 alert(s)",
		"+ some_other_rule: got 0",
		"telnet_attempt ×1",
		"1 cases, 0 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errb := run(t, context.Background(), "rules", "test", t.TempDir()); code != 1 || !strings.Contains(errb, "no test cases") {
		t.Errorf("empty dir: exit %d %s", code, errb)
	}
}

// TestRulesEvalDemo runs the packs over the demo scenario: every attack of
// the story must raise its alert, and the benign hour must raise nothing
// else.
func TestRulesEvalDemo(t *testing.T) {
	dir := t.TempDir()
	args := []string{"rules", "eval", "--rules", "../../rules"}
	var files []string
	for _, s := range demo.Generate(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), 7) {
		p := filepath.Join(dir, s.Name+".log")
		if err := os.WriteFile(p, []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	code, out, errb := run(t, context.Background(), append(args, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a detect.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert line %q: %v", line, err)
		}
		got[a.Rule.Name]++
		if a.ID == "" || len(a.EventIDs) == 0 || a.Severity == 0 || a.DedupKey == "" {
			t.Errorf("incomplete alert %s", line)
		}
	}
	for _, want := range []string{"fw_port_scan", "fw_blocked_burst", "fw_remote_access_bruteforce", "sshd_bruteforce",
		"waf_sql_injection", "waf_xss", "waf_path_traversal", "waf_rce", "waf_scanner_user_agent",
		"av_eicar_test_file", "ids_suricata_severity_1"} {
		if got[want] == 0 {
			t.Errorf("no %s alert; got %v", want, got)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "fw_outbound") || strings.HasPrefix(name, "mcp_") || name == "av_malware_found" {
			t.Errorf("unexpected %s alert on the demo", name)
		}
	}
	if !strings.Contains(errb, " alerts (0 shadow)") {
		t.Errorf("summary %q", errb)
	}
}

func TestRulesEvalIntel(t *testing.T) {
	dir := t.TempDir()
	intel := writeRule(t, dir, "intel.csv", "# test list\ntype,value,confidence,expires,source\nip,203.0.113.66,90,,test-feed\ndomain,evil.example,60\n")
	logs := writeRule(t, dir, "events.ndjson", `{"@timestamp":"2026-11-21T10:00:00Z","source":{"ip":"192.0.2.31"},"destination":{"ip":"203.0.113.66","port":8443}}
{"@timestamp":"2026-11-21T10:00:01Z","source":{"ip":"192.0.2.31"},"dns":{"question":{"name":"cdn.evil.example"}}}
{"@timestamp":"2026-11-21T10:00:02Z","source":{"ip":"192.0.2.31"},"dns":{"question":{"name":"notevil.example"}}}
`)
	rules := writeRule(t, dir, "rules/none.yml", lintGoodRule)
	code, out, errb := run(t, context.Background(), "rules", "eval", "--rules", filepath.Dir(rules), "--intel", intel, "--format", "ndjson", logs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 ioc alerts, got:\n%s", out)
	}
	var a, b detect.Alert
	json.Unmarshal([]byte(lines[0]), &a)
	json.Unmarshal([]byte(lines[1]), &b)
	if a.Kind != "ioc" || a.Indicator.Value != "203.0.113.66" || a.Severity != 4 || a.Matched[0].Field != "destination.ip" {
		t.Errorf("first alert %s", lines[0])
	}
	if b.Indicator.Value != "evil.example" || b.Matched[0].Value != "cdn.evil.example" || b.Severity != 3 {
		t.Errorf("second alert %s", lines[1])
	}
	if code, _, errb := run(t, context.Background(), "rules", "eval", logs); code != 2 || !strings.Contains(errb, "--rules") {
		t.Errorf("missing --rules: exit %d %s", code, errb)
	}
}

func TestRulesEvalAnomaly(t *testing.T) {
	dir := t.TempDir()
	cfg := writeRule(t, dir, "anomaly.yaml", `beacon:
  - name: fw_beacon
    when:
      event.dataset: [pfsense.filterlog]
      network.direction: [egress]
    min_events: 8
    max_jitter: 0.1
`)
	var fw string
	for _, s := range demo.Generate(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), 7) {
		if s.Name == "fw" {
			fw = writeRule(t, dir, "fw.log", s.String())
		}
	}
	rules := writeRule(t, dir, "rules/none.yml", lintGoodRule)
	code, out, errb := run(t, context.Background(), "rules", "eval", "--rules", filepath.Dir(rules), "--anomaly", cfg, fw)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var a detect.Alert
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil {
		t.Fatalf("want one alert, got %q: %v", out, err)
	}
	if a.Rule.ID != "anomaly:fw_beacon" || a.Anomaly == nil || !strings.Contains(a.Title, "destination.ip=203.0.113.66") {
		t.Fatalf("alert %s", out)
	}
	bad := writeRule(t, dir, "bad.yaml", "beacon:\n  - name: b\n    jitter: 1\n")
	if code, _, errb := run(t, context.Background(), "rules", "eval", "--rules", filepath.Dir(rules), "--anomaly", bad, fw); code != 1 || !strings.Contains(errb, "jitter") {
		t.Fatalf("unknown key: exit %d %s", code, errb)
	}
}
