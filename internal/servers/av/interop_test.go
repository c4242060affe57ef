package av

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tsCall runs the official TypeScript SDK client (test/peers/client.mjs)
// against 'mcpsoc mcp av' over stdio and returns its one-line report.
func tsCall(t *testing.T, node, bin string, args []string, tool string, toolArgs map[string]any) testenv.TSReport {
	t.Helper()
	return testenv.TSClient(t, append([]string{"stdio", bin, "mcp", "av"}, args...), nil, tool, toolArgs)
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

// TestStdioUploadLimit runs the binary over stdio with a 1 MiB limit: an
// upload of 1.5 MiB gets a clear isError and the session stays usable (the
// SDK's stdio frame cap would otherwise drop the connection on large
// requests; the command raises it to fit the limit).
func TestStdioUploadLimit(t *testing.T) {
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr := &mcp.CommandTransport{Command: exec.Command(bin, "mcp", "av", "--clamd", "unix:/nonexistent.sock", "--max-stream-bytes", "1048576")}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	big := base64.StdEncoding.EncodeToString(make([]byte, 3<<19))
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "scan_bytes", Arguments: map[string]any{"data_base64": big}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "the upload is 1572864 bytes, above the server's limit of 1048576 bytes") {
		t.Fatalf("oversize upload: %+v %v", res, err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "not reachable") {
		t.Fatalf("ping after the refusal: %+v %v", res, err)
	}
}
