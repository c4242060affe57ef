package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestFilesystemDestructiveTools fronts the reference server-filesystem:
// its destructive tools (write_file, edit_file, move_file) are invisible to
// a reader, CEL keeps an editor inside a subdirectory, and writes wait for
// another subject's approval.
func TestFilesystemDestructiveTools(t *testing.T) {
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-filesystem/dist/index.js")
	root, _ := filepath.EvalSymlinks(t.TempDir())
	os.MkdirAll(filepath.Join(root, "drafts"), 0o755)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("keep me"), 0o600)
	yaml := fmt.Sprintf(`
upstreams:
  - {name: fs, command: %s, args: [%s, %s]}
audit: {file: AUDIT, sync: never}
# flag: mcpsec (2026-11-21) reports create_directory's "succeed silently"
# as concealment, a false positive this test is not about.
content: {tool_scan: flag}
auth:
  api_keys:
    - {subject: alice, roles: [reader, approver], sha256: %s}
    - {subject: bob, roles: [editor, approver], sha256: %s}
approvals: {timeout: 10s, roles: [approver]}
policy:
  rules:
    - name: editors-write-drafts
      roles: [editor]
      tools: [write_file]
      effect: allow
      allow_destructive: true
      require_approval: true
      when: 'args.path.startsWith(%q) && !args.path.contains("..")'
    - name: read
      effect: allow
`, node, script, root, HashKey(aliceKey), HashKey(bobKey), root+"/drafts/")
	_, srv, _ := newTestGateway(t, yaml, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := func(cs *mcp.ClientSession) []string {
		lt, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, tl := range lt.Tools {
			n = append(n, tl.Name)
		}
		return n
	}
	alice, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	an := names(alice)
	for _, destructive := range []string{"fs.write_file", "fs.edit_file", "fs.move_file"} {
		if slices.Contains(an, destructive) {
			t.Errorf("reader sees %s", destructive)
		}
	}
	if !slices.Contains(an, "fs.read_text_file") || !slices.Contains(an, "fs.create_directory") {
		t.Errorf("reader's tools %v", an)
	}
	if _, err := alice.CallTool(ctx, &mcp.CallToolParams{Name: "fs.write_file", Arguments: map[string]any{"path": root + "/notes.txt", "content": "x"}}); err == nil ||
		!strings.Contains(err.Error(), "Unknown tool: fs.write_file") {
		t.Errorf("reader's write: %v", err)
	}
	res, err := alice.CallTool(ctx, &mcp.CallToolParams{Name: "fs.read_text_file", Arguments: map[string]any{"path": root + "/notes.txt"}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "keep me") {
		t.Fatalf("read: %v %+v", err, res)
	}

	bob, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": bobKey})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if !slices.Contains(names(bob), "fs.write_file") || slices.Contains(names(bob), "fs.move_file") {
		t.Errorf("editor's tools %v", names(bob))
	}
	res, err = bob.CallTool(ctx, &mcp.CallToolParams{Name: "fs.write_file", Arguments: map[string]any{"path": root + "/notes.txt", "content": "overwritten"}})
	if err != nil || !res.IsError || resultText(res) != "call denied by gateway policy: editors-write-drafts: condition not met" {
		t.Fatalf("write outside drafts: %v %+v", err, res)
	}
	res, err = bob.CallTool(ctx, &mcp.CallToolParams{Name: "fs.write_file", Arguments: map[string]any{"path": root + "/drafts/../notes.txt", "content": "overwritten"}})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "condition not met") {
		t.Fatalf("traversal: %v %+v", err, res)
	}
	// Inside drafts the write waits for approval: bob cannot approve his
	// own, alice can.
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		r, err := bob.CallTool(ctx, &mcp.CallToolParams{Name: "fs.write_file", Arguments: map[string]any{"path": root + "/drafts/plan.md", "content": "draft"}})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	id := ""
	for deadline := time.Now().Add(5 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := approvalsAPI(t, "GET", srv.URL+"/approvals", aliceKey)
		var got struct{ Approvals []Approval }
		json.Unmarshal([]byte(body), &got)
		if len(got.Approvals) == 1 {
			id = got.Approvals[0].ID
		}
	}
	if id == "" {
		t.Fatal("write not held for approval")
	}
	if _, err := os.Stat(filepath.Join(root, "drafts", "plan.md")); err == nil {
		t.Fatal("file written before approval")
	}
	if code, body := approvalsAPI(t, "POST", srv.URL+"/approvals/"+id+"/approve", bobKey); code != 403 {
		t.Fatalf("self-approval: %d %s", code, body)
	}
	if code, body := approvalsAPI(t, "POST", srv.URL+"/approvals/"+id+"/approve", aliceKey); code != 200 {
		t.Fatalf("approval: %d %s", code, body)
	}
	if r := <-done; r == nil || r.IsError {
		t.Fatalf("approved write: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "drafts", "plan.md")); string(b) != "draft" {
		t.Fatalf("plan.md: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "notes.txt")); string(b) != "keep me" {
		t.Fatalf("notes.txt changed: %q", b)
	}
}
