package firewall

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serveEnv makes the test binary a firewall server on stdio configured by
// the variable's JSON value, so a test can run the server inside a network
// namespace with "ip netns exec".
const serveEnv = "MCPSOC_FIREWALL_TEST_SERVE"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperMain(v))
	}
	if v := os.Getenv(serveEnv); v != "" {
		var cfg Config
		if err := json.Unmarshal([]byte(v), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		s, err := New(cfg, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := s.MCP(nil).ServeStdio(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperEnv makes the test binary a network helper run inside a namespace
// with "ip netns exec": "listen ADDR" accepts and closes TCP connections on
// ADDR:0 and prints the bound address; "dial" reads one address a line
// from stdin and answers "ok" or "err MESSAGE" for a TCP connect.
const helperEnv = "MCPSOC_FIREWALL_TEST_HELPER"

func helperMain(mode string) int {
	switch {
	case strings.HasPrefix(mode, "listen "):
		ln, err := net.Listen("tcp", net.JoinHostPort(strings.TrimPrefix(mode, "listen "), "0"))
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		fmt.Println(ln.Addr())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		io.Copy(io.Discard, os.Stdin) // until the test closes stdin
		return 0
	case mode == "dial":
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			c, err := net.DialTimeout("tcp", sc.Text(), 250*time.Millisecond)
			if err != nil {
				fmt.Println("err", err)
				continue
			}
			c.Close()
			fmt.Println("ok")
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// netPair is two network namespaces created by the test and joined by a
// veth pair: a (the protected host, where nft and the listener run) and b
// (the peer that gets blocked).
type netPair struct {
	a, b    string
	addrA   string // 10.199.x.y in a
	addrB   string // its /30 peer in b
	dialIn  io.Writer
	dialOut *bufio.Scanner
}

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (network namespaces and nftables need CAP_SYS_ADMIN and CAP_NET_ADMIN)")
	}
	for _, bin := range []string{"nft", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, bin+" (Debian packages nftables and iproute2)")
		}
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetPair creates both namespaces and the veth pair; cleanup deletes
// the namespaces (which removes the veth pair and every rule in them).
func newNetPair(t *testing.T) *netPair {
	t.Helper()
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(r[:])
	sub := 4 * int(r[0]%64)
	p := &netPair{a: "mcpsoc-test-" + id + "-a", b: "mcpsoc-test-" + id + "-b",
		addrA: fmt.Sprintf("10.199.%d.%d", r[1], sub+1), addrB: fmt.Sprintf("10.199.%d.%d", r[1], sub+2)}
	sh(t, "ip", "netns", "add", p.a)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.a).Run() })
	sh(t, "ip", "netns", "add", p.b)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.b).Run() })
	// Created inside a, the peer end moved straight into b: the host
	// namespace never holds either end.
	sh(t, "ip", "-n", p.a, "link", "add", "fwa", "type", "veth", "peer", "name", "fwb", "netns", p.b)
	sh(t, "ip", "-n", p.a, "addr", "add", p.addrA+"/30", "dev", "fwa")
	sh(t, "ip", "-n", p.b, "addr", "add", p.addrB+"/30", "dev", "fwb")
	for _, ns := range []string{p.a, p.b} {
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	sh(t, "ip", "-n", p.a, "link", "set", "fwa", "up")
	sh(t, "ip", "-n", p.b, "link", "set", "fwb", "up")
	in, out := p.helper(t, p.b, "dial")
	p.dialIn, p.dialOut = in, out
	return p
}

// helper starts the test binary in a helper mode inside namespace ns and
// returns its stdin and stdout. Cleanup closes stdin and waits for it by
// its PID, killing it if it lingers.
func (p *netPair) helper(t *testing.T, ns, mode string) (io.Writer, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return in, bufio.NewScanner(out)
}

// listenA opens a TCP listener inside a and returns its address.
func (p *netPair) listenA(t *testing.T) string {
	t.Helper()
	_, out := p.helper(t, p.a, "listen "+p.addrA)
	if !out.Scan() || strings.HasPrefix(out.Text(), "err") {
		t.Fatalf("listener in %s: %q %v", p.a, out.Text(), out.Err())
	}
	return out.Text()
}

// dial connects from b; nil means the connection was accepted.
func (p *netPair) dial(addr string) error {
	fmt.Fprintln(p.dialIn, addr)
	if !p.dialOut.Scan() {
		return fmt.Errorf("dial helper died: %v", p.dialOut.Err())
	}
	if l := p.dialOut.Text(); l != "ok" {
		return errors.New(l)
	}
	return nil
}

// serveInA starts the test binary as the firewall server inside a.
func (p *netPair) serveInA(t *testing.T, cfg Config) *mcp.ClientSession {
	t.Helper()
	b, _ := json.Marshal(cfg)
	cmd := exec.Command("ip", "netns", "exec", p.a, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "netns-test", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Close ends the session and waits for the process (ip netns exec
	// execs the server, so this is the server's own PID).
	t.Cleanup(func() { cs.Close() })
	return cs
}

// TestBlockInNamespace drives the real kernel: traffic from b to a listener
// in a flows, block_ip drops it, the element timeout lifts the block, and
// unblock_ip lifts one at once.
func TestBlockInNamespace(t *testing.T) {
	requireNetns(t)
	p := newNetPair(t)
	target := p.listenA(t)
	if err := p.dial(target); err != nil {
		t.Fatalf("before any block: %v", err)
	}
	cs := p.serveInA(t, Config{EnableActions: true, AllowPrivate: true, MinTTL: time.Second})

	var st Status
	if e := call(t, cs, "status", nil, &st); e != "" || !st.Reachable || st.TablePresent || !strings.HasPrefix(st.NFTVersion, "nftables v") {
		t.Fatalf("status before: %q %+v", e, st)
	}
	var lb ListBlocks
	if e := call(t, cs, "list_blocks", nil, &lb); e != "" || lb.TablePresent || lb.Count != 0 || lb.Blocks == nil {
		t.Fatalf("list_blocks before: %q %+v", e, lb)
	}

	// A dry run returns the exact script and the predicted state and
	// changes nothing.
	var dry ChangeResult
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "2s", "reason": "netns test", "dry_run": true}, &dry); e != "" {
		t.Fatal(e)
	}
	want := (&nft{table: DefaultTable, size: DefaultMaxElements}).blockScript(netAddr(t, p.addrB), 2*time.Second, "netns test")
	if !dry.DryRun || !slices.Equal(dry.Commands, want) || len(dry.Blocks) != 1 || dry.Blocks[0].IP != p.addrB || dry.Blocks[0].TTLSeconds != 2 {
		t.Fatalf("dry run: %+v", dry)
	}
	if e := call(t, cs, "status", nil, &st); e != "" || st.TablePresent {
		t.Fatalf("dry run changed the ruleset: %q %+v", e, st)
	}
	if err := p.dial(target); err != nil {
		t.Fatalf("after the dry run: %v", err)
	}

	// The block takes effect by the time block_ip returns.
	var res ChangeResult
	callStart := time.Now()
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "2s", "reason": "netns test"}, &res); e != "" {
		t.Fatal(e)
	}
	blockedAt := time.Now()
	if !slices.Equal(res.Commands, want) || res.Block == nil || res.Block.TTLSeconds != 2 || res.Block.Reason != "netns test" {
		t.Fatalf("block_ip: %+v", res)
	}
	probeStart := time.Since(blockedAt)
	if err := p.dial(target); err == nil {
		t.Fatal("connection accepted right after block_ip returned")
	}
	t.Logf("block_ip round trip %v (nft apply %.1f ms); first probe, started %v after it returned, was dropped",
		blockedAt.Sub(callStart), res.DurationMS, probeStart)

	if e := call(t, cs, "list_blocks", nil, &lb); e != "" || lb.Count != 1 || lb.Blocks[0].IP != p.addrB ||
		lb.Blocks[0].TTLSeconds != 2 || lb.Blocks[0].Remaining > 2 || lb.Blocks[0].Reason != "netns test" || lb.Blocks[0].Family != "ipv4" {
		t.Fatalf("list_blocks: %q %+v", e, lb)
	}
	if e := call(t, cs, "status", nil, &st); e != "" || !st.TableComplete || st.IPv4Blocks != 1 {
		t.Fatalf("status while blocked: %q %+v", e, st)
	}

	// The element timeout lifts the block without the server.
	for p.dial(target) != nil {
		if time.Since(blockedAt) > 10*time.Second {
			t.Fatal("still blocked 10s after a 2s block")
		}
		time.Sleep(50 * time.Millisecond)
	}
	lifted := time.Since(blockedAt)
	if lifted < 1500*time.Millisecond {
		t.Fatalf("block lifted after %v, before its 2s TTL", lifted)
	}
	t.Logf("2s block lifted by the kernel %v after block_ip returned", lifted)
	if e := call(t, cs, "list_blocks", nil, &lb); e != "" || lb.Count != 0 {
		t.Fatalf("list_blocks after expiry: %q %+v", e, lb)
	}

	// unblock_ip lifts a long block at once.
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "10m"}, &res); e != "" {
		t.Fatal(e)
	}
	if p.dial(target) == nil {
		t.Fatal("connection accepted during a 10m block")
	}
	// Blocking again replaces the TTL and reason.
	if e := call(t, cs, "block_ip", map[string]any{"ip": p.addrB, "ttl": "20m", "reason": "renewed"}, &res); e != "" ||
		res.Replaced == nil || res.Replaced.TTLSeconds != 600 || res.Block.TTLSeconds != 1200 || res.Block.Reason != "renewed" || len(res.Blocks) != 1 {
		t.Fatalf("re-block: %q %+v", e, res)
	}
	if e := call(t, cs, "unblock_ip", map[string]any{"ip": p.addrB, "dry_run": true}, &res); e != "" || len(res.Blocks) != 0 || res.Replaced == nil {
		t.Fatalf("unblock dry run: %q %+v", e, res)
	}
	if p.dial(target) == nil {
		t.Fatal("unblock dry run lifted the block")
	}
	if e := call(t, cs, "unblock_ip", map[string]any{"ip": p.addrB}, &res); e != "" || len(res.Blocks) != 0 {
		t.Fatalf("unblock_ip: %q %+v", e, res)
	}
	if err := p.dial(target); err != nil {
		t.Fatalf("after unblock_ip: %v", err)
	}
	if e := call(t, cs, "unblock_ip", map[string]any{"ip": p.addrB}, nil); !strings.Contains(e, "is not blocked") {
		t.Fatalf("second unblock: %q", e)
	}
	// Guards still apply with --allow-private.
	if e := call(t, cs, "block_ip", map[string]any{"ip": "127.0.0.1"}, nil); !strings.Contains(e, "loopback") {
		t.Fatalf("loopback: %q", e)
	}
}

// TestSetFull fills a one-element set: the next address is refused with a
// clear error, IPv6 goes to its own set.
func TestSetFull(t *testing.T) {
	requireNetns(t)
	p := newNetPair(t)
	log := filepath.Join(t.TempDir(), "kern.log")
	line := "Nov 21 09:00:01 gw kernel: drop: IN=eth0 OUT= SRC=203.0.113.1 DST=192.0.2.20 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40001 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0\n"
	if err := os.WriteFile(log, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := p.serveInA(t, Config{EnableActions: true, MaxElements: 1, Table: "fwtest", Logs: []string{log}})
	if e := call(t, cs, "block_ip", map[string]any{"ip": "203.0.113.1"}, nil); e != "" {
		t.Fatal(e)
	}
	if e := call(t, cs, "block_ip", map[string]any{"ip": "203.0.113.2"}, nil); !strings.Contains(e, "set is full") {
		t.Fatalf("second v4: %q", e)
	}
	var res ChangeResult
	if e := call(t, cs, "block_ip", map[string]any{"ip": "2001:db8::7", "ttl": "30d"}, &res); e != "" || res.Set != "block6" || len(res.Blocks) != 2 {
		t.Fatalf("v6: %q %+v", e, res)
	}
	var evs Events
	if e := call(t, cs, "blocked_connections", map[string]any{"ip": "203.0.113.1"}, &evs); e != "" || evs.Matched != 1 || evs.Blocked == nil || !*evs.Blocked {
		t.Fatalf("blocked_connections: %q %+v", e, evs)
	}
	var tt Talkers
	if e := call(t, cs, "top_talkers", nil, &tt); e != "" || tt.BlockState != "" || len(tt.Talkers) != 1 || !tt.Talkers[0].Blocked {
		t.Fatalf("top_talkers: %q %+v", e, tt)
	}
	var st Status
	if e := call(t, cs, "status", nil, &st); e != "" || st.Table != "inet fwtest" || st.IPv4Blocks != 1 || st.IPv6Blocks != 1 {
		t.Fatalf("status: %q %+v", e, st)
	}
}

func netAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := parseIP(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
