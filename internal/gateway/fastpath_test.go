package gateway

import (
	"strings"
	"testing"
)

// TestFastPathSuite runs the proxy, attack, policy, content, approval and
// pinning tests again with every fixture upstream on loopback HTTP: SDK
// clients negotiate 2026-07-28 with the gateway and the gateway negotiates
// it with the upstreams, so tools/call takes the fast path (raw forwarding)
// and must give exactly the answers the SDK path gives. Tests that need
// what a stateless upstream cannot do (list_changed pushed mid-session, an
// in-process server edited while connected) stay on the in-process run.
func TestFastPathSuite(t *testing.T) {
	upstreamsOverHTTP = true
	fastCallsSeen.Store(0)
	defer func() { upstreamsOverHTTP = false }()
	for name, fn := range map[string]func(*testing.T){
		"ProxyListAndCall":           TestProxyListAndCall,
		"ProxyProgressAndCancel":     TestProxyProgressAndCancellation,
		"AuditRedactsArguments":      TestAuditRedactsArguments,
		"OutputSchemaEnforced":       TestOutputSchemaEnforced,
		"CallsRefusedWithoutAudit":   TestCallsRefusedWithoutAudit,
		"AttackAuthentication":       TestAttackAuthentication,
		"AttackLimitsAndSessions":    TestAttackLimitsAndSessions,
		"AttackPolicyValidationRate": TestAttackPolicyValidationRate,
		"AttackRequestFlood":         TestAttackRequestFlood,
		"PoisonedToolsListBlocked":   TestPoisonedToolsListBlocked,
		"PolicyDecisions":            TestPolicyDecisions,
		"ApprovalsThroughAPI":        TestApprovalsThroughAPI,
		"ApprovalTimeout":            TestApprovalTimeout,
		"LockfileQuarantine":         TestLockfileQuarantineAndApprove,
		"LockfileUnpinnedUpstream":   TestLockfileUnpinnedUpstream,
		"Signatures":                 TestSignatures,
		"DuplicateArgumentKeys":      TestDuplicateArgumentKeysRefused,
	} {
		t.Run(name, fn)
	}
	if fastCallsSeen.Load() == 0 {
		t.Fatal("no call took the fast path")
	}
	t.Logf("%d calls served on the fast path", fastCallsSeen.Load())
}

// TestDuplicateArgumentKeysRefused: arguments that parsers may read two
// ways ({"message":"a","message":"b"}) are refused, not forwarded.
func TestDuplicateArgumentKeysRefused(t *testing.T) {
	_, srv, _ := newTestGateway(t, openLoopback, nil)
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fix.echo","arguments":{"message":"a","message":"b"},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	status, _, resp, _ := post(t, srv.URL+"/mcp", body, map[string]string{
		"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "fix.echo"})
	if status != 200 || !strings.Contains(resp, `"isError":true`) || !strings.Contains(resp, "arguments must not repeat a key in any object") {
		t.Fatalf("%d %s", status, resp)
	}
}

// TestParseFast: the fast path takes a well-formed call however it is
// spaced or escaped, and leaves to the SDK path anything that
// encoding/json might read differently from the one-pass reader.
func TestParseFast(t *testing.T) {
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	env, ok := parseFast([]byte(` { "jsonrpc" : "2.0", "id" : "x\"y", "method":"tools/call", "params": {`+meta+`, "name":"t\u00e9", "arguments": {"a":[1,{"b":"}"}]} } } `), "té")
	if !ok || env.Params.Name != "té" || string(env.ID) != `"x\"y"` || string(env.Params.Arguments) != `{"a":[1,{"b":"}"}]}` {
		t.Fatalf("well-formed call refused or misread: %v %+v", ok, env)
	}
	for name, body := range map[string]string{
		"case variant":     `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","NAME":"y",` + meta + `}}`,
		"repeated member":  `{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"x",` + meta + `}}`,
		"escaped key":      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"x",` + meta + `}}`,
		"trailing data":    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x",` + meta + `}}}`,
		"progress token":   `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":1}}}`,
		"other version":    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`,
		"notification":     `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x",` + meta + `}}`,
		"null id":          `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"x",` + meta + `}}`,
		"array arguments":  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1],` + meta + `}}`,
		"unknown member":   `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","inputResponses":{},` + meta + `}}`,
		"header disagrees": `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"y",` + meta + `}}`,
	} {
		if _, ok := parseFast([]byte(body), "x"); ok {
			t.Errorf("%s: taken by the fast path: %s", name, body)
		}
	}
}
