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
	"github.com/mcpsoc/mcpsoc/internal/servers/av"
	"github.com/mcpsoc/mcpsoc/internal/servers/firewall"
)

// TestAVConfigFromYAML: servers.av fills what the command line leaves
// unset; flags win.
func TestAVConfigFromYAML(t *testing.T) {
	cmd := newMCPAVCmd()
	if err := cmd.ParseFlags([]string{"--clamd", "unix:/flag.sock"}); err != nil {
		t.Fatal(err)
	}
	var cfg av.Config
	var auditPath string
	cfg.Clamd = "unix:/flag.sock"
	applyAVConfig(cmd, &cfg, &auditPath, config.AVServer{
		Clamd: "tcp:127.0.0.1:3310", AllowedRoots: []string{"/srv/upload"}, EnableQuarantine: true, Audit: "/var/lib/mcpsoc/av-audit.jsonl",
	})
	want := av.Config{Clamd: "unix:/flag.sock", AllowedRoots: []string{"/srv/upload"}, EnableQuarantine: true}
	if diff := cmp.Diff(want, cfg); diff != "" || auditPath != "/var/lib/mcpsoc/av-audit.jsonl" {
		t.Errorf("config (-want +got):\n%s\naudit %q", diff, auditPath)
	}
}

func TestAVConfigStrict(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte("servers:\n  av:\n    clamd: unix:/x\n    quarantine: /q\n"), 0o600)
	code, _, errs := run(t, context.Background(), "mcp", "av", "--config", f)
	if code != 2 || !strings.Contains(errs, `:4: servers.av.quarantine: unknown field "quarantine" (did you mean "quarantine_dir"?)`) {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

// TestFirewallConfigFromYAML: servers.firewall fills unset flags, keeps the
// defaults for zero values, and flags win.
func TestFirewallConfigFromYAML(t *testing.T) {
	cmd := newMCPFirewallCmd()
	if err := cmd.ParseFlags([]string{"--table", "flagtable"}); err != nil {
		t.Fatal(err)
	}
	cfg := firewall.Config{Table: "flagtable", NFT: "nft", DefaultTTL: time.Hour}
	var auditPath string
	applyFirewallConfig(cmd, &cfg, &auditPath, config.FirewallServer{
		Table: "filetable", EnableActions: true, AllowList: []string{"198.51.100.0/24"}, MaxTTL: 48 * time.Hour,
	})
	want := firewall.Config{Table: "flagtable", NFT: "nft", DefaultTTL: time.Hour, EnableActions: true,
		AllowList: []string{"198.51.100.0/24"}, MaxTTL: 48 * time.Hour}
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b config.Secret) bool { return a.Value() == b.Value() })); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}
