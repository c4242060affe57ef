package intel

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// tsCall runs the official TypeScript SDK client (test/peers/client.mjs)
// against 'mcpsoc mcp intel' over stdio and returns its one-line report.
// It is the av server tests' helper for this server. The TypeScript SDK
// starts servers with a minimal environment, so env is passed through
// env(1) on the server's command line.
func tsCall(t *testing.T, node, bin string, args, env []string, tool string, toolArgs map[string]any) testenv.TSReport {
	t.Helper()
	target := []string{"stdio", bin, "mcp", "intel"}
	if len(env) > 0 {
		envBin, err := exec.LookPath("env")
		if err != nil {
			t.Skip("env(1) is not installed")
		}
		target = append(append([]string{"stdio", envBin}, env...), bin, "mcp", "intel")
	}
	return testenv.TSClient(t, append(target, args...), nil, tool, toolArgs)
}

// TestTypeScriptClient runs the built binary over stdio under the official
// TypeScript SDK client: with no configuration every tool is listed with
// its annotations and says what it lacks; configured from a YAML file and
// key variables, enrich_ip reads the .mmdb files and the connectors reach
// the fakes.
func TestTypeScriptClient(t *testing.T) {
	node := testenv.Node(t)
	testenv.PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")

	r := tsCall(t, node, bin, nil, nil, "lookup_indicator", map[string]any{"value": "81.2.69.142"})
	if r.ServerInfo.Name != Name || r.ProtocolVersion == "" || len(r.Tools) != len(allTools) {
		t.Fatalf("session: %+v", r)
	}
	for _, tool := range r.Tools {
		if tool.Annotations["readOnlyHint"] != true || tool.Annotations["destructiveHint"] != false || tool.Annotations["openWorldHint"] != allTools[tool.Name] {
			t.Errorf("%s: annotations %v", tool.Name, tool.Annotations)
		}
	}
	if !r.Result.IsError || !strings.Contains(r.Result.Content[0].Text, "the intel store is not configured") {
		t.Errorf("unconfigured lookup: %+v", r.Result)
	}
	r = tsCall(t, node, bin, nil, nil, "virustotal_lookup", map[string]any{"value": "81.2.69.142"})
	if !r.Result.IsError || !strings.Contains(r.Result.Content[0].Text, "VirusTotal is not configured") {
		t.Errorf("unconfigured VirusTotal: %+v", r.Result)
	}

	dir := t.TempDir()
	_, asn := writeGeoDBs(t, dir)
	vt, abuse := newVTFake(t), newAbuseFake(t)
	cfgFile := filepath.Join(dir, "mcpsoc.yaml")
	yaml := "servers:\n  intel:\n    geoip_city: GeoLite2-City.mmdb\n    geoip_asn: " + filepath.Base(asn) + "\n" +
		"    abuseipdb:\n      api_key: ${TEST_ABUSEIPDB_KEY}\n      base_url: " + abuse.URL + "/api/v2\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfgFile, "--virustotal-key-env", "TEST_VT_KEY", "--virustotal-url", vt.URL + "/api/v3"}
	env := []string{"TEST_VT_KEY=" + vtKey, "TEST_ABUSEIPDB_KEY=" + abuseKey}

	r = tsCall(t, node, bin, args, env, "enrich_ip", map[string]any{"ip": "81.2.69.142"})
	var er EnrichResult
	if err := json.Unmarshal(r.Result.StructuredContent, &er); err != nil || r.Result.IsError || er.Geo == nil || er.Geo.City != "London" || er.ASN == nil || er.ASN.Number != 20712 {
		t.Errorf("enrich_ip: %+v %v", r.Result, err)
	}
	r = tsCall(t, node, bin, args, env, "virustotal_lookup", map[string]any{"value": "44d88612fea8a8f36de82e1278abb02f"})
	var vr VTResult
	if err := json.Unmarshal(r.Result.StructuredContent, &vr); err != nil || r.Result.IsError || vr.Stats == nil || vr.Stats.Malicious != 3 {
		t.Errorf("virustotal_lookup: %+v %v", r.Result, err)
	}
	if req := vt.last(t); req.Header.Get("x-apikey") != vtKey || req.URL.Path != "/api/v3/files/44d88612fea8a8f36de82e1278abb02f" {
		t.Errorf("VirusTotal request %s %v", req.URL, req.Header)
	}
	r = tsCall(t, node, bin, args, env, "abuseipdb_check", map[string]any{"ip": "81.2.69.142"})
	var ar AbuseResult
	if err := json.Unmarshal(r.Result.StructuredContent, &ar); err != nil || r.Result.IsError || ar.AbuseConfidence != 87 {
		t.Errorf("abuseipdb_check: %+v %v", r.Result, err)
	}
	if q := abuse.last(t).URL.Query(); q.Get("ipAddress") != "81.2.69.142" || abuse.last(t).Header.Get("Key") != abuseKey {
		t.Errorf("AbuseIPDB request %s", abuse.last(t).URL)
	}
	r = tsCall(t, node, bin, args, env, "status", nil)
	var st StatusResult
	if err := json.Unmarshal(r.Result.StructuredContent, &st); err != nil || st.GeoIPCity == nil || st.OTX != "not configured" || !strings.HasPrefix(st.VirusTotal, vt.URL) {
		t.Errorf("status: %+v %v", r.Result, err)
	}
	if strings.Contains(string(r.Result.StructuredContent), vtKey) {
		t.Error("status shows a key")
	}
}
