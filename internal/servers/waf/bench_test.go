package waf

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLog writes the recorded fixture repeated to n records.
func benchLog(b *testing.B, n int) string {
	b.Helper()
	raw, err := os.ReadFile(fixture)
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSpace(string(raw))+"\n", "\n")
	lines = lines[:len(lines)-1]
	p := filepath.Join(b.TempDir(), "audit.json")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		w.WriteString(lines[i%len(lines)])
	}
	w.Flush()
	f.Close()
	return p
}

const benchRecords = 20000

// BenchmarkReadAuditLog is what every query tool pays per call: parse and
// normalize the whole audit log (20 000 libmodsecurity JSON records).
// Run with BenchmarkDecodeOnly in one invocation and compare: the ratio
// is our cost over a bare encoding/json decode of the same lines.
func BenchmarkReadAuditLog(b *testing.B) {
	p := benchLog(b, benchRecords)
	fi, _ := os.Stat(p)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if _, err := readLog(p, func(Event) { n++ }); err != nil || n != benchRecords {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeOnly is the baseline: each line decoded into a generic
// map, nothing else.
func BenchmarkDecodeOnly(b *testing.B) {
	p := benchLog(b, benchRecords)
	fi, _ := os.Stat(p)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		if n != benchRecords {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
}
