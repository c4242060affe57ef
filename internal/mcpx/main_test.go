package mcpx_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMain lets the test binary act as a stdio MCP server (real process,
// real pipes) when MCPX_TEST_SERVER names a behaviour.
func TestMain(m *testing.M) {
	if mode := os.Getenv("MCPX_TEST_SERVER"); mode != "" {
		os.Exit(runTestServer(mode))
	}
	os.Exit(m.Run())
}

type echoIn struct {
	Message string `json:"message" jsonschema:"text to echo"`
}
type echoOut struct {
	Echo string `json:"echo"`
}
type sleepIn struct {
	Millis int `json:"millis" jsonschema:"how long to sleep"`
}
type hugeIn struct {
	Bytes int `json:"bytes"`
}

// newToolServer is the kit server every test mode serves: echo, a sleep
// that records cancellation in MCPX_TEST_MARK, and a tool returning a
// payload of a chosen size.
func newToolServer() *mcpx.Server {
	s := mcpx.NewServer("mcpx-test", "1.0.0", nil)
	mcpx.AddTool(s, mcpx.ToolDef{Name: "echo", Description: "Echo a message.", Hints: mcpx.ReadOnly},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (echoOut, error) {
			return echoOut{Echo: in.Message}, nil
		})
	mcpx.AddTool(s, mcpx.ToolDef{Name: "sleep", Description: "Sleep, honouring cancellation.", Hints: mcpx.ReadOnly},
		func(ctx context.Context, _ *mcp.CallToolRequest, in sleepIn) (echoOut, error) {
			select {
			case <-time.After(time.Duration(in.Millis) * time.Millisecond):
				return echoOut{Echo: "slept"}, nil
			case <-ctx.Done():
				if mark := os.Getenv("MCPX_TEST_MARK"); mark != "" {
					_ = os.WriteFile(mark, []byte("cancelled"), 0o600)
				}
				return echoOut{}, ctx.Err()
			}
		})
	mcpx.AddTool(s, mcpx.ToolDef{Name: "huge", Description: "Return a payload of the given size.", Hints: mcpx.ReadOnly},
		func(_ context.Context, _ *mcp.CallToolRequest, in hugeIn) (echoOut, error) {
			return echoOut{Echo: strings.Repeat("x", in.Bytes)}, nil
		})
	return s
}

func runTestServer(mode string) int {
	ctx := context.Background()
	if f := os.Getenv("MCPX_TEST_PIDFILE"); f != "" {
		_ = os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	fmt.Fprintln(os.Stderr, "test server starting in mode", mode)
	switch mode {
	case "tools":
	case "child":
		// Leave a grandchild in our process group: closing the server must end it.
		c := exec.Command("sleep", "300")
		if err := c.Start(); err != nil {
			return 1
		}
		_ = os.WriteFile(os.Getenv("MCPX_TEST_CHILDPID"), []byte(strconv.Itoa(c.Process.Pid)), 0o600)
	case "garbage":
		fmt.Println("this is not JSON-RPC {{{")
		time.Sleep(time.Hour)
		return 0
	case "hang":
		time.Sleep(time.Hour)
		return 0
	case "exit":
		return 3
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		return 2
	}
	if err := newToolServer().ServeStdio(ctx); err != nil {
		return 1
	}
	return 0
}
