package mcpx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

// stdioSpec declares the test binary as a stdio server in mode.
func stdioSpec(t *testing.T, name, mode string, env map[string]string) config.MCPServer {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := map[string]config.Secret{"MCPX_TEST_SERVER": config.NewSecret(mode)}
	for k, v := range env {
		e[k] = config.NewSecret(v)
	}
	return config.MCPServer{
		Name: name, Command: exe, Env: e,
		CallTimeout: 10 * time.Second, ConnectTimeout: 10 * time.Second,
		MaxConcurrency: 4, HealthInterval: time.Hour,
	}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startManager(t *testing.T, specs []config.MCPServer, opts *mcpx.ManagerOptions) *mcpx.Manager {
	t.Helper()
	if opts == nil {
		opts = &mcpx.ManagerOptions{}
	}
	if opts.BackoffMin == 0 {
		opts.BackoffMin, opts.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	}
	m := mcpx.NewManager(specs, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m.Start(ctx)
	t.Cleanup(func() { m.Close() })
	if err := m.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestManagerAggregatesAndCalls(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	m := startManager(t, []config.MCPServer{
		stdioSpec(t, "alpha", "tools", nil),
		stdioSpec(t, "beta", "tools", nil),
	}, &mcpx.ManagerOptions{Logger: log, Registerer: reg})

	var names []string
	for _, tool := range m.Tools() {
		names = append(names, tool.Name)
	}
	want := []string{"alpha.echo", "alpha.huge", "alpha.sleep", "beta.echo", "beta.huge", "beta.sleep"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("catalog (-want +got):\n%s", diff)
	}
	res, err := m.CallTool(context.Background(), "beta.echo", map[string]any{"message": "hi"}, nil)
	if err != nil || res.IsError {
		t.Fatalf("CallTool = %v, %v", res, err)
	}
	if got := res.StructuredContent; !strings.Contains(string(mustJSON(t, got)), `"echo":"hi"`) {
		t.Errorf("structured content = %s", mustJSON(t, got))
	}
	for _, bad := range []string{"gamma.echo", "alpha.nope", "noseparator"} {
		if _, err := m.CallTool(context.Background(), bad, nil, nil); err == nil {
			t.Errorf("CallTool(%q) succeeded", bad)
		}
	}
	st, _ := m.Server("alpha")
	if st.State != mcpx.StateUp || st.ProtocolVersion == "" || st.ServerName != "mcpx-test" || st.Tools != 3 {
		t.Errorf("status = %+v", st)
	}
	// The stdio server's stderr reaches our log under its name.
	waitFor(t, "stderr line in log", func() bool {
		return strings.Contains(logs.String(), "server=alpha") && strings.Contains(logs.String(), "test server starting in mode tools")
	})
	if n := counterValue(t, reg, "mcpsoc_mcp_requests_total", map[string]string{"server": "beta", "outcome": "ok"}); n != 1 {
		t.Errorf("ok requests metric = %v, want 1", n)
	}
}

func TestManagerCancellationReachesServer(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "cancelled")
	m := startManager(t, []config.MCPServer{stdioSpec(t, "s", "tools", map[string]string{"MCPX_TEST_MARK": mark})}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := m.CallTool(ctx, "s.sleep", map[string]any{"millis": 30000}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	waitFor(t, "the server to see the cancellation", func() bool {
		_, err := os.Stat(mark)
		return err == nil
	})
}

func TestManagerCallTimeout(t *testing.T) {
	m := startManager(t, []config.MCPServer{stdioSpec(t, "s", "tools", nil)}, nil)
	start := time.Now()
	_, err := m.CallTool(context.Background(), "s.sleep", map[string]any{"millis": 30000}, &mcpx.CallOptions{Timeout: 300 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestManagerReconnectsAfterKill(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	m := startManager(t, []config.MCPServer{stdioSpec(t, "s", "tools", map[string]string{"MCPX_TEST_PIDFILE": pidfile})}, nil)
	first := readPID(t, pidfile)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new server process", func() bool {
		b, _ := os.ReadFile(pidfile)
		pid, _ := strconv.Atoi(string(b))
		st, _ := m.Server("s")
		return pid != first && st.State == mcpx.StateUp
	})
	st, _ := m.Server("s")
	if st.Reconnects < 1 || st.LastError != "" {
		t.Errorf("status after reconnect = %+v", st)
	}
	if _, err := m.CallTool(context.Background(), "s.echo", map[string]any{"message": "back"}, nil); err != nil {
		t.Fatalf("call after reconnect: %v", err)
	}
}

// TestManagerIsolatesBadServers: a server that crashes, hangs, sends
// garbage or an oversized message is marked down and retried while the
// healthy one keeps serving.
func TestManagerIsolatesBadServers(t *testing.T) {
	hang := stdioSpec(t, "hang", "hang", nil)
	hang.ConnectTimeout = 500 * time.Millisecond
	huge := stdioSpec(t, "huge", "tools", nil)
	m := startManager(t, []config.MCPServer{
		stdioSpec(t, "good", "tools", nil),
		stdioSpec(t, "exit", "exit", nil),
		stdioSpec(t, "garbage", "garbage", nil),
		hang,
		huge,
	}, &mcpx.ManagerOptions{MaxMessageBytes: 1 << 20})

	for name, want := range map[string]string{"exit": "", "garbage": "", "hang": "deadline exceeded"} {
		st, _ := m.Server(name)
		if st.State == mcpx.StateUp || st.LastError == "" || !strings.Contains(st.LastError, want) {
			t.Errorf("%s: status = %+v, want down with error containing %q", name, st, want)
		}
	}
	// An oversized answer ends the session; the server comes back.
	_, err := m.CallTool(context.Background(), "huge.huge", map[string]any{"bytes": 2 << 20}, nil)
	if err == nil {
		t.Fatal("oversized response was accepted")
	}
	waitFor(t, "huge to reconnect", func() bool {
		st, _ := m.Server("huge")
		return st.State == mcpx.StateUp && st.Reconnects >= 1
	})
	res, err := m.CallTool(context.Background(), "good.echo", map[string]any{"message": "still here"}, nil)
	if err != nil || res.IsError {
		t.Fatalf("healthy server failed: %v %v", res, err)
	}
	waitFor(t, "the exiting server to be retried", func() bool {
		st, _ := m.Server("exit")
		return st.Reconnects >= 2
	})
}

func TestManagerCloseEndsProcessGroup(t *testing.T) {
	childpid := filepath.Join(t.TempDir(), "child")
	m := mcpx.NewManager([]config.MCPServer{stdioSpec(t, "s", "child", map[string]string{"MCPX_TEST_CHILDPID": childpid})}, nil)
	ctx := context.Background()
	m.Start(ctx)
	if err := m.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, childpid)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("grandchild not running before close: %v", err)
	}
	m.Close()
	waitFor(t, "the grandchild to die", func() bool {
		// Reap-free check: a killed child of an exited parent is reparented and reaped.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	})
}

// httpServer serves a kit server over loopback HTTP in-process and counts
// concurrent calls of its "slow" tool.
func httpServer(t *testing.T, delay time.Duration) (url string, maxInFlight *atomic.Int64) {
	t.Helper()
	s := mcpx.NewServer("http-test", "1.0.0", nil)
	var cur, peak atomic.Int64
	mcpx.AddTool(s, mcpx.ToolDef{Name: "slow", Description: "Wait a while.", Hints: mcpx.ReadOnly},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (echoOut, error) {
			n := cur.Add(1)
			defer cur.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			select {
			case <-time.After(delay):
				return echoOut{Echo: "done"}, nil
			case <-ctx.Done():
				return echoOut{}, ctx.Err()
			}
		})
	srv := httptest.NewServer(s.HTTPHandler(nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp", &peak
}

func httpSpec(name, url string) config.MCPServer {
	return config.MCPServer{Name: name, URL: url, CallTimeout: 10 * time.Second, ConnectTimeout: 10 * time.Second,
		MaxConcurrency: 2, HealthInterval: time.Hour}
}

func TestManagerConcurrencyLimit(t *testing.T) {
	url, peak := httpServer(t, 150*time.Millisecond)
	m := startManager(t, []config.MCPServer{httpSpec("h", url)}, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.CallTool(context.Background(), "h.slow", map[string]any{}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrent calls = %d, want the limit 2", p)
	}
}

func TestManagerCircuitBreaker(t *testing.T) {
	url, _ := httpServer(t, 5*time.Second)
	m := startManager(t, []config.MCPServer{httpSpec("h", url)},
		&mcpx.ManagerOptions{BreakerThreshold: 2, BreakerCooldown: time.Minute})
	short := &mcpx.CallOptions{Timeout: 100 * time.Millisecond}
	for i := range 2 {
		if _, err := m.CallTool(context.Background(), "h.slow", map[string]any{}, short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: err = %v, want timeout", i, err)
		}
	}
	_, err := m.CallTool(context.Background(), "h.slow", map[string]any{}, short)
	if !errors.Is(err, mcpx.ErrCircuitOpen) {
		t.Fatalf("third call: err = %v, want ErrCircuitOpen", err)
	}
	if st, _ := m.Server("h"); !st.CircuitOpen {
		t.Errorf("status does not show the open circuit: %+v", st)
	}
}

func TestManagerProgress(t *testing.T) {
	s := mcpx.NewServer("progress", "1.0.0", nil)
	mcpx.AddTool(s, mcpx.ToolDef{Name: "work", Description: "Report progress.", Hints: mcpx.ReadOnly},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (echoOut, error) {
			for i := 1; i <= 3; i++ {
				_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: req.Params.GetProgressToken(), Progress: float64(i), Total: 3})
			}
			return echoOut{Echo: "done"}, nil
		})
	srv := httptest.NewServer(s.HTTPHandler(nil))
	t.Cleanup(srv.Close) // registered first, so it runs after the manager has closed
	m := startManager(t, []config.MCPServer{httpSpec("p", srv.URL)}, nil)
	var mu sync.Mutex
	var got []float64
	_, err := m.CallTool(context.Background(), "p.work", map[string]any{}, &mcpx.CallOptions{
		Progress: func(p *mcp.ProgressNotificationParams) { mu.Lock(); got = append(got, p.Progress); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three progress notifications", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })
}

func readPID(t *testing.T, file string) int {
	t.Helper()
	var pid int
	waitFor(t, "pid file "+file, func() bool {
		b, err := os.ReadFile(file)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// TestManagerEras: a server entry may pin each revision MCPSoc speaks; with
// no pin the newest common one (2026-07-28 with our kit) is negotiated.
func TestManagerEras(t *testing.T) {
	url, _ := httpServer(t, time.Millisecond)
	var specs []config.MCPServer
	versions := []string{"2025-06-18", "2025-11-25", "2026-07-28", ""}
	for i, v := range versions {
		s := httpSpec(fmt.Sprintf("v%d", i), url)
		s.ProtocolVersion = v
		specs = append(specs, s)
	}
	m := startManager(t, specs, nil)
	for i, v := range versions {
		name := fmt.Sprintf("v%d", i)
		st, _ := m.Server(name)
		want := v
		if want == "" {
			want = "2026-07-28"
		}
		if st.ProtocolVersion != want {
			t.Errorf("%s: negotiated %q, want %q", name, st.ProtocolVersion, want)
		}
		if _, err := m.CallTool(context.Background(), name+".slow", map[string]any{}, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestForwardCallTimeout: a forwarded call (raw path, the timeout enforced
// as the connection's deadline) that outlives call_timeout fails as a
// timeout, counts against the breaker like one, and the connection it
// used is not used again.
func TestForwardCallTimeout(t *testing.T) {
	url, _ := httpServer(t, 5*time.Second)
	spec := httpSpec("h", url)
	spec.CallTimeout = 150 * time.Millisecond
	m := startManager(t, []config.MCPServer{spec}, &mcpx.ManagerOptions{BreakerThreshold: 2, BreakerCooldown: time.Minute})
	if !m.CanForward("h") {
		t.Skip("the test server did not negotiate the stateless revision")
	}
	for i := range 2 {
		start := time.Now()
		_, err := m.ForwardCall(context.Background(), "h", "slow", nil)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 150ms") {
			t.Fatalf("call %d: err = %v, want a timeout", i, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("call %d: timeout took %v", i, d)
		}
	}
	if _, err := m.ForwardCall(context.Background(), "h", "slow", nil); !errors.Is(err, mcpx.ErrCircuitOpen) {
		t.Fatalf("third call: err = %v, want ErrCircuitOpen", err)
	}
}
