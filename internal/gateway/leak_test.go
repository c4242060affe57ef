package gateway

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

// TestCloseStopsEverything: after a session, a call and Close, no
// goroutine of the gateway, its upstream manager or its audit writer is
// left behind.
func TestCloseStopsEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gw, srv, _ := newTestGateway(t, openLoopback, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": "x"}}); err != nil {
		t.Fatal(err)
	}
	cs.Close()
	srv.CloseClientConnections()
	srv.Close()
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	pooled.CloseIdleConnections()
}
