package firewall

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

func requireIPT(t *testing.T) {
	t.Helper()
	requireNetns(t)
	for _, bin := range []string{"ipset", "iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, bin+" (Debian packages ipset and iptables)")
		}
	}
}

// TestIPTablesInNamespace drives the iptables+ipset backend against the
// real kernel in a private namespace: traffic from b flows, block_ip drops
// it, the ipset element timeout lifts it, unblock_ip lifts a long block.
func TestIPTablesInNamespace(t *testing.T) {
	requireIPT(t)
	p := newNetPair(t)
	target := p.listenA(t)
	if err := p.dial(target); err != nil {
		t.Fatalf("before any block: %v", err)
	}
	cs := p.serveInA(t, Config{Backend: BackendIPTables, EnableActions: true, AllowPrivate: true, MinTTL: time.Second})

	var st Status
	if e := call(t, cs, "status", nil, &st); e != "" || !st.Reachable || st.TablePresent || st.Backend != "iptables" ||
		!strings.Contains(st.BackendVersion, "iptables v") || !strings.Contains(st.BackendVersion, "ipset v") {
		t.Fatalf("status before: %q %+v", e, st)
	}
	var dry ChangeResult
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "2s", "reason": "ipt test", "dry_run": true}, &dry); e != "" {
		t.Fatal(e)
	}
	want := []string{
		"ipset create mcpsoc4 hash:ip family inet timeout 0 maxelem 65536 comment",
		"ipset create mcpsoc6 hash:ip family inet6 timeout 0 maxelem 65536 comment",
		"iptables -w -N MCPSOC",
		"iptables -w -A MCPSOC -m set --match-set mcpsoc4 src -j DROP",
		"iptables -w -I INPUT 1 -j MCPSOC",
		"iptables -w -I FORWARD 1 -j MCPSOC",
		"ip6tables -w -N MCPSOC",
		"ip6tables -w -A MCPSOC -m set --match-set mcpsoc6 src -j DROP",
		"ip6tables -w -I INPUT 1 -j MCPSOC",
		"ip6tables -w -I FORWARD 1 -j MCPSOC",
		"ipset add mcpsoc4 " + p.addrB + ` timeout 2 comment "ttl=2 ipt test"`,
	}
	if !dry.DryRun || !slices.Equal(dry.Commands, want) || dry.Set != "mcpsoc4" || len(dry.Blocks) != 1 {
		t.Fatalf("dry run:\n%s", strings.Join(dry.Commands, "\n"))
	}
	if e := call(t, cs, "status", nil, &st); e != "" || st.TablePresent {
		t.Fatalf("dry run changed the kernel: %q %+v", e, st)
	}

	var res ChangeResult
	callStart := time.Now()
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "2s", "reason": "ipt test"}, &res); e != "" {
		t.Fatal(e)
	}
	blockedAt := time.Now()
	if !slices.Equal(res.Commands, want) || res.Block == nil || res.Block.TTLSeconds != 2 || res.Block.Reason != "ipt test" {
		t.Fatalf("block_ip: %+v", res)
	}
	if err := p.dial(target); err == nil {
		t.Fatal("connection accepted right after block_ip returned")
	}
	t.Logf("iptables block_ip round trip %v (apply %.1f ms); first probe was dropped", blockedAt.Sub(callStart), res.DurationMS)
	if e := call(t, cs, "status", nil, &st); e != "" || !st.TableComplete || st.IPv4Blocks != 1 {
		t.Fatalf("status while blocked: %q %+v", e, st)
	}
	for p.dial(target) != nil {
		if time.Since(blockedAt) > 10*time.Second {
			t.Fatal("still blocked 10s after a 2s block")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if lifted := time.Since(blockedAt); lifted < 1500*time.Millisecond {
		t.Fatalf("block lifted after %v, before its 2s TTL", lifted)
	}
	var lb ListBlocks
	if e := call(t, cs, "list_blocks", nil, &lb); e != "" || lb.Count != 0 || !lb.TablePresent {
		t.Fatalf("list_blocks after expiry: %q %+v", e, lb)
	}

	// Now the chain exists: a block adds only the element.
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "10m"}, &res); e != "" ||
		!slices.Equal(res.Commands, []string{"ipset add mcpsoc4 " + p.addrB + " timeout 600 comment ttl=600"}) {
		t.Fatalf("second block: %q %+v", e, res.Commands)
	}
	if p.dial(target) == nil {
		t.Fatal("connection accepted during a 10m block")
	}
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "20m", "reason": "renewed"}, &res); e != "" ||
		res.Replaced == nil || res.Replaced.TTLSeconds != 600 || res.Block.TTLSeconds != 1200 || res.Block.Reason != "renewed" || res.Commands[0] != "ipset del mcpsoc4 "+p.addrB {
		t.Fatalf("re-block: %q %+v", e, res)
	}
	if e := call(t, cs, "block_ip", map[string]any{"ip": "2001:db8::9", "ttl": "1h"}, &res); e != "" || res.Set != "mcpsoc6" || len(res.Blocks) != 2 {
		t.Fatalf("v6: %q %+v", e, res)
	}
	if e := call(t, cs, "unblock_ip", map[string]any{"ip": p.addrB}, &res); e != "" || len(res.Blocks) != 1 {
		t.Fatalf("unblock_ip: %q %+v", e, res)
	}
	if err := p.dial(target); err != nil {
		t.Fatalf("after unblock_ip: %v", err)
	}
	if e := call(t, cs, "unblock_ip", map[string]any{"ip": p.addrB}, nil); !strings.Contains(e, "is not blocked") {
		t.Fatalf("second unblock: %q", e)
	}
}

// TestIPTablesMissing: with ipset absent, every backend call says so.
func TestIPTablesMissing(t *testing.T) {
	s, err := New(Config{Backend: BackendIPTables, IPSet: "/nonexistent/ipset", EnableActions: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	for _, tool := range []string{"status", "list_blocks", "block_ip"} {
		args := map[string]any{}
		if tool == "block_ip" {
			args["ip"] = "203.0.113.9"
		}
		if e := call(t, cs, tool, args, nil); !strings.Contains(e, "the iptables backend is not available") || !strings.Contains(e, "Debian package ipset") {
			t.Errorf("%s: %q", tool, e)
		}
	}
}
