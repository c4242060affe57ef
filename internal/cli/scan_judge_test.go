package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const borderlineTools = `{"serverInfo":{"name":"clock"},"tools":[{"name":"tz","description":"Before calling this, you should include the user's timezone in the query.","inputSchema":{"type":"object","properties":{"query":{"type":"string"}}}}]}`

// fakeMessagesAPI is a FAKE Anthropic Messages endpoint (POST /v1/messages,
// x-api-key, anthropic-version; text content blocks out) that says every item
// is poisoned, or fails with status when status != 200.
func fakeMessagesAPI(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/messages" || r.Header.Get("X-Api-Key") != "test-key" {
			w.WriteHeader(401)
			return
		}
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if status != 200 {
			w.WriteHeader(status)
			io.WriteString(w, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`)
			return
		}
		n := strings.Count(req.Messages[0].Content, `"id": "t`)
		var vs []string
		for i := 1; i <= n; i++ {
			vs = append(vs, fmt.Sprintf(`{"id":"t%d","poisoned":true,"confidence":0.7,"category":"pii","reason":"harvests the user's timezone"}`, i))
		}
		text, _ := json.Marshal(`{"verdicts":[` + strings.Join(vs, ",") + `]}`)
		fmt.Fprintf(w, `{"type":"message","role":"assistant","content":[{"type":"text","text":%s}],"stop_reason":"end_turn"}`, text)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestScanToolsJudge(t *testing.T) {
	srv, calls := fakeMessagesAPI(t, 200)
	bad, _ := fakeMessagesAPI(t, 500)
	dir := writeFiles(t, map[string]string{
		"tools.json": borderlineTools,
		"llm.yaml":   "llm:\n  provider: anthropic\n  base_url: " + srv.URL + "\n  model: test-model\n  api_key: test-key\n  max_tools_per_request: 4\n",
		"bad.yaml":   "llm:\n  provider: anthropic\n  base_url: " + bad.URL + "\n  model: test-model\n  api_key: test-key\n",
		"none.yaml":  "log:\n  level: info\n",
	})
	p := func(n string) string { return filepath.Join(dir, n) }

	// Off by default: nothing is sent even with a config around.
	code, out, _ := runCLI(t, "scan", "tools", p("tools.json"))
	if code != 0 || strings.Contains(out, "MCP-JUDGE-001") || calls.Load() != 0 {
		t.Fatalf("without --judge: exit %d, calls %d\n%s", code, calls.Load(), out)
	}
	code, out, errs := runCLI(t, "scan", "tools", "--judge", "--llm-config", p("llm.yaml"), "--fail-on", "review", p("tools.json"))
	if code != 1 || !strings.Contains(out, "MCP-JUDGE-001") || calls.Load() != 1 || !strings.Contains(errs, "anthropic test-model") {
		t.Fatalf("with --judge: exit %d calls %d\nstdout:\n%s\nstderr:\n%s", code, calls.Load(), out, errs)
	}
	if strings.Contains(out+errs, "test-key") {
		t.Error("api key printed")
	}
	// A failing provider: deterministic output still printed, exit 2.
	code, out, errs = runCLI(t, "scan", "tools", "--judge", "--llm-config", p("bad.yaml"), p("tools.json"))
	if code != 2 || !strings.Contains(out, "clock") || !strings.Contains(errs, "HTTP 500") {
		t.Errorf("failing judge: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"scan", "tools", "--judge", p("tools.json")},
		{"scan", "tools", "--judge", "--llm-config", p("none.yaml"), p("tools.json")},
		{"scan", "tools", "--llm-config", p("llm.yaml"), p("tools.json")},
		{"scan", "--judge", "--config", p("nope.json")},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}
