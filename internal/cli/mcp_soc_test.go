package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer adds a key to every request of an MCP client.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// TestServeMCPEndpoint: serve offers the SOC's tools at /mcp, only with a
// key; an MCP client finds the demo's alerts through them.
func TestServeMCPEndpoint(t *testing.T) {
	base, dataDir := startServe(t, "", "--demo")
	key, err := os.ReadFile(filepath.Join(dataDir, "ingest.key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/mcp without a key: %d, want 401", resp.StatusCode)
	}
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: bearer{strings.TrimSpace(string(key))}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_alerts", Arguments: map[string]any{"query": "related.ip:203.0.113.50"}})
		if err != nil || res.IsError {
			t.Fatalf("list_alerts: %v %v", res, err)
		}
		var out struct{ Alerts []map[string]any }
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &out)
		if len(out.Alerts) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no alert through /mcp")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMCPSOCStdioWithTypeScriptClient: 'mcpsoc mcp soc' over stdio, driven
// by the official TypeScript SDK client, searches a data directory.
func TestMCPSOCStdioWithTypeScriptClient(t *testing.T) {
	node := testenv.Node(t)
	testenv.PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	script := filepath.Join(testenv.RepoRoot(), "test", "peers", "client.mjs")
	_, dataDir := startServe(t, "", "--demo")
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command(node, script, "stdio", bin, "mcp", "soc", "--data", dataDir)
		cmd.Env = append(os.Environ(), "TOOL=search_events", `TOOL_ARGS={"query":"source.ip:203.0.113.50 AND destination.port:22","limit":5}`)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		var r struct {
			ServerInfo struct{ Name string } `json:"serverInfo"`
			Result     struct {
				StructuredContent struct {
					Events []map[string]any `json:"events"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if r.ServerInfo.Name != "mcpsoc" {
			t.Fatalf("server %q", r.ServerInfo.Name)
		}
		if len(r.Result.StructuredContent.Events) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("search over stdio found %d events", len(r.Result.StructuredContent.Events))
		}
		time.Sleep(300 * time.Millisecond)
	}
}
