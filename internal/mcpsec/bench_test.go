//go:build unix

package mcpsec

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time the process has used (user + system). The
// per-core figure divides work by CPU time, so it holds on a busy shared
// machine where wall-clock throughput does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpusServers returns every server of both corpus halves, malicious and
// benign: a realistic mix of short and long descriptions and schemas.
func corpusServers(b *testing.B, benignOnly bool) ([]*Server, int) {
	b.Helper()
	var servers []*Server
	tools := 0
	for _, half := range append(append([]string(nil), corpusSets...), holdoutSets...) {
		for _, c := range loadCorpus(b, half) {
			if benignOnly && c.Label == "malicious" {
				continue
			}
			for _, s := range c.Servers {
				sv := s.server()
				servers = append(servers, sv)
				tools += len(sv.Tools)
			}
		}
	}
	return servers, tools
}

// BenchmarkAnalyzeServer measures tool definitions analyzed per second on
// one core (run with -cpu 1) over the whole corpus, about half of it
// malicious. Each server is analyzed on its own, as the gateway does on
// tools/list.
func BenchmarkAnalyzeServer(b *testing.B) { benchServers(b, false) }

// BenchmarkAnalyzeBenign is the same over the benign servers only, the
// common case in practice.
func BenchmarkAnalyzeBenign(b *testing.B) { benchServers(b, true) }

func benchServers(b *testing.B, benignOnly bool) {
	servers, tools := corpusServers(b, benignOnly)
	a := New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for _, s := range servers {
			if _, err := a.AnalyzeServer(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(tools*b.N)/b.Elapsed().Seconds(), "tools/s")
	if cpu > 0 {
		b.ReportMetric(float64(tools*b.N)/cpu.Seconds(), "tools/cpu-s")
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAnalyzeServersTogether analyzes every corpus server as one client
// configuration, which adds the cross-server checks.
func BenchmarkAnalyzeServersTogether(b *testing.B) {
	servers, tools := corpusServers(b, false)
	a := New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := a.AnalyzeServers(ctx, servers); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(tools*b.N)/b.Elapsed().Seconds(), "tools/s")
	if cpu > 0 {
		b.ReportMetric(float64(tools*b.N)/cpu.Seconds(), "tools/cpu-s")
	}
}
