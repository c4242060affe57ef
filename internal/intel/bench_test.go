package intel_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/stix"
)

// entries generates n distinct indicators: 40% IPs, 10% CIDRs, 30%
// domains, 20% SHA-256 hashes (the mix of ioc's BenchmarkMatch1M).
func entries(n int) []intel.Entry {
	out := make([]intel.Entry, 0, n)
	for i := 0; i < n; i++ {
		var e intel.Entry
		switch k := i % 10; {
		case k < 4:
			e = intel.Entry{Type: ioc.IP, Value: netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 7}).String()}
		case k < 5:
			j := uint32(i/10) << 4
			e = intel.Entry{Type: ioc.CIDR, Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(j >> 16), byte(j >> 8), byte(j)}), 28).String()}
		case k < 8:
			e = intel.Entry{Type: ioc.Domain, Value: fmt.Sprintf("host%d.bad%d.example", i, i%997)}
		default:
			h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
			e = intel.Entry{Type: ioc.SHA256, Value: hex.EncodeToString(h[:])}
		}
		e.Confidence = 50 + i%50
		e.Ref = fmt.Sprintf("indicator--%08d", i/2)
		e.Labels = []string{"malicious-activity"}
		out = append(out, e)
	}
	return out
}

// bundle writes n indicators as a STIX 2.1 bundle.
func bundle(n int) []byte {
	type obj struct {
		Type        string                 `json:"type"`
		SpecVersion string                 `json:"spec_version"`
		ID          string                 `json:"id"`
		Created     string                 `json:"created"`
		Modified    string                 `json:"modified"`
		Pattern     string                 `json:"pattern"`
		PatternType string                 `json:"pattern_type"`
		ValidFrom   string                 `json:"valid_from"`
		ValidUntil  string                 `json:"valid_until"`
		Confidence  int                    `json:"confidence"`
		Labels      []string               `json:"labels"`
		KillChain   []intel.KillChainPhase `json:"kill_chain_phases"`
	}
	objs := make([]obj, 0, n)
	for _, e := range entries(n) {
		p, _ := stix.Pattern(e.Type, e.Value)
		objs = append(objs, obj{Type: "indicator", SpecVersion: "2.1", ID: stix.IndicatorID(e.Type, e.Value),
			Created: "2026-03-01T00:00:00.000Z", Modified: "2026-03-01T00:00:00.000Z", Pattern: p, PatternType: "stix",
			ValidFrom: "2026-03-01T00:00:00Z", ValidUntil: "2036-03-01T00:00:00Z", Confidence: e.Confidence, Labels: e.Labels,
			KillChain: []intel.KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "command-and-control"}}})
	}
	b, _ := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--bench", "objects": objs})
	return b
}

// BenchmarkImportSTIX100k reads a generated 100k-indicator STIX bundle
// and imports it into an empty store (one transaction, synchronous
// commit), reporting indicators per second for the whole and for each
// half.
func BenchmarkImportSTIX100k(b *testing.B) {
	data := bundle(100_000)
	b.ReportMetric(float64(len(data))/(1<<20), "MiB/bundle")
	ctx := context.Background()
	var read, store, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := intel.Open(ctx, filepath.Join(b.TempDir(), "intel.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		t0 := time.Now()
		batch, _, err := stix.Read(data)
		if err != nil || len(batch.Entries) != 100_000 {
			b.Fatalf("read %d: %v", len(batch.Entries), err)
		}
		t1 := time.Now()
		res, err := st.Import(ctx, "bench", batch)
		if err != nil || res.Added != 100_000 {
			b.Fatalf("import %+v: %v", res.Added, err)
		}
		read += t1.Sub(t0)
		store += time.Since(t1)
		cpu += cpuTime() - c0
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*100_000/(read+store).Seconds(), "indicators/s")
	b.ReportMetric(float64(b.N)*100_000/read.Seconds(), "parsed/s")
	b.ReportMetric(float64(b.N)*100_000/store.Seconds(), "stored/s")
	// On a shared machine wall time depends on the neighbours; CPU time
	// (all threads of this process) much less.
	b.ReportMetric(float64(b.N)*100_000/cpu.Seconds(), "indicators/CPU-s")
}

var (
	bigOnce  sync.Once
	bigStore *intel.Store
	bigErr   error
)

// big is a store of 1M indicators, built once per benchmark run.
func big(b *testing.B) *intel.Store {
	bigOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			bigErr = err
			return
		}
		ctx := context.Background()
		bigStore, bigErr = intel.Open(ctx, filepath.Join(dir, "intel.db"), nil)
		if bigErr != nil {
			return
		}
		all := entries(1_000_000)
		for i := 0; i < len(all); i += 100_000 {
			if _, bigErr = bigStore.Import(ctx, "bench", intel.Batch{Entries: all[i : i+100_000]}); bigErr != nil {
				return
			}
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore
}

// BenchmarkLookup1M looks values up in a 1M-indicator store with full
// provenance and related indicators: half hits (exact IPs, domains
// through a parent, hashes, IPs inside CIDRs), half misses. It reports
// the p50 and p99 latency of single lookups.
func BenchmarkLookup1M(b *testing.B) {
	st := big(b)
	ctx := context.Background()
	all := entries(1_000_000)
	var qs []string
	for i := 0; i < 2000; i++ {
		e := all[(i*7919)%len(all)]
		switch e.Type {
		case ioc.CIDR:
			p := netip.MustParsePrefix(e.Value)
			qs = append(qs, p.Addr().Next().String())
		case ioc.Domain:
			qs = append(qs, "www."+e.Value)
		default:
			qs = append(qs, e.Value)
		}
		qs = append(qs, fmt.Sprintf("198.18.%d.%d", i>>8&255, i&255)) // miss
	}
	lat := make([]time.Duration, 0, b.N)
	hits := 0
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		got, err := st.Lookup(ctx, qs[i%len(qs)])
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		hits += min(len(got), 1)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "CPU-µs/op")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if b.N >= 100 && hits < b.N/3 {
		b.Fatalf("only %d of %d lookups hit", hits, b.N)
	}
}

// matchEvents are ioc's BenchmarkMatch1M events.
var matchEvents = []evMap{
	{"source.ip": "192.0.2.31", "destination.ip": "203.0.113.66", "related.ip": []string{"192.0.2.31", "203.0.113.66"}},
	{"source.ip": "192.0.2.31", "dns.question.name": "www.host12.bad12.example"},
	{"file.hash.sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "file.path": "/tmp/x"},
	{"source.ip": "100.0.5.9", "destination.ip": "10.0.1.7"},
}

type evMap map[string]any

func (e evMap) Get(f string) (any, bool) { v, ok := e[f]; return v, ok }

// BenchmarkMatchPerEvent compares the matcher's cost per event on a set
// filled directly (as before the store existed) and on the set the 1M
// store keeps (loaded at open, as serve does): the store must not make
// matching dearer.
func BenchmarkMatchPerEvent(b *testing.B) {
	st := big(b)
	direct := ioc.NewSet()
	for _, e := range entries(1_000_000) {
		if err := direct.Add(e.Indicator()); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		set  *ioc.Set
	}{{"direct", direct}, {"store", st.Set()}} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Now()
			var dst []ioc.Hit
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dst = bc.set.Match(matchEvents[i%len(matchEvents)], now, nil, dst[:0])
			}
		})
	}
}

// BenchmarkOpen1M opens the 1M-indicator store as serve does, loading
// every indicator into a new matcher: serve's start-up cost.
func BenchmarkOpen1M(b *testing.B) {
	big(b)
	path := filepath.Join(benchDir, "intel.db")
	ctx := context.Background()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		st, err := intel.Open(ctx, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := st.Set().Len(); n != 1_000_000 {
			b.Fatalf("matcher holds %d", n)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "CPU-s/op")
}
