package firewall

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParseIPSet(f *testing.F) {
	f.Add([]byte(`<ipsets><ipset name="mcpsoc4"><type>hash:ip</type><header><maxelem>16</maxelem></header><members><member><elem>10.0.0.2</elem><timeout>119</timeout><comment>"ttl=120 a b"</comment></member></members></ipset></ipsets>`))
	f.Add([]byte(`<ipsets><ipset name="x"></ipset><ipset name="y"></ipset></ipsets>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := parseIPSet(b)
		if err == nil {
			for _, e := range ss.Elems {
				if !e.Addr.IsValid() || e.Timeout < 0 {
					t.Fatalf("bad element %+v", e)
				}
			}
		}
	})
}

func FuzzLoadExpiry(f *testing.F) {
	f.Add([]byte(`{"blocks":{"203.0.113.7":{"ttl_seconds":60,"expires":"2026-11-21T12:00:00Z","reason":"x"}}}`))
	f.Add([]byte(`{"blocks":{"nope":{}}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "b.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := loadExpiry(p)
		if err == nil {
			e.due(time.Now())
		}
	})
}

func TestParseComment(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ttl    time.Duration
		reason string
	}{
		{"ttl=120 brute force", 120 * time.Second, "brute force"},
		{"ttl=60", time.Minute, ""},
		{"hand made", 0, "hand made"},
		{"ttl=-1 x", 0, "ttl=-1 x"},
	} {
		ttl, r := parseComment(tc.in)
		if ttl != tc.ttl || r != tc.reason {
			t.Errorf("%q: %v %q", tc.in, ttl, r)
		}
	}
}
