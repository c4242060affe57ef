// Package mcpxtest connects tests to a kit server in memory through the
// SDK's client and calls its tools. It is imported by tests only.
package mcpxtest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Connect serves srv over in-memory transports and returns a session of a
// client named client (what the server's audit records as the caller),
// closed when the test ends.
func Connect(t testing.TB, srv *mcpx.Server, client string) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.SDK().Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: client, Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// Call calls a tool and decodes its structured result into out (when not
// nil; out is zeroed first so no field survives from an earlier call). It
// returns the text of an isError result, "" otherwise; a protocol error or
// an isError result without text fails the test.
func Call(t testing.TB, cs *mcp.ClientSession, name string, args map[string]any, out any) string {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(*mcp.TextContent); ok {
			text = tc.Text
		}
	}
	if res.IsError {
		if text == "" {
			t.Fatalf("%s: isError without text", name)
		}
		return text
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero()
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decoding %s: %v", name, b, err)
		}
	}
	return ""
}
