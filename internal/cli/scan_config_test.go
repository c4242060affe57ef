package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

func fixture(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "scan", "testdata", "linux-home", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanConfigFormatsAndExitCodes(t *testing.T) {
	claude := fixture(t, ".claude.json")
	codex := fixture(t, ".codex/config.toml")
	broken := fixture(t, ".continue/mcpServers/broken.json")
	clean := writeFiles(t, map[string]string{"mcp.json": `{"mcpServers":{"time":{"command":"sh","args":["/opt/mcp/time-server.sh"]}}}`})
	cleanCfg := filepath.Join(clean, "mcp.json")

	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"table with hard findings", []string{"scan", "--config", claude, "--config", codex}, 1, []string{"Claude Code", "OpenAI Codex", "MCP-CONFIG-SECRET-001", "MCP-CONFIG-HTTP-001", "intel"}},
		{"fail-on none", []string{"scan", "--config", claude, "--fail-on", "none"}, 0, []string{"MCP-CONFIG-PIN-001"}},
		{"clean config passes --fail-on low", []string{"scan", "--config", cleanCfg, "--fail-on", "low"}, 0, []string{"no findings"}},
		{"broken file is an error", []string{"scan", "--config", broken, "--config", cleanCfg}, 2, []string{"invalid JSON"}},
		{"missing file", []string{"scan", "--config", filepath.Join(clean, "nope.json")}, 2, nil},
		{"lock needs connect", []string{"scan", "--config", cleanCfg, "--lock", "x.lock"}, 2, nil},
		{"bad format", []string{"scan", "--config", cleanCfg, "--format", "xml"}, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			for _, s := range c.contains {
				if !strings.Contains(out+errOut, s) {
					t.Errorf("output lacks %q:\n%s%s", s, out, errOut)
				}
			}
			if strings.Contains(out, "ghp_R8x2") || strings.Contains(out, "\x1b[") {
				t.Errorf("secret or color codes in non-terminal output:\n%s", out)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, _ := runCLI(t, "scan", "--config", claude, "--format", "json")
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		var rep struct {
			SchemaVersion int `json:"schemaVersion"`
			Files         []struct {
				Client  string `json:"client"`
				Servers []struct {
					Name        string `json:"name"`
					CommandLine string `json:"commandLine"`
					Identity    struct{ Kind, Name string }
				} `json:"servers"`
			} `json:"files"`
			Findings []struct {
				RuleID   string `json:"ruleId"`
				OWASP    string `json:"owasp"`
				Client   string `json:"client"`
				Location struct{ Server, Path string }
			} `json:"findings"`
			Summary struct{ Servers, Findings int } `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.SchemaVersion != 1 || rep.Summary.Servers != 4 || len(rep.Findings) != rep.Summary.Findings || rep.Files[0].Client != "claude-code" {
			t.Errorf("report: %+v", rep)
		}
		for _, s := range rep.Files[0].Servers {
			if s.Name == "db" && (strings.Contains(s.CommandLine, "S3cretPassw0rd") || s.Identity.Kind != "pypi") {
				t.Errorf("db server: %+v", s)
			}
		}
		for _, f := range rep.Findings {
			if f.OWASP == "" || f.Client != "claude-code" || f.Location.Server == "" {
				t.Errorf("finding %+v", f)
			}
		}
	})

	t.Run("sarif", func(t *testing.T) {
		_, out, _ := runCLI(t, "scan", "--config", claude, "--format", "sarif")
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Tool struct {
					Driver struct {
						Rules []struct{ ID string } `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID    string `json:"ruleId"`
					RuleIndex int    `json:"ruleIndex"`
					Level     string `json:"level"`
					Locations []struct {
						LogicalLocations []struct{ Name, Kind string } `json:"logicalLocations"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatal(err)
		}
		if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
			t.Fatalf("sarif: %s", out)
		}
		rules := log.Runs[0].Tool.Driver.Rules
		for _, r := range log.Runs[0].Results {
			if rules[r.RuleIndex].ID != r.RuleID {
				t.Errorf("rule index %d is %s, result says %s", r.RuleIndex, rules[r.RuleIndex].ID, r.RuleID)
			}
			ll := r.Locations[0].LogicalLocations
			if len(ll) < 2 || ll[0].Name != "claude-code" || ll[1].Kind != "module" {
				t.Errorf("logical locations %+v", ll)
			}
		}
	})
}

// TestPinAndLock pins the real server-everything, checks the same server
// against the lockfile (no change), then tampers with one pinned tool and
// expects a rug-pull finding.
func TestPinAndLock(t *testing.T) {
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-everything/dist/index.js")
	cfgBody, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{"everything": map[string]any{"command": node, "args": []string{script, "stdio"}}}})
	dir := writeFiles(t, map[string]string{"claude_desktop_config.json": string(cfgBody)})
	cfg := filepath.Join(dir, "claude_desktop_config.json")
	lock := filepath.Join(dir, "mcp.lock.json")

	code, out, errOut := runCLI(t, "pin", "--config", cfg, "--lock", lock, "--timeout", "30s")
	if code != 0 || !strings.Contains(out, "pinned 1 servers") {
		t.Fatalf("pin: exit %d\n%s%s", code, out, errOut)
	}
	scanLock := func() (int, []string) {
		code, out, errOut := runCLI(t, "scan", "--config", cfg, "--connect", "--lock", lock, "--format", "json", "--fail-on", "none", "--timeout", "30s")
		if code != 0 {
			t.Fatalf("scan: exit %d\n%s", code, errOut)
		}
		// The full command is shown before the server starts (consent).
		if !strings.Contains(errOut, "mcpsoc: starting everything ("+cfg+"): "+node+" "+script+" stdio") {
			t.Errorf("command not shown before start:\n%s", errOut)
		}
		var rep struct {
			Findings []struct {
				RuleID   string `json:"ruleId"`
				Evidence string `json:"evidence"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		var lockF []string
		for _, f := range rep.Findings {
			if strings.HasPrefix(f.RuleID, "MCP-LOCK-") || f.RuleID == "MCP-CONNECT-001" {
				lockF = append(lockF, f.RuleID+" "+f.Evidence)
			}
		}
		return code, lockF
	}
	if _, fs := scanLock(); len(fs) != 0 {
		t.Fatalf("unchanged server reported: %v", fs)
	}

	// Sign the pinned server and verify the live one against the signature.
	key := filepath.Join(dir, "k.key")
	code, pubLine, _ := runCLI(t, "keygen", "--out", key)
	if code != 0 {
		t.Fatal("keygen failed")
	}
	trust := filepath.Join(dir, "trust.txt")
	manifest := filepath.Join(dir, "everything.manifest.json")
	if err := os.WriteFile(trust, []byte("io.github.modelcontextprotocol/* "+pubLine), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "sign", "--key", key, "--lock", lock, "--name", "io.github.modelcontextprotocol/server-everything", "--version", "2.0.0", "--out", manifest); code != 0 {
		t.Fatalf("sign: %s", errOut)
	}
	code, out, errOut = runCLI(t, "verify", "--trust", trust, "--config", cfg, "--connect", "--timeout", "30s", manifest)
	if code != 0 || !strings.Contains(out, "matches the signed manifest") {
		t.Fatalf("verify live: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "verify", "--trust", trust, "--config", cfg, manifest); code != 2 {
		t.Errorf("verify --config without --connect: exit %d, want 2", code)
	}

	// Tamper: pretend the pinned echo tool had another description.
	raw, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	var lf map[string]any
	if err := json.Unmarshal(raw, &lf); err != nil {
		t.Fatal(err)
	}
	for _, s := range lf["servers"].(map[string]any) {
		tools := s.(map[string]any)["tools"].(map[string]any)
		echo := tools["echo"].(map[string]any)
		echo["sha256"] = strings.Repeat("0", 64)
		echo["components"].(map[string]any)["description"] = strings.Repeat("1", 64)
		echo["definition"] = map[string]any{"name": "echo", "description": "Echoes back the input (old text)"}
	}
	raw, _ = json.Marshal(lf)
	if err := os.WriteFile(lock, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, fs := scanLock()
	if len(fs) != 1 || !strings.HasPrefix(fs[0], "MCP-LOCK-001 tool echo changed (description)") {
		t.Errorf("after tampering: %v", fs)
	}
}

// TestScanSendsFindingsToSOC: with --server, the findings reach a running
// 'mcpsoc serve' through its ingest API as events.
func TestScanSendsFindingsToSOC(t *testing.T) {
	base, _ := startServe(t, "ingest:\n  api_keys: [\""+testKey+"\"]\n")
	claude := fixture(t, ".claude.json")
	code, out, errOut := runCLI(t, "scan", "--config", claude, "--format", "json", "--fail-on", "none", "--server", base, "--api-key", testKey)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sent %d findings to %s (%d events accepted)", len(rep.Findings), base, len(rep.Findings))
	if len(rep.Findings) == 0 || !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	// The events are stored and searchable.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, _ := runCLI(t, "events", "search", "rule.id:MCP-CONFIG-HTTP-001 AND event.dataset:mcp.scanner", "--server", base, "--api-key", testKey, "--json")
		if code == 0 && strings.Contains(out, "198.51.100.20") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finding not searchable: exit %d %s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _, errOut := runCLI(t, "scan", "--config", claude, "--fail-on", "none", "--server", base, "--api-key", "wrong-key-0123456789"); code != 2 || !strings.Contains(errOut, "refused") {
		t.Errorf("wrong key: exit %d %s", code, errOut)
	}
}
