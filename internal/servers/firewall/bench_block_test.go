package firewall

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestBlockLatency measures, side by side in one run, how long block_ip
// takes to take effect with the nftables and iptables+ipset backends: two
// servers in the same namespace block and unblock the peer in alternation,
// and after each call returns one connection attempt must be dropped.
// Gated by MCPSOC_BENCH_BLOCK=N (rounds; the machine is shared, so compare
// the ratio, not the absolute figures).
func TestBlockLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MCPSOC_BENCH_BLOCK"))
	if n <= 0 {
		t.Skip("set MCPSOC_BENCH_BLOCK=rounds to measure block_ip latency per backend")
	}
	requireIPT(t)
	p := newNetPair(t)
	target := p.listenA(t)
	type backendRun struct {
		call      func(string, map[string]any, any) string
		roundTrip []time.Duration
		apply     []float64
		blocked   int
	}
	servers := map[string]*backendRun{}
	for _, b := range []string{BackendNFT, BackendIPTables} {
		cs := p.serveInA(t, Config{Backend: b, EnableActions: true, AllowPrivate: true})
		servers[b] = &backendRun{call: func(tool string, args map[string]any, out any) string { return call(t, cs, tool, args, out) }}
		// Warm up: the first block creates the managed objects.
		if e := servers[b].call("block_ip", map[string]any{"ip": p.addrB, "ttl": "1m"}, nil); e != "" {
			t.Fatal(e)
		}
		if e := servers[b].call("unblock_ip", map[string]any{"ip": p.addrB}, nil); e != "" {
			t.Fatal(e)
		}
	}
	for i := 0; i < n; i++ {
		for _, b := range []string{BackendNFT, BackendIPTables} {
			s := servers[b]
			if err := p.dial(target); err != nil {
				t.Fatalf("%s round %d: not flowing before the block: %v", b, i, err)
			}
			var res ChangeResult
			start := time.Now()
			if e := s.call("block_ip", map[string]any{"ip": p.addrB, "ttl": "1m"}, &res); e != "" {
				t.Fatal(e)
			}
			s.roundTrip = append(s.roundTrip, time.Since(start))
			s.apply = append(s.apply, res.DurationMS)
			if p.dial(target) != nil {
				s.blocked++
			}
			if e := s.call("unblock_ip", map[string]any{"ip": p.addrB}, nil); e != "" {
				t.Fatal(e)
			}
		}
	}
	med := func(d []time.Duration) time.Duration { d = slices.Clone(d); slices.Sort(d); return d[len(d)/2] }
	p95 := func(d []time.Duration) time.Duration { d = slices.Clone(d); slices.Sort(d); return d[len(d)*95/100] }
	medf := func(f []float64) float64 { f = slices.Clone(f); slices.Sort(f); return f[len(f)/2] }
	nft, ipt := servers[BackendNFT], servers[BackendIPTables]
	for _, b := range []string{BackendNFT, BackendIPTables} {
		s := servers[b]
		t.Logf("%-9s block_ip through MCP: median %v, p95 %v; backend apply median %.1f ms; first probe after return dropped %d/%d",
			b, med(s.roundTrip), p95(s.roundTrip), medf(s.apply), s.blocked, n)
	}
	t.Logf("iptables+ipset / nftables: round trip %.2f, apply %.2f", float64(med(ipt.roundTrip))/float64(med(nft.roundTrip)), medf(ipt.apply)/medf(nft.apply))
	if nft.blocked != n || ipt.blocked != n {
		t.Errorf("a probe got through right after block_ip returned: nft %d/%d, iptables %d/%d", nft.blocked, n, ipt.blocked, n)
	}
}
