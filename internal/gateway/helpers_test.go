package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// upstreamServer is a real SDK server with the tool shapes the gateway must
// handle: read-only, destructive, unannotated, progress-reporting and slow.
func upstreamServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "fixture", Version: "1"}, nil)
	f := false
	type echoIn struct {
		Message string `json:"message" jsonschema:"text to echo"`
		Count   int    `json:"count,omitempty" jsonschema:"repeat count"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echo a message.", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, DestructiveHint: &f}},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Message}}}, nil, nil
		})
	type pathIn struct {
		Path string `json:"path"`
	}
	tr := true
	mcp.AddTool(s, &mcp.Tool{Name: "delete_file", Description: "Delete a file.", Annotations: &mcp.ToolAnnotations{DestructiveHint: &tr}},
		func(ctx context.Context, req *mcp.CallToolRequest, in pathIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "deleted " + in.Path}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "unannotated", Description: "No annotations: destructive by MCP default."},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ran"}}}, nil, nil
		})
	type slowIn struct {
		Steps int `json:"steps"`
		MS    int `json:"ms"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Report progress, then finish.", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest, in slowIn) (*mcp.CallToolResult, any, error) {
			for i := 1; i <= in.Steps; i++ {
				if tok := req.Params.GetProgressToken(); tok != nil {
					req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: float64(in.Steps)})
				}
				select {
				case <-ctx.Done():
					return nil, nil, ctx.Err()
				case <-time.After(time.Duration(in.MS) * time.Millisecond):
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
		})
	return s
}

// upstreamsOverHTTP makes newTestGateway serve the fixture upstreams over
// loopback HTTP instead of in-process (see TestFastPathSuite); tests of
// this package do not run in parallel.
var upstreamsOverHTTP bool

// fastCallsSeen sums the fast-path calls of gateways built while
// upstreamsOverHTTP is set.
var fastCallsSeen atomic.Int64

// newTestGateway builds and starts a gateway from YAML (the upstream
// "fix" is in-process unless extra maps it to nil) and serves it with
// httptest.
func newTestGateway(t testing.TB, yamlText string, extra map[string]*mcp.Server) (*Gateway, *httptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.jsonl")
	yamlText = strings.ReplaceAll(yamlText, "AUDIT", auditPath)
	cfg, err := ParseConfig("test.yaml", []byte(yamlText), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	inproc := map[string]*mcp.Server{"fix": upstreamServer()}
	for k, v := range extra {
		if v == nil { // the entry's own URL serves it
			delete(inproc, k)
			continue
		}
		inproc[k] = v
	}
	if upstreamsOverHTTP {
		// Serve each fixture on loopback HTTP (stateless, 2026-07-28) so
		// calls take the fast path: point the entries at it and re-parse.
		for name, s := range inproc {
			up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: true}))
			t.Cleanup(up.Close)
			re := regexp.MustCompile(`(name: ` + regexp.QuoteMeta(name) + `\n\s+url: )http://127\.0\.0\.1:9/in-process`)
			yamlText = re.ReplaceAllString(yamlText, "${1}"+up.URL)
		}
		if cfg, err = ParseConfig("test.yaml", []byte(yamlText), func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		inproc = nil
	}
	gw, err := New(cfg, &Options{InProcess: inproc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gw.Start(context.Background())
	if err := gw.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() { srv.Close(); gw.Close() })
	if upstreamsOverHTTP {
		t.Cleanup(func() { fastCallsSeen.Add(gw.fastCalls.Load()) })
	}
	return gw, srv, auditPath
}

// connect opens an SDK client session to url with extra headers.
func connect(t testing.TB, url string, headers map[string]string) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: headerRT{h: headers}}
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
}

type headerRT struct{ h map[string]string }

// pooled keeps enough idle connections for parallel benchmark callers
// (http.DefaultTransport keeps two per host and would measure TCP set-up).
var pooled = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 128
	return t
}()

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.h {
		r.Header.Set(k, v)
	}
	return pooled.RoundTrip(r)
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// auditRecords verifies the log's chain and returns its records.
func auditRecords(t testing.TB, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := audit.Verify(f, nil); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	data, _ := os.ReadFile(path)
	var out []audit.Record
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var r audit.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
