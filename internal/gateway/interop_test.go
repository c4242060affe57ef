package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// everythingConfig fronts the reference server-everything over stdio.
func everythingConfig(t *testing.T, rest string) string {
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-everything/dist/index.js")
	return `
upstreams:
  - name: everything
    command: ` + node + `
    args: [` + script + `, stdio]
audit: {file: AUDIT, sync: never}
` + rest
}

const everythingPolicy = `
policy:
  rules:
    - name: no-env
      tools: [get-env]
      effect: deny
    - name: read
      effect: allow
`

func TestEverythingThroughGateway(t *testing.T) {
	gw, srv, auditPath := newTestGateway(t, everythingConfig(t, everythingPolicy), nil)
	var mu sync.Mutex
	var progress int
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress++
			mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, tl := range lt.Tools {
		listed[tl.Name] = true
	}
	if !listed["everything.echo"] || !listed["everything.get-sum"] || listed["everything.get-env"] {
		t.Fatalf("listed %v; upstreams %+v", listed, gw.Manager().Servers())
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything.echo", Arguments: map[string]any{"message": "through"}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "through") {
		t.Fatalf("echo: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything.get-sum", Arguments: map[string]any{"a": 2, "b": "x"}})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "do not match the input schema") {
		t.Fatalf("schema violation: %v %+v", err, res)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything.get-env"})
	if err == nil || !strings.Contains(err.Error(), "Unknown tool: everything.get-env") {
		t.Fatalf("denied tool: %v", err)
	}
	p := &mcp.CallToolParams{Name: "everything.trigger-long-running-operation", Arguments: map[string]any{"duration": 0.3, "steps": 3}}
	p.SetProgressToken(7)
	res, err = cs.CallTool(ctx, p)
	if err != nil || res.IsError {
		t.Fatalf("long-running: %v %+v", err, res)
	}
	// server-everything sends its last progress notification right
	// before the result; the upstream client dispatches notifications
	// concurrently with responses, so that last one can arrive after the
	// call has completed, when it may no longer be forwarded. The first
	// ones must all arrive.
	mu.Lock()
	if progress < 2 {
		t.Errorf("%d progress notifications, want at least 2 of 3", progress)
	}
	mu.Unlock()
	if n := len(auditRecords(t, auditPath)); n < 5 {
		t.Errorf("%d audit records, want at least 5", n)
	}
}

// TestTypeScriptClientThroughGateway runs the official TypeScript SDK
// client against the gateway fronting server-everything.
func TestTypeScriptClientThroughGateway(t *testing.T) {
	_, srv, _ := newTestGateway(t, everythingConfig(t, everythingPolicy), nil)
	node := testenv.Node(t)
	script := testenv.RepoRoot() + "/test/peers/client.mjs"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, "http", srv.URL+"/mcp")
	cmd.Env = append(cmd.Environ(), "TOOL=everything.echo", `TOOL_ARGS={"message":"from ts"}`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	var got struct {
		Tools  []struct{ Name string } `json:"tools"`
		Result mcp.CallToolResult      `json:"result"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Tools) == 0 || got.Result.IsError || !strings.Contains(resultText(&got.Result), "from ts") {
		t.Fatalf("%s", out)
	}
}

// TestEverythingHTTPUpstream fronts server-everything running in its
// Streamable HTTP mode, and drives it with the TypeScript SDK client.
func TestEverythingHTTPUpstream(t *testing.T) {
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-everything/dist/index.js")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(node, script, "streamableHttp")
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("PORT=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server-everything did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	yaml := fmt.Sprintf("upstreams:\n  - name: web\n    url: http://127.0.0.1:%d/mcp\naudit: {file: AUDIT, sync: never}\n%s", port, everythingPolicy)
	_, srv, _ := newTestGateway(t, yaml, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, node, testenv.RepoRoot()+"/test/peers/client.mjs", "http", srv.URL+"/mcp")
	c.Env = append(c.Environ(), "TOOL=web.get-sum", `TOOL_ARGS={"a":40,"b":2}`)
	out, err := c.Output()
	if err != nil || !strings.Contains(string(out), "42") || strings.Contains(string(out), "web.get-env") {
		t.Fatalf("%v %s", err, out)
	}
}

// TestEverythingPromptsAndResources passes prompts and resources through,
// and hides them from a caller the policy keeps off the upstream.
func TestEverythingPromptsAndResources(t *testing.T) {
	yaml := everythingConfig(t, `
auth:
  api_keys:
    - {subject: alice, sha256: `+HashKey(aliceKey)+`}
    - {subject: bob, sha256: `+HashKey(bobKey)+`}
policy:
  rules:
    - {name: bob-nothing, subjects: [bob], effect: deny}
    - {name: read, effect: allow}
`)
	_, srv, _ := newTestGateway(t, yaml, nil)
	ctx := context.Background()
	alice, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	pl, err := alice.ListPrompts(ctx, nil)
	if err != nil || len(pl.Prompts) == 0 || !strings.HasPrefix(pl.Prompts[0].Name, "everything.") {
		t.Fatalf("prompts: %v %+v", err, pl)
	}
	var simple string
	for _, p := range pl.Prompts {
		if len(p.Arguments) == 0 {
			simple = p.Name
		}
	}
	gp, err := alice.GetPrompt(ctx, &mcp.GetPromptParams{Name: simple})
	if err != nil || len(gp.Messages) == 0 {
		t.Fatalf("get %s: %v %+v", simple, err, gp)
	}
	rl, err := alice.ListResources(ctx, nil)
	if err != nil || len(rl.Resources) == 0 {
		t.Fatalf("resources: %v", err)
	}
	rr, err := alice.ReadResource(ctx, &mcp.ReadResourceParams{URI: rl.Resources[0].URI})
	if err != nil || len(rr.Contents) == 0 {
		t.Fatalf("read %s: %v", rl.Resources[0].URI, err)
	}
	bob, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": bobKey})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if pl, err := bob.ListPrompts(ctx, nil); err != nil || len(pl.Prompts) != 0 {
		t.Errorf("bob's prompts: %v %+v", err, pl)
	}
	if _, err := bob.GetPrompt(ctx, &mcp.GetPromptParams{Name: simple}); err == nil || !strings.Contains(err.Error(), "Unknown prompt: "+simple) {
		t.Errorf("bob's get: %v", err)
	}
	if _, err := bob.ReadResource(ctx, &mcp.ReadResourceParams{URI: rl.Resources[0].URI}); err == nil || !strings.Contains(err.Error(), "Resource not found") {
		t.Errorf("bob's read: %v", err)
	}
}
