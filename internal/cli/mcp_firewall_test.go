package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

func TestMCPFirewallConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--table", "x;y"}, "table name"},
		{[]string{"--allow", "nonsense"}, "allow-list entry"},
		{[]string{"--min-ttl", "1h", "--max-ttl", "1m"}, "min_ttl"},
		{[]string{"--http", "0.0.0.0:0"}, "loopback"},
	} {
		code, _, stderr := run(t, context.Background(), append([]string{"mcp", "firewall"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// tsFirewall runs the official TypeScript SDK client with one tool call;
// target is "http URL" or "stdio COMMAND ARGS...".
func tsFirewall(t *testing.T, target []string, tool string, args map[string]any) testenv.TSReport {
	t.Helper()
	return testenv.TSClient(t, target, nil, tool, args)
}

// TestMCPFirewallTypeScriptClient drives 'mcp firewall' over Streamable
// HTTP from the TypeScript SDK client with an nft that does not exist:
// status says the backend is missing, a loopback block is refused, and the
// refusal is in the audit log.
func TestMCPFirewallTypeScriptClient(t *testing.T) {
	testenv.Node(t)
	testenv.PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.log")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := run(t, ctx, "mcp", "firewall", "--http", addr, "--nft", filepath.Join(dir, "no-nft"),
			"--enable-actions", "--audit", auditPath)
		done <- code
	}()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not listen")
		}
	}
	target := []string{"http", "http://" + addr + "/mcp"}

	r := tsFirewall(t, target, "status", nil)
	if r.ServerInfo.Name != "mcpsoc-firewall" || len(r.Tools) != 7 || !r.Result.IsError ||
		!strings.Contains(r.Result.Content[0].Text, "the nftables backend is not available") {
		t.Fatalf("status: %+v", r)
	}
	for _, tool := range r.Tools {
		ro := tool.Name != "block_ip" && tool.Name != "unblock_ip"
		if tool.Annotations["readOnlyHint"] != ro || tool.Annotations["destructiveHint"] != !ro {
			t.Errorf("%s: annotations %v", tool.Name, tool.Annotations)
		}
	}
	r = tsFirewall(t, target, "block_ip", map[string]any{"ip": "127.0.0.1", "ttl": "1h", "reason": "ts client"})
	if !r.Result.IsError || !strings.Contains(r.Result.Content[0].Text, "refusing to block 127.0.0.1: it is a loopback address") {
		t.Fatalf("block_ip 127.0.0.1: %+v", r.Result)
	}
	stop() // flushes and closes the audit log
	f, err := os.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := audit.Verify(f, nil); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	b, _ := os.ReadFile(auditPath)
	if !strings.Contains(string(b), `"kind":"firewall.block"`) || !strings.Contains(string(b), `"decision":"deny"`) ||
		!strings.Contains(string(b), `"subject":"client:mcpsoc-interop"`) {
		t.Fatalf("audit log: %s", b)
	}
}

// TestMCPFirewallTypeScriptClientNetns runs the binary over stdio inside a
// fresh network namespace (unshare -n, gone when the process exits) so that
// nft is real but the host's ruleset is never read or changed: status
// reaches nft and a dry run returns the commands.
func TestMCPFirewallTypeScriptClientNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (unshare -n)")
	}
	for _, b := range []string{"nft", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			testenv.Missing(t, b+" (Debian packages nftables and util-linux)")
		}
	}
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	target := []string{"stdio", "unshare", "-n", bin, "mcp", "firewall"}
	r := tsFirewall(t, target, "status", nil)
	var st struct {
		Reachable    bool `json:"reachable"`
		TablePresent bool `json:"table_present"`
	}
	if err := json.Unmarshal(r.Result.StructuredContent, &st); err != nil || r.Result.IsError || !st.Reachable || st.TablePresent {
		t.Fatalf("status: %+v %v", r.Result, err)
	}
	r = tsFirewall(t, target, "block_ip", map[string]any{"ip": "203.0.113.9", "ttl": "2h", "dry_run": true})
	var res struct {
		Commands []string `json:"commands"`
	}
	if err := json.Unmarshal(r.Result.StructuredContent, &res); err != nil || r.Result.IsError || len(res.Commands) == 0 ||
		res.Commands[len(res.Commands)-1] != "add element inet mcpsoc block4 { 203.0.113.9 timeout 7200s }" {
		t.Fatalf("dry run: %+v %v", r.Result, err)
	}
	r = tsFirewall(t, target, "block_ip", map[string]any{"ip": "203.0.113.9"})
	if !r.Result.IsError || !strings.Contains(r.Result.Content[0].Text, "firewall actions are disabled") {
		t.Fatalf("disabled: %+v", r.Result)
	}
}
