package ioc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// bigSet holds 1M indicators: 400k IPs, 100k CIDRs, 300k domains and 200k
// SHA-256 hashes.
func bigSet(b *testing.B) *Set {
	s := NewSet()
	inds := make([]Indicator, 0, 1_000_000)
	for i := 0; i < 400_000; i++ {
		inds = append(inds, Indicator{Type: IP, Value: netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 7}).String()})
	}
	for i := 0; i < 100_000; i++ {
		inds = append(inds, Indicator{Type: CIDR, Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24+i%5).Masked().String()})
	}
	for i := 0; i < 300_000; i++ {
		inds = append(inds, Indicator{Type: Domain, Value: fmt.Sprintf("host%d.bad%d.example", i, i%997)})
	}
	for i := 0; i < 200_000; i++ {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		inds = append(inds, Indicator{Type: SHA256, Value: hex.EncodeToString(h[:])})
	}
	if err := s.Add(inds...); err != nil {
		b.Fatal(err)
	}
	if s.Len() < 990_000 {
		b.Fatalf("set holds %d", s.Len())
	}
	return s
}

// BenchmarkMatch1M matches typical events (a firewall event with two
// addresses and related.ip, a DNS query, a file event) against 1M
// indicators; most lookups miss, as in production.
func BenchmarkMatch1M(b *testing.B) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	s := bigSet(b)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	evs := []mapEvent{
		{"source.ip": "192.0.2.31", "destination.ip": "203.0.113.66", "related.ip": []string{"192.0.2.31", "203.0.113.66"}},
		{"source.ip": "192.0.2.31", "dns.question.name": "www.host12.bad12.example"},
		{"file.hash.sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "file.path": "/tmp/x"},
		{"source.ip": "100.0.5.9", "destination.ip": "10.0.1.7"},
	}
	now := time.Now()
	var dst []Hit
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = s.Match(evs[i%len(evs)], now, nil, dst[:0])
		hits += len(dst)
	}
	b.StopTimer()
	// ResetTimer drops metrics, so this one is reported last.
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(s.Len()), "heapB/indicator")
	if b.N >= len(evs) && hits == 0 {
		b.Fatal("no hits: the benchmark events should hit some indicators")
	}
}
