package mcpx_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkCallTool compares one tool call through the client manager with
// the same call on a bare go-sdk client session, against the same server,
// in memory and over loopback HTTP. The manager's overhead is the ratio of
// the two.
func BenchmarkCallTool(b *testing.B) {
	args := map[string]any{"message": "benchmark"}
	ctx := context.Background()
	for _, transport := range []string{"inmemory", "http"} {
		b.Run(transport+"/bare", func(b *testing.B) {
			cs := bareSession(b, transport, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: args}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// bare-equivalent is a bare client configured as the manager's
		// clients must be: a deadline on every call and handlers for
		// list_changed and progress. The SDK itself spends more per call
		// on such a session, so this isolates what the manager adds.
		b.Run(transport+"/bare-equivalent", func(b *testing.B) {
			cs := bareSession(b, transport, &mcp.ClientOptions{
				Capabilities:                &mcp.ClientCapabilities{},
				ToolListChangedHandler:      func(context.Context, *mcp.ToolListChangedRequest) {},
				PromptListChangedHandler:    func(context.Context, *mcp.PromptListChangedRequest) {},
				ResourceListChangedHandler:  func(context.Context, *mcp.ResourceListChangedRequest) {},
				ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {},
			})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "echo", Arguments: args})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(transport+"/manager", func(b *testing.B) {
			srv := newToolServer()
			spec := config.MCPServer{Name: "b", CallTimeout: time.Minute, ConnectTimeout: time.Minute, MaxConcurrency: 16, HealthInterval: time.Hour}
			opts := &mcpx.ManagerOptions{}
			if transport == "inmemory" {
				opts.InProcess = map[string]*mcp.Server{"b": srv.SDK()}
			} else {
				hs := httptest.NewServer(srv.HTTPHandler(nil))
				defer hs.Close()
				spec.URL = hs.URL + "/mcp"
			}
			m := mcpx.NewManager([]config.MCPServer{spec}, opts)
			m.Start(ctx)
			defer m.Close()
			if err := m.WaitReady(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.CallTool(ctx, "b.echo", args, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bareSession connects an SDK client with opts to a fresh kit server over
// transport ("inmemory" or "http"), closed when the benchmark ends.
func bareSession(b *testing.B, transport string, opts *mcp.ClientOptions) *mcp.ClientSession {
	ctx := context.Background()
	srv := newToolServer()
	var t mcp.Transport
	if transport == "inmemory" {
		ct, st := mcp.NewInMemoryTransports()
		if _, err := srv.SDK().Connect(ctx, st, nil); err != nil {
			b.Fatal(err)
		}
		t = ct
	} else {
		hs := httptest.NewServer(srv.HTTPHandler(nil))
		b.Cleanup(hs.Close)
		t = &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp"}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, opts).Connect(ctx, t, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}

// BenchmarkConnect20Stdio measures connecting 20 stdio servers (the test
// binary as a real process) concurrently, and reports it against the
// slowest of 20 single connects measured one after the other.
func BenchmarkConnect20Stdio(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	spec := func(i int) config.MCPServer {
		return config.MCPServer{Name: "s" + string(rune('a'+i)), Command: exe,
			Env:         map[string]config.Secret{"MCPX_TEST_SERVER": config.NewSecret("tools")},
			CallTimeout: time.Minute, ConnectTimeout: time.Minute, MaxConcurrency: 4, HealthInterval: time.Hour}
	}
	connect := func(specs []config.MCPServer) time.Duration {
		ctx := context.Background()
		start := time.Now()
		m := mcpx.NewManager(specs, nil)
		m.Start(ctx)
		if err := m.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		for _, st := range m.Servers() {
			if st.State != mcpx.StateUp {
				b.Fatalf("%s: %s", st.Name, st.LastError)
			}
		}
		m.Close()
		return d
	}
	var slowest, all time.Duration
	for b.Loop() {
		slowest = 0
		for i := range 20 {
			slowest = max(slowest, connect([]config.MCPServer{spec(i)}))
		}
		var specs []config.MCPServer
		for i := range 20 {
			specs = append(specs, spec(i))
		}
		all = connect(specs)
	}
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-single-ms")
	b.ReportMetric(float64(all.Microseconds())/1000, "concurrent-20-ms")
	b.ReportMetric(float64(all)/float64(slowest), "ratio")
}
