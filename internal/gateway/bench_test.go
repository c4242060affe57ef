package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	_, gw, _ := newTestGateway(t, yaml, map[string]*mcp.Server{"fix": nil})
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

// leanCaller is the load generator: one pre-encoded 2026-07-28 tools/call
// POSTed on a keep-alive pool, the answer read and checked. It does far
// less work per call than an SDK client, so it measures the servers.
type leanCaller struct {
	url  string
	hdr  http.Header
	body []byte
	want []byte
	hc   *http.Client
}

func newLeanCaller(url, tool string, extra map[string]string) *leanCaller {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256, IdleConnTimeout: time.Minute, DisableCompression: true}
	h := http.Header{
		"Content-Type":         {"application/json"},
		"Accept":               {"application/json, text/event-stream"},
		"Mcp-Protocol-Version": {"2026-07-28"},
		"Mcp-Method":           {"tools/call"},
		"Mcp-Name":             {tool},
	}
	for k, v := range extra {
		h.Set(k, v)
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"message":"hello"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	return &leanCaller{url: url, hdr: h, body: []byte(body), want: []byte(`"text":"echo: hello"`), hc: &http.Client{Transport: tr}}
}

func (c *leanCaller) call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return err
	}
	req.Header = c.hdr
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, c.want) || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("unexpected answer %s: %s", resp.Status, b)
	}
	return nil
}

// leanUpstream answers tools/call of echo by hand (one small decode, one
// write) and hands every other request to the SDK server: the cheapest
// honest Go upstream, so the gateway's own cost is what a run shows.
func leanUpstream(sdk http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Mcp-Method") != "tools/call" {
			sdk.ServeHTTP(w, r)
			return
		}
		var env struct {
			ID     json.RawMessage `json:"id"`
			Params struct {
				Arguments struct {
					Message string `json:"message"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil || len(env.ID) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		text, _ := json.Marshal("echo: " + env.Params.Arguments.Message)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","content":[{"type":"text","text":%s}]}}`, env.ID, text)
	})
}

// BenchmarkLeanDirect and BenchmarkLeanGateway are the throughput half of
// TestGatewayOverhead as benchmarks, for profiling and system-call counts:
// the lean upstream over loopback HTTP, called directly or through the
// gateway with every check on.
func BenchmarkLeanDirect(b *testing.B) {
	up := httptest.NewServer(leanUpstream(http.NotFoundHandler()))
	b.Cleanup(up.Close)
	runLean(b, newLeanCaller(up.URL, "echo", nil))
}

func BenchmarkLeanGateway(b *testing.B) {
	upSrv := upstreamServer()
	sdkUp := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return upSrv }, &mcp.StreamableHTTPOptions{JSONResponse: true, Stateless: true})
	up := httptest.NewServer(leanUpstream(sdkUp))
	b.Cleanup(up.Close)
	_, gwURL := benchGateway(b, up.URL)
	runLean(b, newLeanCaller(gwURL, "fix.echo", map[string]string{"X-API-Key": aliceKey}))
}

func runLean(b *testing.B, c *leanCaller) {
	if err := c.call(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8) // 16 callers on 2 cores, as TestGatewayOverhead
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.call(context.Background()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchGateway fronts upstream URL u with the overhead configuration (API
// key, policy with an argument condition, schema validation, rate limits,
// response scanning, audit with sync interval).
func benchGateway(t testing.TB, u string) (*Gateway, string) {
	yaml := strings.NewReplacer(
		`    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"`, "    url: "+u+"\n    max_concurrency: 256",
		"audit: {file: AUDIT, sync: never}", "audit: {file: AUDIT, sync: interval}",
		"    per_tool: {rate: 0.001, burst: 3}", "    per_tool: {rate: 1000000, burst: 1000000}",
		"message: {max_length: 10}", "message: {max_length: 100}",
	).Replace(authGatewayYAML(t, ""))
	g, gw, _ := newTestGateway(t, yaml, map[string]*mcp.Server{"fix": nil})
	return g, gw.URL + "/mcp"
}

// TestGatewayOverhead measures, in one run, the same tool call made
// directly to an in-process Go upstream over loopback HTTP and through the
// gateway (auth, policy, validation, rate limits, response scanning and
// audit on), against two upstreams: the SDK's stateless server, and a lean
// hand-written tools/call handler. Sequential latency percentiles first
// (series interleaved so noise hits both), then throughput with
// MCPSOC_BENCH_WORKERS concurrent callers (default 16) for
// MCPSOC_BENCH_SECONDS (default 3). It runs only with MCPSOC_BENCH=1:
// timings on a shared machine are not pass/fail material.
func TestGatewayOverhead(t *testing.T) {
	if os.Getenv("MCPSOC_BENCH") != "1" {
		t.Skip("set MCPSOC_BENCH=1 to measure gateway overhead")
	}
	workers, _ := strconv.Atoi(os.Getenv("MCPSOC_BENCH_WORKERS"))
	if workers <= 0 {
		workers = 16
	}
	secs, _ := strconv.Atoi(os.Getenv("MCPSOC_BENCH_SECONDS"))
	if secs <= 0 {
		secs = 3
	}
	ctx := context.Background()
	upSrv := upstreamServer()
	sdkUp := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return upSrv }, &mcp.StreamableHTTPOptions{JSONResponse: true, Stateless: true})
	for _, up := range []struct {
		name string
		h    http.Handler
	}{{"SDK upstream", sdkUp}, {"lean upstream", leanUpstream(sdkUp)}} {
		if only := os.Getenv("MCPSOC_BENCH_UPSTREAM"); only != "" && !strings.HasPrefix(up.name, only) {
			continue
		}
		var upCalls atomic.Int64
		h := up.h
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			upCalls.Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		direct := newLeanCaller(srv.URL, "echo", nil)
		gw, gwURL := benchGateway(t, srv.URL)
		through := newLeanCaller(gwURL, "fix.echo", map[string]string{"X-API-Key": aliceKey})
		const n = 2000
		lat := func(c *leanCaller) []time.Duration {
			out := make([]time.Duration, 0, n)
			for i := 0; i < n+200; i++ {
				s := time.Now()
				if err := c.call(ctx); err != nil {
					t.Fatal(err)
				}
				if i >= 200 { // warm-up
					out = append(out, time.Since(s))
				}
			}
			return out
		}
		var d, g []time.Duration
		for r := 0; r < 3; r++ {
			d = append(d, lat(direct)...)
			g = append(g, lat(through)...)
		}
		slices.Sort(d)
		slices.Sort(g)
		pct := func(s []time.Duration, p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }
		t.Logf("%s, sequential: direct p50 %v p99 %v; gateway p50 %v p99 %v; added p50 %v p99 %v", up.name,
			pct(d, .5), pct(d, .99), pct(g, .5), pct(g, .99), pct(g, .5)-pct(d, .5), pct(g, .99)-pct(d, .99))
		rate := func(c *leanCaller) float64 {
			var wg sync.WaitGroup
			var total atomic.Int64
			dur := time.Duration(secs) * time.Second
			stop := time.Now().Add(dur)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k := int64(0)
					for time.Now().Before(stop) {
						if err := c.call(ctx); err != nil {
							t.Error(err)
							return
						}
						k++
					}
					total.Add(k)
				}()
			}
			wg.Wait()
			return float64(total.Load()) / dur.Seconds()
		}
		// CPU time of the whole process (load generator, gateway and
		// upstream) per call on each path: the difference is the gateway's
		// own cost, from which its capacity on two otherwise idle cores
		// follows.
		cpuPer := func(c *leanCaller) (float64, time.Duration) {
			before := processCPU()
			r := rate(c)
			return r, time.Duration(float64(processCPU()-before) / (r * float64(secs)))
		}
		rd, cd := cpuPer(direct)
		rg, cg := cpuPer(through)
		t.Logf("%s, throughput (%d concurrent callers, %ds each): direct %.0f calls/s, gateway %.0f calls/s (ratio %.2f); %d calls on the fast path",
			up.name, workers, secs, rd, rg, rg/rd, gw.fastCalls.Load())
		if own := cg - cd; own > 0 {
			t.Logf("%s, CPU per call (all parties): direct %v, through the gateway %v; the gateway's own %v per call, i.e. %.0f calls/s on two idle cores",
				up.name, cd.Round(100*time.Nanosecond), cg.Round(100*time.Nanosecond), own.Round(100*time.Nanosecond), 2/own.Seconds())
		}
		// The same with wrk as the load generator when it is installed: a
		// C client that costs far less per call than a Go one, running as
		// its own process (one thread). This process then holds only the
		// upstream (direct) or the gateway and the upstream, so the
		// difference in its CPU per call is the gateway's alone.
		wrk, err := exec.LookPath("wrk")
		if err != nil || up.name != "lean upstream" {
			continue
		}
		wrkPer := func(c *leanCaller) (float64, time.Duration) {
			before, calls := processCPU(), upCalls.Load()
			r, n := runWrk(t, wrk, c, workers, secs)
			if got := upCalls.Load() - calls; got < n {
				t.Fatalf("wrk counted %d answers, the upstream %d calls", n, got)
			}
			return r, time.Duration(float64(processCPU()-before) / float64(n))
		}
		wd, wcd := wrkPer(direct)
		wg, wcg := wrkPer(through)
		t.Logf("%s, wrk (1 thread, %d connections, %ds each): direct %.0f calls/s, gateway %.0f calls/s (ratio %.2f); CPU per call of this process: direct %v, gateway %v; the gateway's own %v per call",
			up.name, workers, secs, wd, wg, wg/wd, wcd.Round(100*time.Nanosecond), wcg.Round(100*time.Nanosecond), (wcg - wcd).Round(100*time.Nanosecond))
	}
}

// runWrk posts c's call with wrk for secs seconds on conns connections and
// returns the calls per second and the number of answers, all of which
// must be HTTP 200.
func runWrk(t *testing.T, wrk string, c *leanCaller, conns, secs int) (float64, int64) {
	var lua strings.Builder
	lua.WriteString("wrk.method = \"POST\"\nwrk.body = [==[" + string(c.body) + "]==]\n")
	for k, v := range c.hdr {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v[0])
	}
	script := t.TempDir() + "/call.lua"
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "-s", script, c.url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "Non-2xx") || strings.Contains(text, "Socket errors") {
		t.Fatalf("wrk saw failures:\n%s", text)
	}
	var n int64
	var rate float64
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) == 2 && f[0] == "Requests/sec:":
			rate, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if n == 0 || rate == 0 {
		t.Fatalf("cannot read wrk's output:\n%s", text)
	}
	return rate, n
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

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
