package mcpx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connectInMemory connects an SDK client to s over in-memory transports.
func connectInMemory(t *testing.T, s *mcpx.Server) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := s.SDK().Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func TestKitToolShape(t *testing.T) {
	cs := connectInMemory(t, newToolServer())
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools.Tools {
		a := tool.Annotations
		if a == nil || a.DestructiveHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: annotations missing or partial: %+v", tool.Name, a)
			continue
		}
		if !a.ReadOnlyHint || *a.DestructiveHint || *a.OpenWorldHint || !a.IdempotentHint {
			t.Errorf("%s: annotations %+v do not match mcpx.ReadOnly", tool.Name, a)
		}
		if tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("%s: schemas were not inferred", tool.Name)
		}
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello"}})
	if err != nil || res.IsError {
		t.Fatalf("echo: %v %v", res, err)
	}
	// Structured content for new clients, the same JSON as text for old ones.
	text := res.Content[0].(*mcp.TextContent).Text
	var got echoOut
	if err := json.Unmarshal([]byte(text), &got); err != nil || got.Echo != "hello" {
		t.Errorf("text content %q", text)
	}
	// Invalid arguments are a tool error the model can read, not a protocol error.
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": 42}})
	if err != nil {
		t.Fatalf("schema violation became a protocol error: %v", err)
	}
	if !res.IsError {
		t.Errorf("schema violation accepted: %+v", res)
	}
	// An unknown tool is a protocol error.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "nope"}); err == nil {
		t.Error("unknown tool accepted")
	}
}

func TestKitRequiresDescription(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddTool accepted a tool without a description")
		}
	}()
	mcpx.AddTool(mcpx.NewServer("x", "1", nil), mcpx.ToolDef{Name: "bare", Hints: mcpx.ReadOnly},
		func(context.Context, *mcp.CallToolRequest, struct{}) (struct{}, error) { return struct{}{}, nil })
}

// TestKitHTTPGuards checks the HTTP protections with raw requests, the way
// a hostile page or an oversized client would send them.
func TestKitHTTPGuards(t *testing.T) {
	srv := httptest.NewServer(newToolServer().HTTPHandler(&mcpx.HTTPOptions{MaxBodyBytes: 1024}))
	defer srv.Close()
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}`
	cases := []struct {
		name   string
		host   string
		origin string
		body   string
		want   int
	}{
		{"loopback", "", "", init, http.StatusOK},
		{"rebinding host", "evil.example.com", "", init, http.StatusForbidden},
		{"foreign origin", "", "https://evil.example.com", init, http.StatusForbidden},
		{"loopback origin", "", "http://localhost:3000", init, http.StatusOK},
		{"oversized body", "", "", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("a", 4096) + `"}}`, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestKitServesBothEras: one endpoint negotiates sessions with 2025 clients
// and the stateless protocol with 2026-07-28 clients.
func TestKitServesBothEras(t *testing.T) {
	srv := httptest.NewServer(newToolServer().HTTPHandler(nil))
	defer srv.Close()
	for _, v := range []string{"2025-06-18", "2025-11-25", "2026-07-28"} {
		t.Run(v, func(t *testing.T) {
			ctx := context.Background()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx,
				&mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != v {
				t.Errorf("negotiated %s, want %s", got, v)
			}
			if v < "2026-07-28" && cs.ID() == "" {
				t.Error("no session id for a legacy client")
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": v}})
			if err != nil || res.IsError {
				t.Fatalf("call: %v %v", res, err)
			}
		})
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if _, err := mcpx.Listen("0.0.0.0:0"); err == nil {
		t.Fatal("Listen accepted 0.0.0.0")
	}
	ln, err := mcpx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
