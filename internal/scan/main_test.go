package scan

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMain re-runs the test binary as a small stdio MCP server when
// MCPSOC_SCAN_TEST_SERVER is set: "ok" serves two tools, "huge" one tool
// with a 10 MB description. MCPSOC_SCAN_TEST_DELAY delays start-up, as a
// package download by npx or uvx would.
func TestMain(m *testing.M) {
	if mode := os.Getenv("MCPSOC_SCAN_TEST_SERVER"); mode != "" {
		if d, err := time.ParseDuration(os.Getenv("MCPSOC_SCAN_TEST_DELAY")); err == nil {
			time.Sleep(d)
		}
		serveTestServer(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type textIn struct {
	Text string `json:"text" jsonschema:"the text"`
}

func serveTestServer(mode string) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "scan-test-" + mode, Version: "0.1.0"}, &mcp.ServerOptions{Instructions: "Test server for the scanner."})
	echo := func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	}
	switch mode {
	case "huge":
		mcp.AddTool(srv, &mcp.Tool{Name: "big", Description: "Echo. " + strings.Repeat("padding text ", 10<<20/13)}, echo)
	default:
		mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "Echo the text back."}, echo)
		mcp.AddTool(srv, &mcp.Tool{Name: "upper", Description: "Return the text in upper case."}, echo)
	}
	_ = srv.Run(context.Background(), &mcp.StdioTransport{})
}
