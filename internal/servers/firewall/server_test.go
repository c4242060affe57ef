package firewall

import (
	"context"
	"github.com/mcpsoc/mcpsoc/internal/mcpx/mcpxtest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connect serves s over in-memory transports and returns a client session.
func connect(t testing.TB, s *Server) *mcp.ClientSession {
	t.Helper()
	return mcpxtest.Connect(t, s.MCP(nil), "firewall-test")
}

// call calls a tool; see mcpxtest.Call.
var call = mcpxtest.Call

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Table: "bad name"}, "table name"},
		{Config{AllowList: []string{"x"}}, "allow-list entry"},
		{Config{MinTTL: 500 * 1e6}, "min_ttl"},
		{Config{MinTTL: 1e9, MaxTTL: 2e9, DefaultTTL: 3e9}, "default_ttl"},
		{Config{MaxElements: -1}, "max_elements"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestNoBackend runs every tool with an nft that does not exist: each says
// so in an isError result, and guards and the disabled switch answer
// before the backend is needed. Refused actions are audited.
func TestNoBackend(t *testing.T) {
	var evs []audit.Event
	s, err := New(Config{NFT: filepath.Join(t.TempDir(), "nft")}, &Options{Audit: func(ev audit.Event) error { evs = append(evs, ev); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(tools.Tools) != 7 {
		t.Fatalf("tools: %v %v", tools, err)
	}
	for _, tool := range tools.Tools {
		ro := tool.Name != "block_ip" && tool.Name != "unblock_ip"
		if tool.Annotations.ReadOnlyHint != ro || *tool.Annotations.DestructiveHint == ro {
			t.Errorf("%s: annotations %+v", tool.Name, tool.Annotations)
		}
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"status", nil, "the nftables backend is not available"},
		{"list_blocks", nil, "the nftables backend is not available"},
		{"block_ip", map[string]any{"ip": "203.0.113.9", "dry_run": true}, "the nftables backend is not available"},
		{"block_ip", map[string]any{"ip": "203.0.113.9"}, "firewall actions are disabled"},
		{"block_ip", map[string]any{"ip": "127.0.0.1", "dry_run": true}, "loopback"},
		{"block_ip", map[string]any{"ip": "10.0.0.1"}, "private address"},
		{"block_ip", map[string]any{"ip": "203.0.113.9", "ttl": "99d"}, "outside the allowed range"},
		{"block_ip", map[string]any{"ip": "203.0.113.9", "reason": `a"b`}, "quotes"},
		{"unblock_ip", map[string]any{"ip": "nope"}, "not an IP address"},
		{"unblock_ip", map[string]any{"ip": "203.0.113.9"}, "firewall actions are disabled"},
	} {
		if got := call(t, cs, tc.tool, tc.args, nil); !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: %q, want %q", tc.tool, tc.args, got, tc.want)
		}
	}
	// Six calls were not dry runs; each left a record.
	if len(evs) != 6 {
		t.Fatalf("audit: %d events: %+v", len(evs), evs)
	}
	if evs[0].Kind != "firewall.block" || evs[0].Decision != "deny" || evs[0].Subject != "client:firewall-test" || !strings.Contains(string(evs[0].Args), "203.0.113.9") {
		t.Errorf("audit event: %+v", evs[0])
	}
	if evs[1].Decision != "deny" || !strings.Contains(evs[1].Reason, "private address") {
		t.Errorf("guard refusal: %+v", evs[1])
	}
	if evs[2].Decision != "error" || !strings.Contains(evs[2].Reason, "outside the allowed range") {
		t.Errorf("ttl refusal: %+v", evs[2])
	}
}
