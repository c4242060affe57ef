package gateway

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const openLoopback = `
upstreams:
  - name: fix
    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"
audit: {file: AUDIT, sync: never}
policy:
  rules:
    - name: everyone-read
      effect: allow
    - name: admins-destroy
      subjects: [local]
      tools: [delete_file]
      effect: allow
      allow_destructive: true
`

func TestProxyListAndCall(t *testing.T) {
	_, srv, auditPath := newTestGateway(t, openLoopback, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range lt.Tools {
		names = append(names, tl.Name)
	}
	// unannotated is destructive by default and no rule allows destruction
	// for it: not listed.
	if got := strings.Join(names, ","); got != "fix.delete_file,fix.echo,fix.slow" {
		t.Fatalf("tools %s", got)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": "hi", "password": "hunter2"}})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "do not match the input schema of fix.echo") {
		t.Fatalf("additional property: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": "hi"}})
	if err != nil || res.IsError || resultText(res) != "echo: hi" {
		t.Fatalf("call: %v %+v", err, res)
	}
	// Per-upstream endpoint: names without the namespace.
	cs2, err := connect(t, srv.URL+"/mcp/fix", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs2.Close()
	res, err = cs2.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "direct"}})
	if err != nil || resultText(res) != "echo: direct" {
		t.Fatalf("per-upstream call: %v %+v", err, res)
	}
	recs := auditRecords(t, auditPath)
	var calls int
	for _, r := range recs {
		if r.Kind == "gateway.call" && r.Decision == "allow" {
			calls++
			if r.Subject != "local" || r.Upstream != "fix" || r.Tool != "echo" || r.ArgsHash == "" || r.ResultHash == "" || r.ResultBytes == 0 {
				t.Errorf("audit record incomplete: %+v", r)
			}
		}
	}
	if calls != 2 {
		t.Errorf("%d allowed calls audited, want 2", calls)
	}
}

func TestProxyProgressAndCancellation(t *testing.T) {
	_, srv, _ := newTestGateway(t, openLoopback, nil)
	var mu sync.Mutex
	var progress []float64
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress = append(progress, r.Params.Progress)
			mu.Unlock()
		},
	})
	ctx := context.Background()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	p := &mcp.CallToolParams{Name: "fix.slow", Arguments: map[string]any{"steps": 3, "ms": 10}}
	p.SetProgressToken("tok-1")
	res, err := cs.CallTool(ctx, p)
	if err != nil || resultText(res) != "done" {
		t.Fatalf("%v %+v", err, res)
	}
	mu.Lock()
	if len(progress) != 3 {
		t.Errorf("progress %v, want 3 notifications", progress)
	}
	mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = cs.CallTool(cctx, &mcp.CallToolParams{Name: "fix.slow", Arguments: map[string]any{"steps": 100, "ms": 100}})
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("cancelled call: err %v after %v", err, time.Since(start))
	}
}

func TestAuditRedactsArguments(t *testing.T) {
	_, srv, auditPath := newTestGateway(t, openLoopback, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	secret := "sk-live0123456789abcdefghij"
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": "key " + secret}})
	if err != nil || res.IsError {
		t.Fatal(err, res)
	}
	data, _ := os.ReadFile(auditPath)
	if strings.Contains(string(data), secret) {
		t.Fatalf("secret in audit log:\n%s", data)
	}
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.call" {
			if string(r.Args) != `{"message":"[REDACTED]"}` || r.ArgsHash != audit.HashBytes([]byte(`{"message":"key `+secret+`"}`)) {
				t.Errorf("args %s hash %s", r.Args, r.ArgsHash)
			}
			return
		}
	}
	t.Fatal("no call record")
}

func TestRedactor(t *testing.T) {
	r := newRedactor([]string{"ssn"})
	got, _ := json.Marshal(r.redact(map[string]any{
		"user": "alice", "Password": "x", "api_token": "y", "SSN": "123", "nested": []any{map[string]any{"client_secret": "z", "n": 1.5}},
		"long": strings.Repeat("a", 300), "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlMTIz",
	}))
	want := `{"Password":"[REDACTED]","SSN":"[REDACTED]","api_token":"[REDACTED]","jwt":"[REDACTED]","long":"` + strings.Repeat("a", 256) + `…(300 bytes)","nested":[{"client_secret":"[REDACTED]","n":1.5}],"user":"alice"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestOutputSchemaEnforced(t *testing.T) {
	up := mcp.NewServer(&mcp.Implementation{Name: "liar", Version: "1"}, nil)
	ro := &mcp.ToolAnnotations{ReadOnlyHint: true}
	handler := func(structured any) mcp.ToolHandler {
		return func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "{}"}}, StructuredContent: structured}, nil
		}
	}
	schema := map[string]any{"type": "object", "properties": map[string]any{"count": map[string]any{"type": "integer"}}, "required": []string{"count"}}
	in := map[string]any{"type": "object"}
	up.AddTool(&mcp.Tool{Name: "honest", InputSchema: in, OutputSchema: schema, Annotations: ro}, handler(map[string]any{"count": 3}))
	up.AddTool(&mcp.Tool{Name: "liar", InputSchema: in, OutputSchema: schema, Annotations: ro}, handler(map[string]any{"count": "three"}))
	yaml := strings.Replace(openLoopback, "upstreams:", "upstreams:\n  - name: liar\n    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves \"liar\"", 1)
	_, srv, _ := newTestGateway(t, yaml, map[string]*mcp.Server{"liar": up})
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "liar.honest"})
	if err != nil || res.IsError {
		t.Fatalf("honest: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "liar.liar"})
	if err != nil || !res.IsError || resultText(res) != "upstream result of liar.liar does not match the tool's output schema; withheld" {
		t.Fatalf("liar: %v %+v", err, res)
	}
}

func TestCallsRefusedWithoutAudit(t *testing.T) {
	gw, srv, _ := newTestGateway(t, openLoopback, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	gw.audit.Close() // as after a disk error: the writer refuses appends
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": "x"}})
	if err != nil || !res.IsError || resultText(res) != "the gateway cannot record this call in its audit log; call refused" {
		t.Fatalf("%v %+v", err, res)
	}
}
