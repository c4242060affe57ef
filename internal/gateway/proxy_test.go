package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

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
