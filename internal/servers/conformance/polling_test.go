package conformance_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/servers/conformance"
)

// TestSSEPolling: on a 2025-11-25 session, a tool that closes its stream
// mid-call (SEP-1699 polling) first sends a priming event (an id and empty
// data) and a retry field, so the client can resume.
func TestSSEPolling(t *testing.T) {
	srv := httptest.NewServer(conformance.New(nil).HTTPHandler(nil))
	defer srv.Close()
	post := func(session, version, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("MCP-Protocol-Version", version)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	session := resp.Header.Get("Mcp-Session-Id")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if session == "" {
		t.Fatal("no session id")
	}
	post(session, "2025-11-25", `{"jsonrpc":"2.0","method":"notifications/initialized"}`).Body.Close()

	resp = post(session, "2025-11-25", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_reconnection","arguments":{}}}`)
	defer resp.Body.Close()
	var first []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "" {
		first = append(first, sc.Text())
	}
	event := strings.Join(first, "\n")
	if !strings.Contains(event, "id: ") || !strings.Contains(event, "data: ") {
		t.Errorf("first event is not a priming event:\n%s", event)
	}
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(event+string(rest), "retry: ") {
		t.Errorf("no retry field in the stream:\n%s\n---rest---\n%q", event, rest)
	}
}
