package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/config"
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
