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
	"github.com/mcpsoc/mcpsoc/internal/servers/intel"
)

// TestIntelConfigFromYAML: servers.intel fills what the command line leaves
// unset; flags win; key variables and --timeout apply on top.
func TestIntelConfigFromYAML(t *testing.T) {
	cmd := newMCPIntelCmd()
	if err := cmd.ParseFlags([]string{"--geoip-city", "/flag/City.mmdb", "--otx-key-env", "TEST_INTEL_OTX", "--timeout", "3s"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_INTEL_OTX", "otx-from-env")
	cfg := intel.Config{GeoIPCity: "/flag/City.mmdb"}
	applyIntelConfig(cmd, &cfg, config.IntelServer{
		GeoIPCity: "/file/City.mmdb", GeoIPASN: "/file/ASN.mmdb",
		VirusTotal: config.IntelAPI{APIKey: config.NewSecret("vt-from-file"), CacheTTL: time.Minute, MaxResponseBytes: 1 << 20},
		OTX:        config.IntelAPI{APIKey: config.NewSecret("otx-from-file"), BaseURL: "https://otx.example.org"},
	})
	if err := applyIntelFlags(cmd, &cfg, mcpIntelFlags{otxEnv: "TEST_INTEL_OTX", timeout: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	want := intel.Config{GeoIPCity: "/flag/City.mmdb", GeoIPASN: "/file/ASN.mmdb",
		VirusTotal: intel.API{APIKey: config.NewSecret("vt-from-file"), CacheTTL: time.Minute, MaxResponseBytes: 1 << 20, Timeout: 3 * time.Second},
		OTX:        intel.API{APIKey: config.NewSecret("otx-from-env"), BaseURL: "https://otx.example.org", Timeout: 3 * time.Second},
		AbuseIPDB:  intel.API{Timeout: 3 * time.Second}}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(config.Secret{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if err := applyIntelFlags(cmd, &cfg, mcpIntelFlags{vtEnv: "TEST_INTEL_UNSET_VAR"}); err == nil || !strings.Contains(err.Error(), "TEST_INTEL_UNSET_VAR is not set") {
		t.Errorf("unset key variable: %v", err)
	}
}

// TestIntelConfigErrors: mistakes in servers.intel are reported with file
// and line, and exit 2.
func TestIntelConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ yaml, want string }{
		{"servers:\n  intel:\n    virustotal:\n      api_key: k\n      base_url: http://vt.example.com\n", "servers.intel.virustotal.base_url: must use https"},
		{"servers:\n  intel:\n    otx:\n      apikey: k\n", `servers.intel.otx.apikey: unknown field "apikey"`},
		{"servers:\n  intel:\n    geoip_city: missing.mmdb\n", "opening GeoIP database " + filepath.Join(dir, "missing.mmdb")},
	} {
		f := filepath.Join(dir, "c.yaml")
		os.WriteFile(f, []byte(c.yaml), 0o600)
		code, _, errs := run(t, context.Background(), "mcp", "intel", "--config", f)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: code %d, stderr %q, want %q", c.yaml, code, errs, c.want)
		}
	}
}
