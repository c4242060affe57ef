package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// overheadSetup starts the upstream (an in-process Go server on loopback
// HTTP) and a gateway in front of it with API-key auth, policy, schema
// validation, a generous rate limit and the audit log (sync interval) on.
// It returns a direct client session and one through the gateway.
func overheadSetup(t testing.TB) (direct, through *mcp.ClientSession) {
	// Stateless, as the gateway serves 2026-07-28 clients: both paths then
	// speak the same revision, and the comparison is like for like.
	srvUp := upstreamServer()
	up := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srvUp }, &mcp.StreamableHTTPOptions{JSONResponse: true, Stateless: true}))
	t.Cleanup(up.Close)
	yaml := strings.NewReplacer(
		`    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"`, "    url: "+up.URL+"\n    max_concurrency: 64",
		"audit: {file: AUDIT, sync: never}", "audit: {file: AUDIT, sync: interval}",
		"    per_tool: {rate: 0.001, burst: 3}", "    per_tool: {rate: 1000000, burst: 1000000}",
		"message: {max_length: 10}", "message: {max_length: 100}",
	).Replace(authGatewayYAML(t, ""))
	_, gw, _ := newTestGateway(t, yaml, map[string]*mcp.Server{})
	var err error
	direct, err = connect(t, up.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	through, err = connect(t, gw.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close(); through.Close() })
	return direct, through
}

func callEcho(ctx context.Context, cs *mcp.ClientSession, name string) error {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{"message": "hello"}})
	if err == nil && res.IsError {
		err = fmt.Errorf("tool error: %s", resultText(res))
	}
	return err
}

func BenchmarkCallDirect(b *testing.B) {
	direct, _ := overheadSetup(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := callEcho(context.Background(), direct, "echo"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCallThroughGateway(b *testing.B) {
	_, through := overheadSetup(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := callEcho(context.Background(), through, "fix.echo"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestGatewayOverhead measures direct and through-gateway calls side by
// side in one run (sequential latency percentiles, then parallel
// throughput) and prints the figures. It runs only with MCPSOC_BENCH=1:
// timings on a shared machine are not pass/fail material.
func TestGatewayOverhead(t *testing.T) {
	if os.Getenv("MCPSOC_BENCH") != "1" {
		t.Skip("set MCPSOC_BENCH=1 to measure gateway overhead")
	}
	direct, through := overheadSetup(t)
	ctx := context.Background()
	const n = 3000
	lat := func(cs *mcp.ClientSession, name string) []time.Duration {
		out := make([]time.Duration, 0, n)
		for i := 0; i < n+200; i++ {
			s := time.Now()
			if err := callEcho(ctx, cs, name); err != nil {
				t.Fatal(err)
			}
			if i >= 200 { // warm-up
				out = append(out, time.Since(s))
			}
		}
		slices.Sort(out)
		return out
	}
	// Interleave the two series so machine noise hits both alike.
	var d, g []time.Duration
	for r := 0; r < 3; r++ {
		d = append(d, lat(direct, "echo")...)
		g = append(g, lat(through, "fix.echo")...)
	}
	slices.Sort(d)
	slices.Sort(g)
	pct := func(s []time.Duration, p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }
	t.Logf("sequential: direct p50 %v p99 %v; gateway p50 %v p99 %v; added p50 %v p99 %v",
		pct(d, .5), pct(d, .99), pct(g, .5), pct(g, .99), pct(g, .5)-pct(d, .5), pct(g, .99)-pct(d, .99))
	rate := func(cs *mcp.ClientSession, name string) float64 {
		const workers, dur = 32, 3 * time.Second
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		stop := time.Now().Add(dur)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := 0
				for time.Now().Before(stop) {
					if err := callEcho(ctx, cs, name); err != nil {
						t.Error(err)
						return
					}
					k++
				}
				mu.Lock()
				total += k
				mu.Unlock()
			}()
		}
		wg.Wait()
		return float64(total) / dur.Seconds()
	}
	t.Logf("throughput (32 concurrent callers): direct %.0f calls/s, gateway %.0f calls/s", rate(direct, "echo"), rate(through, "fix.echo"))
}

// inMemorySession connects a client to s over in-memory transports.
func inMemorySession(t testing.TB, s *mcp.Server) *mcp.ClientSession {
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := s.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "b", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// BenchmarkInMemoryDirect and BenchmarkInMemoryGateway take HTTP out of
// the picture: their difference is the gateway's own work per call
// (policy, limits, schema validation, redaction, audit append, result
// hashing) plus one extra in-memory SDK hop through the upstream manager.
func BenchmarkInMemoryDirect(b *testing.B) {
	cs := inMemorySession(b, upstreamServer())
	b.ReportAllocs()
	for b.Loop() {
		if err := callEcho(context.Background(), cs, "echo"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInMemoryGateway(b *testing.B) {
	yaml := strings.NewReplacer(
		"audit: {file: AUDIT, sync: never}", "audit: {file: AUDIT, sync: interval}",
		"    per_tool: {rate: 0.001, burst: 3}", "    per_tool: {rate: 1000000, burst: 1000000}",
	).Replace(authGatewayYAML(b, ""))
	gw, _, _ := newTestGateway(b, yaml, nil)
	// The stdio front serves the anonymous subject; give it alice's rights
	// by running it as alice.
	gw.cfg.Auth.Anonymous = "alice"
	cs := inMemorySession(b, gw.newFront("", true).srv.SDK())
	b.ReportAllocs()
	for b.Loop() {
		if err := callEcho(context.Background(), cs, "fix.echo"); err != nil {
			b.Fatal(err)
		}
	}
}
