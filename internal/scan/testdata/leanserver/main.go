// Command leanserver is a minimal stdio MCP server for the scanner's
// concurrency measurement: it links only the Go SDK, so its own start-up
// costs little CPU, and it waits MCPSOC_SCAN_TEST_DELAY before serving, as
// a package download by npx or uvx would.
package main

import (
	"context"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type textIn struct {
	Text string `json:"text" jsonschema:"the text"`
}

func main() {
	if d, err := time.ParseDuration(os.Getenv("MCPSOC_SCAN_TEST_DELAY")); err == nil {
		time.Sleep(d)
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "leanserver", Version: "0.1.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "Echo the text back."}, func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	_ = srv.Run(context.Background(), &mcp.StdioTransport{})
}
