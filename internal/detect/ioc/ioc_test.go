package ioc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type mapEvent map[string]any

func (m mapEvent) Get(f string) (any, bool) { v, ok := m[f]; return v, ok }

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func hitsOf(hs []Hit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s:%s@%s=%s", h.Indicator.Type, h.Indicator.Value, h.Field, h.Value))
	}
	return out
}

func TestMatch(t *testing.T) {
	s := NewSet()
	err := s.Add(
		Indicator{Type: IP, Value: "203.0.113.66", Confidence: 90},
		Indicator{Type: IP, Value: "2001:DB8::1"},
		Indicator{Type: CIDR, Value: "198.51.100.0/24"},
		Indicator{Type: CIDR, Value: "198.51.100.128/25"},
		Indicator{Type: Domain, Value: "Evil.Example."},
		Indicator{Type: URL, Value: "HTTP://Shop.Example.com:80/pay?x=1#frag"},
		Indicator{Type: SHA256, Value: strings.Repeat("AB", 32)},
		Indicator{Type: MD5, Value: strings.Repeat("0f", 16)},
		Indicator{Type: Email, Value: "Boss@Evil.Example"},
		Indicator{Type: IP, Value: "192.0.2.200", Expires: now},
		Indicator{Type: Domain, Value: "lowconf.example", Confidence: 10},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   mapEvent
		want []string
	}{
		{"exact ip", mapEvent{"source.ip": "192.0.2.31", "destination.ip": "203.0.113.66", "related.ip": []string{"192.0.2.31", "203.0.113.66"}},
			[]string{"ip:203.0.113.66@destination.ip=203.0.113.66"}},
		{"ipv6 canonical", mapEvent{"source.ip": "2001:db8:0::1"}, []string{"ip:2001:db8::1@source.ip=2001:db8:0::1"}},
		{"nested cidrs", mapEvent{"source.ip": "198.51.100.200"},
			[]string{"cidr:198.51.100.128/25@source.ip=198.51.100.200", "cidr:198.51.100.0/24@source.ip=198.51.100.200"}},
		{"cidr outside", mapEvent{"source.ip": "198.51.101.1"}, nil},
		{"subdomain", mapEvent{"dns.question.name": "a.b.EVIL.example"}, []string{"domain:evil.example@dns.question.name=a.b.EVIL.example"}},
		{"not a suffix label", mapEvent{"dns.question.name": "notevil.example"}, nil},
		{"sni", mapEvent{"tls.client.server_name": "evil.example"}, []string{"domain:evil.example@tls.client.server_name=evil.example"}},
		{"url host", mapEvent{"url.original": "https://cdn.evil.example/x"}, []string{"domain:evil.example@url.original=https://cdn.evil.example/x"}},
		{"url exact", mapEvent{"url.full": "http://shop.example.com/pay?x=1"}, []string{"url:http://shop.example.com/pay?x=1@url.full=http://shop.example.com/pay?x=1"}},
		{"url from path and domain", mapEvent{"url.original": "/pay?x=1", "url.domain": "shop.example.com"}, []string{"url:http://shop.example.com/pay?x=1@url.original=/pay?x=1"}},
		{"url other query", mapEvent{"url.full": "http://shop.example.com/pay?x=2"}, nil},
		{"hash", mapEvent{"file.hash.sha256": strings.Repeat("ab", 32), "file.hash.md5": strings.Repeat("0F", 16)},
			[]string{"md5:" + strings.Repeat("0f", 16) + "@file.hash.md5=" + strings.Repeat("0F", 16), "sha256:" + strings.Repeat("ab", 32) + "@file.hash.sha256=" + strings.Repeat("ab", 32)}},
		{"email and its domain", mapEvent{"email.from.address": "boss@evil.example"},
			[]string{"domain:evil.example@email.from.address=boss@evil.example", "email:boss@evil.example@email.from.address=boss@evil.example"}},
		{"expired", mapEvent{"source.ip": "192.0.2.200"}, nil},
		{"substring never", mapEvent{"message": "contact 203.0.113.66 now", "url.original": "/203.0.113.66"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, hitsOf(s.Match(tc.ev, now, nil, nil))); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
	if got := s.Match(mapEvent{"dns.question.name": "lowconf.example"}, now, &Options{MinConfidence: 50}, nil); len(got) != 0 {
		t.Fatalf("low confidence matched: %v", hitsOf(got))
	}
	if got := s.Match(mapEvent{"dns.question.name": "lowconf.example"}, now, nil, nil); len(got) != 1 {
		t.Fatalf("low confidence without minimum: %v", hitsOf(got))
	}
}

func TestAddRemovePrune(t *testing.T) {
	s := NewSet()
	if err := s.Add(Indicator{Value: "203.0.113.1"}, Indicator{Value: "10.0.0.0/8", Expires: now.Add(-time.Hour)}, Indicator{Value: "evil.example"},
		Indicator{Value: strings.Repeat("a", 40)}, Indicator{Value: "https://x.example/a"}, Indicator{Value: "a@b.example"}); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 6 {
		t.Fatalf("len %d", s.Len())
	}
	s.Add(Indicator{Value: "203.0.113.1", Confidence: 50}) // replaces
	if s.Len() != 6 {
		t.Fatalf("len after replace %d", s.Len())
	}
	if n := s.Prune(now); n != 1 || s.Len() != 5 {
		t.Fatalf("pruned %d, len %d", n, s.Len())
	}
	if !s.Remove(Domain, "EVIL.example") || s.Remove(Domain, "evil.example") || s.Len() != 4 {
		t.Fatalf("remove: len %d", s.Len())
	}
	err := s.Add(Indicator{Type: IP, Value: "300.1.1.1"}, Indicator{Type: MD5, Value: "abc"}, Indicator{Value: "???"},
		Indicator{Type: Domain, Value: "nodot"}, Indicator{Type: IP, Value: "192.0.2.9", Confidence: 101}, Indicator{Type: "asn", Value: "1"})
	if err == nil || !strings.Contains(err.Error(), "bad IP") || !strings.Contains(err.Error(), "and 1 more") {
		t.Fatalf("bad indicators: %v", err)
	}
	if s.Len() != 4 {
		t.Fatalf("bad indicators were added: %d", s.Len())
	}
}
