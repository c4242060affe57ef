package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
