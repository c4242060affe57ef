package av

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// tsCall runs the official TypeScript SDK client (test/peers/client.mjs)
// against 'mcpsoc mcp av' over stdio and returns its one-line report.
func tsCall(t *testing.T, node, bin string, args []string, tool string, toolArgs map[string]any) tsReport {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(), "test", "peers", "client.mjs")
	ta, _ := json.Marshal(toolArgs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script, "stdio", bin, "mcp", "av"}, args...)...)
	cmd.Env = append(os.Environ(), "TOOL="+tool, "TOOL_ARGS="+string(ta))
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: client failed: %v\n%s", tool, err, stderr)
	}
	var r tsReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: client output %q: %v", tool, out, err)
	}
	return r
}

type tsReport struct {
	ProtocolVersion string `json:"protocolVersion"`
	ServerInfo      struct {
		Name string `json:"name"`
	} `json:"serverInfo"`
	Tools []struct {
		Name        string         `json:"name"`
		Annotations map[string]any `json:"annotations"`
	} `json:"tools"`
	Result struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	} `json:"result"`
}

// TestTypeScriptClient drives the av server's tools from the official
// TypeScript SDK client against a real clamd: EICAR as bytes and as a file,
// every clamav-testfiles sample through scan_directory, and a refusal.
func TestTypeScriptClient(t *testing.T) {
	node := testenv.Node(t)
	testenv.PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	env := startClamd(t)
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	root := t.TempDir()
	eicarPath := filepath.Join(root, "eicar.com")
	write(t, eicarPath, string(eicar))
	args := []string{"--clamd", env.addr(), "--allow-root", root, "--allow-root", testFilesDir}

	r := tsCall(t, node, bin, args, "ping", nil)
	if r.ServerInfo.Name != Name || r.ProtocolVersion == "" || len(r.Tools) != len(allTools) || r.Result.IsError {
		t.Fatalf("ping session: %+v", r)
	}
	for _, tool := range r.Tools {
		if tool.Annotations["readOnlyHint"] != allTools[tool.Name] || tool.Annotations["destructiveHint"] == allTools[tool.Name] {
			t.Errorf("%s: annotations %v", tool.Name, tool.Annotations)
		}
	}

	r = tsCall(t, node, bin, args, "scan_bytes", map[string]any{"data_base64": base64.StdEncoding.EncodeToString(eicar)})
	var bs BytesScan
	if err := json.Unmarshal(r.Result.StructuredContent, &bs); err != nil || r.Result.IsError || !bs.Infected || bs.Signature != eicarSig {
		t.Errorf("scan_bytes: %+v %v", r.Result, err)
	}

	r = tsCall(t, node, bin, args, "scan_file", map[string]any{"path": eicarPath})
	var fs FileScan
	if err := json.Unmarshal(r.Result.StructuredContent, &fs); err != nil || !fs.Infected || fs.Signature != eicarSig {
		t.Errorf("scan_file: %+v %v", r.Result, err)
	}

	r = tsCall(t, node, bin, args, "scan_directory", map[string]any{"path": testFilesDir})
	var ds DirScan
	if err := json.Unmarshal(r.Result.StructuredContent, &ds); err != nil || r.Result.IsError {
		t.Fatalf("scan_directory: %+v %v", r.Result, err)
	}
	if n := countTestFiles(t); ds.FilesScanned != n || ds.InfectedCount != n {
		t.Errorf("clamav-testfiles through the TS client: %d scanned, %d infected of %d", ds.FilesScanned, ds.InfectedCount, n)
	}
	for _, inf := range ds.Infected {
		if !strings.HasPrefix(inf.Signature, clamTestSig) {
			t.Errorf("%s: %s", inf.Path, inf.Signature)
		}
	}

	r = tsCall(t, node, bin, args, "scan_file", map[string]any{"path": "/etc/passwd"})
	if !r.Result.IsError || len(r.Result.Content) == 0 || !strings.Contains(r.Result.Content[0].Text, "outside the allowed roots") {
		t.Errorf("outside path: %+v", r.Result)
	}

	// No configuration at all: the tools are listed and say what is missing.
	r = tsCall(t, node, bin, nil, "ping", nil)
	if len(r.Tools) != len(allTools) || !r.Result.IsError || !strings.Contains(r.Result.Content[0].Text, "clamd is not configured") {
		t.Errorf("unconfigured: %+v", r.Result)
	}
}
