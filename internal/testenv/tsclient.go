package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TSReport is what test/peers/client.mjs prints for one session: who the
// server is, what it lists, and the result of one tool call.
type TSReport struct {
	ConnectMs       int    `json:"connectMs"`
	ProtocolVersion string `json:"protocolVersion"`
	ServerInfo      struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"serverInfo"`
	Tools []struct {
		Name        string         `json:"name"`
		Annotations map[string]any `json:"annotations"`
	} `json:"tools"`
	Prompts   []string `json:"prompts"`
	Resources []string `json:"resources"`
	Result    struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	} `json:"result"`
	// Raw is the line the client printed.
	Raw []byte `json:"-"`
}

// TSClient runs the official TypeScript SDK client (test/peers/client.mjs)
// against target — "stdio", COMMAND, ARGS... or "http", URL — and has it
// list the server's tools and call tool with args. env adds variables to
// the client's environment (a stdio server started by the client gets a
// minimal environment of the SDK's choosing, not these). It skips (fails
// under CI) when Node or the peers are missing and fails the test when the
// client does.
func TSClient(t testing.TB, target []string, env []string, tool string, args any) TSReport {
	t.Helper()
	node := Node(t)
	PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	ta, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := filepath.Join(RepoRoot(), "test", "peers", "client.mjs")
	cmd := exec.CommandContext(ctx, node, append([]string{script}, target...)...)
	cmd.Env = append(append(os.Environ(), env...), "TOOL="+tool, "TOOL_ARGS="+string(ta))
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: TypeScript client failed: %v\n%s", tool, err, stderr)
	}
	r := TSReport{Raw: out}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: client output %q: %v", tool, out, err)
	}
	return r
}
