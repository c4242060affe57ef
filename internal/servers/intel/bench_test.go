package intel

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// benchStore holds n IP and n domain records plus the test store's.
func benchStore(n int) *memStore {
	s := testStore()
	for i := range n {
		s.add(Record{Type: "ip", Value: netip.AddrFrom4([4]byte{45, byte(i >> 16), byte(i >> 8), byte(i)}).String(),
			Sources: []Source{{Name: "bench", Confidence: 50}}})
		s.add(Record{Type: "domain", Value: fmt.Sprintf("host%d.bench.example", i), Sources: []Source{{Name: "bench", Confidence: 50}}})
	}
	return s
}

func benchCall(b *testing.B, cs *mcp.ClientSession, tool string, args map[string]any) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil || res.IsError {
		b.Fatalf("%s: %v %v", tool, err, res)
	}
}

// BenchmarkLookupIndicator compares lookup_indicator through an in-process
// MCP session (JSON-RPC, schema validation, structured output) with the
// same lookup called directly, over a 200k-record in-memory store, and
// with the trivial status tool as the session's floor: the difference is
// the server's per-call overhead, not the store's speed.
func BenchmarkLookupIndicator(b *testing.B) {
	store := benchStore(100_000)
	s := newServer(b, Config{}, &Options{Indicators: store})
	cs := connect(b, s)
	// The floor: a trivial tool through the same session.
	b.Run("mcp/status_baseline", func(b *testing.B) {
		for b.Loop() {
			benchCall(b, cs, "status", nil)
		}
	})
	for _, c := range []struct{ name, value string }{
		{"ip_hit", "45.1.2.3"},
		{"ip_miss", "8.8.8.8"},
		{"subdomain_hit", "a.b.host77.bench.example"},
		{"url_hit", "http://evil.example.net/dl?id=7"},
	} {
		b.Run("mcp/"+c.name, func(b *testing.B) {
			args := map[string]any{"value": c.value}
			for b.Loop() {
				benchCall(b, cs, "lookup_indicator", args)
			}
		})
		b.Run("direct/"+c.name, func(b *testing.B) {
			in := LookupIn{Value: c.value}
			for b.Loop() {
				if _, err := Lookup(context.Background(), store, in, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnrichIP compares enrich_ip through MCP with the two .mmdb
// lookups it makes.
func BenchmarkEnrichIP(b *testing.B) {
	city, asn := writeGeoDBs(b, b.TempDir())
	s := newServer(b, Config{GeoIPCity: city, GeoIPASN: asn}, nil)
	cs := connect(b, s)
	b.Run("mcp", func(b *testing.B) {
		args := map[string]any{"ip": "81.2.69.142"}
		for b.Loop() {
			benchCall(b, cs, "enrich_ip", args)
		}
	})
	b.Run("direct", func(b *testing.B) {
		a := netip.MustParseAddr("81.2.69.142")
		for b.Loop() {
			if g, err := s.city.city(a); err != nil || g == nil {
				b.Fatal(err)
			}
			if n, err := s.asn.asn(a); err != nil || n == nil {
				b.Fatal(err)
			}
		}
	})
}
