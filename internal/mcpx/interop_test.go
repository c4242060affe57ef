package mcpx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// These tests run the manager against independent MCP implementations:
// the reference server-everything (TypeScript SDK) and the Go SDK's
// conformance server, which speaks 2026-07-28.

const everything = "@modelcontextprotocol/server-everything/dist/index.js"

func everythingStdio(t *testing.T, name string) config.MCPServer {
	return config.MCPServer{
		Name: name, Command: testenv.Node(t), Args: []string{testenv.PeerFile(t, everything), "stdio"},
		CallTimeout: 30 * time.Second, ConnectTimeout: 30 * time.Second, MaxConcurrency: 8, HealthInterval: time.Hour,
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startEverythingHTTP runs server-everything in streamableHttp mode on port
// and waits until it answers.
func startEverythingHTTP(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testenv.Node(t), testenv.PeerFile(t, everything), "streamableHttp")
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("PORT=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	waitFor(t, "server-everything to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd
}

// exerciseEverything runs the checks common to both transports.
func exerciseEverything(t *testing.T, m *mcpx.Manager, name string) {
	t.Helper()
	ctx := context.Background()
	st, _ := m.Server(name)
	if st.State != mcpx.StateUp {
		t.Fatalf("not connected: %+v", st)
	}
	if st.ProtocolVersion != "2025-11-25" {
		t.Errorf("negotiated %q, want 2025-11-25 (server-everything answers server/discover with -32601)", st.ProtocolVersion)
	}
	// server-everything announces tools/list_changed right after initialized.
	waitFor(t, "the early tools/list_changed", func() bool { s, _ := m.Server(name); return s.ListChanged >= 1 })

	res, err := m.CallTool(ctx, name+".echo", map[string]any{"message": "hi"}, nil)
	if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != "Echo: hi" {
		t.Fatalf("echo = %+v, %v", res, err)
	}
	res, err = m.CallTool(ctx, name+".get-sum", map[string]any{"a": 2, "b": 3}, nil)
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "5") {
		t.Fatalf("get-sum = %+v, %v", res, err)
	}

	var progress atomic.Int64
	res, err = m.CallTool(ctx, name+".trigger-long-running-operation", map[string]any{"duration": 1, "steps": 4},
		&mcpx.CallOptions{Progress: func(*mcp.ProgressNotificationParams) { progress.Add(1) }})
	if err != nil || res.IsError {
		t.Fatalf("long-running = %+v, %v", res, err)
	}
	waitFor(t, "progress notifications", func() bool { return progress.Load() >= 4 })

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err = m.CallTool(cctx, name+".trigger-long-running-operation", map[string]any{"duration": 30, "steps": 3}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	if _, err := m.CallTool(ctx, name+".echo", map[string]any{"message": "after cancel"}, nil); err != nil {
		t.Fatalf("session unusable after cancellation: %v", err)
	}
}

func TestInteropEverythingStdio(t *testing.T) {
	m := startManager(t, []config.MCPServer{everythingStdio(t, "ev")}, nil)
	exerciseEverything(t, m, "ev")

	// The server is killed and comes back.
	st, _ := m.Server("ev")
	if st.PID == 0 {
		t.Fatal("no pid for a stdio server")
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to come back", func() bool {
		s, _ := m.Server("ev")
		return s.State == mcpx.StateUp && s.PID != st.PID
	})
	if _, err := m.CallTool(context.Background(), "ev.echo", map[string]any{"message": "again"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestInteropEverythingHTTP(t *testing.T) {
	port := freePort(t)
	srv := startEverythingHTTP(t, port)
	spec := config.MCPServer{Name: "evh", URL: fmt.Sprintf("http://127.0.0.1:%d/mcp", port),
		CallTimeout: 30 * time.Second, ConnectTimeout: 10 * time.Second, MaxConcurrency: 8, HealthInterval: 300 * time.Millisecond}
	m := startManager(t, []config.MCPServer{spec}, nil)
	exerciseEverything(t, m, "evh")

	// Killed: the manager notices and marks it down; restarted: it is back.
	_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
	waitFor(t, "the server to be marked down", func() bool { s, _ := m.Server("evh"); return s.State != mcpx.StateUp })
	startEverythingHTTP(t, port)
	waitFor(t, "the server to come back", func() bool { s, _ := m.Server("evh"); return s.State == mcpx.StateUp })
	if _, err := m.CallTool(context.Background(), "evh.echo", map[string]any{"message": "again"}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestInteropGoSDKServer: the Go SDK's conformance server negotiates the
// stateless 2026-07-28 revision over stdio and HTTP.
func TestInteropGoSDKServer(t *testing.T) {
	bin := testenv.GoBinary(t, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
	port := freePort(t)
	cmd := exec.Command(bin, "-http", fmt.Sprintf("127.0.0.1:%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "everything-server to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	specs := []config.MCPServer{
		{Name: "gostdio", Command: bin, CallTimeout: 30 * time.Second, ConnectTimeout: 30 * time.Second, MaxConcurrency: 4, HealthInterval: time.Hour},
		{Name: "gohttp", URL: fmt.Sprintf("http://127.0.0.1:%d/mcp", port), CallTimeout: 30 * time.Second, ConnectTimeout: 30 * time.Second, MaxConcurrency: 4, HealthInterval: time.Hour},
	}
	m := startManager(t, specs, nil)
	for _, name := range []string{"gostdio", "gohttp"} {
		st, _ := m.Server(name)
		if st.State != mcpx.StateUp || st.ProtocolVersion != "2026-07-28" {
			t.Errorf("%s: %+v, want up on 2026-07-28", name, st)
			continue
		}
		res, err := m.CallTool(context.Background(), name+".test_simple_text", map[string]any{}, nil)
		if err != nil || res.IsError {
			t.Errorf("%s: call = %+v, %v", name, res, err)
		}
		if st.Tools < 10 || st.Prompts == 0 || st.Resources == 0 {
			t.Errorf("%s: catalog tools=%d prompts=%d resources=%d", name, st.Tools, st.Prompts, st.Resources)
		}
	}
}
