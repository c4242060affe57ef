package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addRootsTool gives s a tool "roots" that answers with the URIs of its
// client's roots, comma-separated.
func addRootsTool(s *mcp.Server) {
	f := false
	mcp.AddTool(s, &mcp.Tool{Name: "roots", Description: "List the client's roots.", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, DestructiveHint: &f}},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.ListRoots(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			var uris []string
			for _, r := range res.Roots {
				uris = append(uris, r.URI)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Join(uris, ",")}}}, nil, nil
		})
}

// samplingServer's tool asks its client's model a question (sampling)
// during the call and returns the answer.
func samplingServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "asker", Version: "1"}, nil)
	f := false
	addRootsTool(s)
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "Ask the model.", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, DestructiveHint: &f}},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			Q string `json:"q"`
		}) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10,
				Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Q}}}})
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "model said: " + res.Content.(*mcp.TextContent).Text}}}, nil, nil
		})
	return s
}

// TestRelayReachesOnlyTheCaller has two clients with different models
// call a tool that samples, concurrently and repeatedly, through the
// gateway: each sampling request reaches the client whose call caused it
// and no other, and each relay is audited.
func TestRelayReachesOnlyTheCaller(t *testing.T) {
	yaml := strings.Replace(openLoopback, "upstreams:", "upstreams:\n  - name: asker\n    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves \"asker\"", 1)
	_, srv, auditPath := newTestGateway(t, yaml, map[string]*mcp.Server{"asker": samplingServer()})
	ctx := context.Background()
	client := func(name string) *mcp.ClientSession {
		c := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ClientOptions{
			CreateMessageHandler: func(_ context.Context, r *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
				q := r.Params.Messages[0].Content.(*mcp.TextContent).Text
				return &mcp.CreateMessageResult{Model: name, Role: "assistant", Content: &mcp.TextContent{Text: name + " answers " + q}}, nil
			},
		})
		c.AddRoots(&mcp.Root{URI: "file:///home/" + name})
		// A 2025-11-25 client: servers may send it requests during a call.
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	a, b := client("alpha"), client("beta")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 10; i++ {
		for _, x := range []struct {
			cs   *mcp.ClientSession
			name string
		}{{a, "alpha"}, {b, "beta"}} {
			wg.Add(1)
			go func(cs *mcp.ClientSession, name string, i int) {
				defer wg.Done()
				q := fmt.Sprintf("q%d", i)
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "asker.ask", Arguments: map[string]any{"q": q}})
				if err != nil {
					errs <- err
					return
				}
				if got, want := resultText(res), "model said: "+name+" answers "+q; got != want {
					errs <- fmt.Errorf("%s got %q, want %q", name, got, want)
				}
			}(x.cs, x.name, i)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Each client's roots reach the upstream on its own session.
	for cs, want := range map[*mcp.ClientSession]string{a: "file:///home/alpha", b: "file:///home/beta"} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "asker.roots"})
		if err != nil || resultText(res) != want {
			t.Errorf("roots: %v %q, want %q", err, resultText(res), want)
		}
	}
	relayed := 0
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.relay" && r.Method == "sampling/createMessage" && r.Upstream == "asker" {
			relayed++
		}
	}
	if relayed != 20 {
		t.Errorf("%d relays audited, want 20", relayed)
	}
}

// TestRootsChangeReachesUpstream: a client whose calls run on a dedicated
// upstream session changes its roots; its notifications/roots/list_changed
// reaches that upstream, which then lists the new roots, and another
// client's session is untouched.
func TestRootsChangeReachesUpstream(t *testing.T) {
	changed := make(chan string, 4)
	up := mcp.NewServer(&mcp.Implementation{Name: "rooter", Version: "1"}, &mcp.ServerOptions{
		RootsListChangedHandler: func(ctx context.Context, req *mcp.RootsListChangedRequest) {
			res, err := req.Session.ListRoots(ctx, nil)
			if err != nil {
				changed <- "error: " + err.Error()
				return
			}
			var uris []string
			for _, r := range res.Roots {
				uris = append(uris, r.URI)
			}
			changed <- strings.Join(uris, ",")
		},
	})
	addRootsTool(up)
	yaml := strings.Replace(openLoopback, "upstreams:", "upstreams:\n  - name: rooter\n    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves \"rooter\"", 1)
	_, srv, auditPath := newTestGateway(t, yaml, map[string]*mcp.Server{"rooter": up})
	ctx := context.Background()
	client := func(name string) (*mcp.Client, *mcp.ClientSession) {
		// Sampling makes the gateway give this client its own upstream session.
		c := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ClientOptions{
			CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
				return nil, fmt.Errorf("not used")
			},
		})
		c.AddRoots(&mcp.Root{URI: "file:///home/" + name})
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return c, cs
	}
	roots := func(cs *mcp.ClientSession) string {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "rooter.roots"})
		if err != nil || res.IsError {
			t.Fatalf("roots: %v %+v", err, res)
		}
		return resultText(res)
	}
	ca, a := client("alpha")
	_, b := client("beta")
	if got := roots(a); got != "file:///home/alpha" {
		t.Fatalf("alpha's roots before the change: %q", got)
	}
	if got := roots(b); got != "file:///home/beta" {
		t.Fatalf("beta's roots: %q", got)
	}
	ca.AddRoots(&mcp.Root{URI: "file:///work/alpha"})
	select {
	case got := <-changed:
		if got != "file:///home/alpha,file:///work/alpha" {
			t.Fatalf("upstream listed %q after the change", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream was not told that the roots changed")
	}
	if got := roots(a); got != "file:///home/alpha,file:///work/alpha" {
		t.Errorf("alpha's roots after the change: %q", got)
	}
	if got := roots(b); got != "file:///home/beta" {
		t.Errorf("beta's roots after alpha's change: %q", got)
	}
	select {
	case got := <-changed:
		t.Errorf("another change reached the upstream: %q", got)
	default:
	}
	found := false
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.relay" && r.Method == "notifications/roots/list_changed" && r.Upstream == "rooter" {
			found = true
		}
	}
	if !found {
		t.Error("the relayed change was not audited")
	}
}
