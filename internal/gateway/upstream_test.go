package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestClientTokenNeverReachesUpstream fronts a real Streamable HTTP
// upstream that records every Authorization header it receives: it must
// see its own configured credential only, never the client's token.
func TestClientTokenNeverReachesUpstream(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	up := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return upstreamServer() }, nil)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, aliceKey) {
					seen["leak in "+k]++
				}
			}
		}
		mu.Unlock()
		up.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close) // after the gateway's cleanup closes its connections
	yaml := strings.Replace(authGatewayYAML(t, ""), `  - name: fix
    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"`, `  - name: remote
    url: `+upstream.URL+`
    headers: {Authorization: "Bearer upstream-credential"}
  - name: fix
    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"`, 1)
	_, srv, _ := newTestGateway(t, yaml, nil)
	for _, h := range []map[string]string{{"X-API-Key": aliceKey}, {"Authorization": "Bearer " + aliceKey}} {
		cs, err := connect(t, srv.URL+"/mcp", h)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "remote.echo", Arguments: map[string]any{"message": "x"}})
		if err != nil || res.IsError {
			t.Fatalf("%v %+v", err, res)
		}
		cs.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if k != "Bearer upstream-credential" {
			t.Errorf("upstream saw %q (%d times)", k, n)
		}
	}
	if seen["Bearer upstream-credential"] == 0 {
		t.Error("upstream never saw its own credential")
	}
}

// TestRedisRateLimitSharedAcrossInstances runs two gateways on one real
// Redis: the burst is shared, so the second instance is refused once the
// first has used it up.
func TestRedisRateLimitSharedAcrossInstances(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second)
	if err != nil {
		testenv.Missing(t, "redis-server on 127.0.0.1:6379")
	}
	c.Close()
	prefix := fmt.Sprintf("mcpsoc:test:%d:", time.Now().UnixNano())
	yaml := strings.Replace(authGatewayYAML(t, ""), "    per_tool: {rate: 0.001, burst: 3}",
		"    per_tool: {rate: 0.001, burst: 3}\n    redis: {addr: 127.0.0.1:6379, prefix: \""+prefix+"\"}", 1)
	_, one, _ := newTestGateway(t, yaml, nil)
	_, two, _ := newTestGateway(t, yaml, nil)
	ctx := context.Background()
	var results []string
	for i, srv := range []string{one.URL, two.URL, one.URL, two.URL} {
		cs, err := connect(t, srv+"/mcp", map[string]string{"X-API-Key": aliceKey})
		if err != nil {
			t.Fatal(err)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fix.echo", Arguments: map[string]any{"message": fmt.Sprint(i)}})
		cs.Close()
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, resultText(res))
	}
	if results[0] != "echo: 0" || results[1] != "echo: 1" || results[2] != "echo: 2" ||
		!strings.HasPrefix(results[3], "rate limit exceeded for alice on fix.echo; retry after") {
		t.Fatalf("results %q", results)
	}
}

func TestRedisLimiterDownFailsClosed(t *testing.T) {
	l := NewRedisLimiter(&RedisConfig{Addr: "127.0.0.1:1", Prefix: "x:"})
	ok, _, err := l.Allow(context.Background(), "k", Bucket{Rate: 1, Burst: 1})
	if ok || err == nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
}

// TestHeaderBodyMismatch sends a 2026-07-28 request whose Mcp-Method
// header disagrees with its body.
func TestHeaderBodyMismatch(t *testing.T) {
	_, srv, _ := newTestGateway(t, openLoopback, nil)
	status, _, body, _ := post(t, srv.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fix.delete_file","arguments":{"path":"/"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`,
		map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"})
	if status != 400 || !strings.Contains(body, "-32020") {
		t.Fatalf("got %d %s", status, body)
	}
}
