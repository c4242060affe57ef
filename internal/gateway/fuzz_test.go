package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzJSONShape checks the pre-parse limit scanner against the real
// decoder: whatever it accepts as within the depth limit, a JSON decoder
// must not find nested deeper.
func FuzzJSONShape(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c"}]}`), 3)
	f.Add([]byte(`"\"[[[[["`), 1)
	f.Add([]byte(`[[[[`), 2)
	f.Add([]byte(`{"k":"\\"}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, depth int) {
		if depth < 1 || depth > 64 {
			return
		}
		if checkJSONShape(b, depth, 1<<20) != "" {
			return
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		if d := jsonDepth(v); d > depth {
			t.Fatalf("accepted depth %d > %d: %q", d, depth, b)
		}
	})
}

func jsonDepth(v any) int {
	switch x := v.(type) {
	case map[string]any:
		m := 0
		for _, e := range x {
			m = max(m, jsonDepth(e))
		}
		return m + 1
	case []any:
		m := 0
		for _, e := range x {
			m = max(m, jsonDepth(e))
		}
		return m + 1
	}
	return 0
}

// FuzzGatewayFrames posts arbitrary JSON-RPC bodies (with and without
// 2026-07-28 headers) through the whole HTTP stack: authentication, limits,
// the SDK's framing and the gateway's handlers. No panic, no 5xx, and a
// tool is never run for an unauthenticated request.
func FuzzGatewayFrames(f *testing.F) {
	gw, srv, _ := newTestGateway(f, authGatewayYAML(f, ""), nil)
	h := gw.Handler()
	srv.Close()
	for _, s := range []string{
		initBody,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fix.echo","arguments":{"message":"x"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fix.delete_file","arguments":{"path":"/"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`,
	} {
		f.Add([]byte(s), true, false)
		f.Add([]byte(s), false, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, authed, modern bool) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if authed {
			req.Header.Set("X-API-Key", aliceKey)
		}
		if modern {
			req.Header.Set("MCP-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body.String())
		}
		if !authed && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusRequestEntityTooLarge && rec.Code != http.StatusBadRequest {
			t.Fatalf("unauthenticated request got %d", rec.Code)
		}
		if !authed && strings.Contains(rec.Body.String(), "deleted") {
			t.Fatal("tool ran without authentication")
		}
	})
}

// FuzzFastPathParse feeds arbitrary bodies to the fast path's decoder: it
// must never panic, and whatever it accepts is a well-formed tools/call
// whose name agrees with the routing header.
func FuzzFastPathParse(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fix.echo","arguments":{"message":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`), "fix.echo")
	f.Add([]byte(`{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"x","inputResponses":{}}}`), "x")
	f.Add([]byte(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}`), "x")
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1}]`), "")
	f.Add([]byte(` { "jsonrpc" : "2.0", "id" : "x\"y", "method":"tools/call", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion":"2026-07-28",`+
		`"io.modelcontextprotocol/clientInfo":{"name":"a"}}, "name":"t\u00e9", "arguments": {"a":[1,{"b":"}"}]} } } `), "té")
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","NAME":"y","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`), "x")
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}}`), "x")
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		env, ok := parseFast(body, name)
		if !ok {
			return
		}
		// What it accepts, encoding/json reads the same way.
		var ref struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
			Params  struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"params"`
		}
		if err := json.Unmarshal(body, &ref); err != nil || ref.JSONRPC != "2.0" || ref.Method != "tools/call" ||
			ref.Params.Name != env.Params.Name || !bytes.Equal(ref.Params.Arguments, env.Params.Arguments) || !bytes.Equal(ref.ID, env.ID) {
			t.Fatalf("accepted %q, which encoding/json reads otherwise (%v)", body, err)
		}
		if env.Params.Name != name || !plainID(env.ID) {
			t.Fatalf("accepted %q", body)
		}
	})
}

// FuzzSecretPrefilter checks that the literal pre-filter never hides a
// credential the response scanner's expression would find.
func FuzzSecretPrefilter(f *testing.F) {
	f.Add([]byte("token ghp_" + strings.Repeat("A1b2", 6)))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nabc"))
	f.Add([]byte("AKIAABCDEFGHIJKLMNOP"))
	f.Add([]byte("plain text"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := mayHoldSecret(b), responseSecret.Match(b); got != want {
			t.Fatalf("mayHoldSecret(%q) = %v, regexp says %v", b, got, want)
		}
	})
}

func TestDuplicateKey(t *testing.T) {
	for in, want := range map[string]bool{
		`{"path":"/tmp/x"}`:                           false,
		`{"path":"/tmp/x","path":"/etc/passwd"}`:      true,
		`{"path":"/tmp/x","p\u0061th":"/etc/passwd"}`: true,
		`{"a":{"b":1,"b":2}}`:                         true,
		`{"a":[{"b":1},{"b":2}],"c":{"b":3}}`:         false,
		`{"a":[1,{"x":1,"x":2}]}`:                     true,
		`{"a":"\":\"","b":1}`:                         false,
		`{}`:                                          false,
	} {
		if got := duplicateKey([]byte(in)); got != want {
			t.Errorf("duplicateKey(%s) = %v, want %v", in, got, want)
		}
	}
}

// FuzzDuplicateKey: never panics, and a top-level object whose key count
// in the token stream exceeds its map size (a repeated key) is reported.
func FuzzDuplicateKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":[{"b":{"c":[1,2,{"d":3}]}}]}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // admitCall checks for duplicates in arguments it decoded
		}
		dup := duplicateKey(b)
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || m == nil {
			return
		}
		var top struct{ n int }
		dec := json.NewDecoder(bytes.NewReader(b))
		depth, expectKey := 0, false
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
				expectKey = depth == 1
				continue
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
			if depth == 1 && expectKey {
				top.n++
				expectKey = false
				continue
			}
			if depth == 1 {
				expectKey = true
			}
		}
		if top.n > len(m) && !dup {
			t.Fatalf("repeated top-level key in %q not reported", b)
		}
	})
}
