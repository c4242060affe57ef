package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMCPAVConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--clamd", "tcp:nohost"}, "want unix:/path or tcp:host:port"},
		{[]string{"--allow-root", filepath.Join(dir, "missing")}, "allowed root"},
		{[]string{"--enable-quarantine"}, "needs a quarantine directory"},
		{[]string{"--allow-root", dir, "--quarantine", filepath.Join(dir, "q")}, "inside the allowed root"},
		{[]string{"--http", "0.0.0.0:0"}, "loopback"},
	} {
		code, _, stderr := run(t, context.Background(), append([]string{"mcp", "av"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestMCPAVHTTP serves 'mcp av' with no backend over Streamable HTTP: the
// tools are listed and a backend tool says clamd is not configured.
func TestMCPAVHTTP(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := run(t, ctx, "mcp", "av", "--http", addr, "--allow-root", t.TempDir())
		done <- code
	}()
	t.Cleanup(func() { cancel(); <-done })
	client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	var cs *mcp.ClientSession
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		cs, err = client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp"}, nil)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 10 {
		t.Fatalf("tools: %v %v", tools, err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ping"})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "clamd is not configured") {
		t.Fatalf("ping: %+v %v", res, err)
	}
}
