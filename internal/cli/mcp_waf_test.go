package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/servers/firewall"
	"github.com/mcpsoc/mcpsoc/internal/servers/waf"
)

// TestWAFConfigFromYAML: servers.waf fills what the command line leaves
// unset; flags win.
func TestWAFConfigFromYAML(t *testing.T) {
	cmd := newMCPWAFCmd()
	if err := cmd.ParseFlags([]string{"--audit-log", "/flag/audit.json"}); err != nil {
		t.Fatal(err)
	}
	cfg := waf.Config{AuditLogs: []string{"/flag/audit.json"}, RuleIDBase: waf.DefaultRuleIDBase, Timeout: waf.DefaultTimeout}
	var auditPath string
	applyWAFConfig(cmd, &cfg, &auditPath, config.WAFServer{
		AuditLogs: []string{"/file/audit.json"}, ExclusionsDir: "/etc/nginx/mcpsoc", EnableApply: true,
		ValidateCommand: []string{"nginx", "-t"}, ReloadCommand: []string{"nginx", "-s", "reload"}, Timeout: time.Minute, Audit: "/var/lib/mcpsoc/waf-audit.jsonl",
	})
	want := waf.Config{AuditLogs: []string{"/flag/audit.json"}, ExclusionsDir: "/etc/nginx/mcpsoc", EnableApply: true,
		ValidateCommand: []string{"nginx", "-t"}, ReloadCommand: []string{"nginx", "-s", "reload"}, RuleIDBase: waf.DefaultRuleIDBase, Timeout: time.Minute}
	if diff := cmp.Diff(want, cfg); diff != "" || auditPath != "/var/lib/mcpsoc/waf-audit.jsonl" {
		t.Errorf("config (-want +got):\n%s\naudit %q", diff, auditPath)
	}
}

// TestFirewallRESTConfigFromYAML: the REST backend settings and the API
// key come from servers.firewall; data_dir falls back to the top level.
func TestFirewallRESTConfigFromYAML(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	os.WriteFile(f, []byte("data_dir: "+dir+"\nservers:\n  firewall:\n    backend: opnsense\n    url: http://127.0.0.1:1\n    api_key: k\n    api_secret: s\n"), 0o600)
	code, _, errs := run(t, context.Background(), "mcp", "firewall", "--config", f)
	if code != 2 || !strings.Contains(errs, "plain http") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
	cmd := newMCPFirewallCmd()
	var cfg firewall.Config
	var auditPath string
	applyFirewallConfig(cmd, &cfg, &auditPath, config.FirewallServer{Backend: "pfsense", URL: "https://fw", APIKey: config.NewSecret("key"), DataDir: "/var/lib/x"})
	if cfg.Backend != "pfsense" || cfg.URL != "https://fw" || cfg.APIKey.Value() != "key" || cfg.DataDir != "/var/lib/x" {
		t.Errorf("%+v", cfg)
	}
}
