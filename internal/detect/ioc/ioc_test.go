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

func TestReadCSV(t *testing.T) {
	in := `# Example feed, terms of use apply
type,value,confidence,expires,source
ip,203.0.113.66,90,2026-12-01,feodo
ipv4, 198.51.100.7
,evil.example,,2026-11-30T10:00:00Z,
sha-256,` + strings.Repeat("CD", 32) + `,75,,malware-bazaar
cidr,192.0.2.0/24
"url","http://x.example/a,b",40
`
	got, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Indicator{
		{Type: IP, Value: "203.0.113.66", Confidence: 90, Expires: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Source: "feodo"},
		{Type: IP, Value: "198.51.100.7"},
		{Type: Domain, Value: "evil.example", Expires: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)},
		{Type: SHA256, Value: strings.Repeat("cd", 32), Confidence: 75, Source: "malware-bazaar"},
		{Type: CIDR, Value: "192.0.2.0/24"},
		{Type: URL, Value: "http://x.example/a,b", Confidence: 40},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"ip,1.2.3\n", "ip,1.2.3.4,high\n", "ip,1.2.3.4,1,tomorrow\n", "onlyone\n", "ip,1.2.3.4,1,,s,extra\n", "md5,xyz\n"} {
		if _, err := ReadCSV(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		pattern string
		want    []Indicator
		err     string
	}{
		{"[ipv4-addr:value = '203.0.113.66']", []Indicator{{Type: IP, Value: "203.0.113.66"}}, ""},
		{"[ipv4-addr:value = '198.51.100.0/24']", []Indicator{{Type: CIDR, Value: "198.51.100.0/24"}}, ""},
		{"[domain-name:value = 'evil.example' OR domain-name:value='c2.example']",
			[]Indicator{{Type: Domain, Value: "evil.example"}, {Type: Domain, Value: "c2.example"}}, ""},
		{"[file:hashes.'SHA-256' = 'aa'] OR [file:hashes.MD5 = 'bb']", []Indicator{{Type: SHA256, Value: "aa"}, {Type: MD5, Value: "bb"}}, ""},
		{"[url:value = 'http://x.example/it\\'s']", []Indicator{{Type: URL, Value: "http://x.example/it's"}}, ""},
		{"[email-addr:value = 'a@b.example'] or [ipv6-addr:value = '2001:db8::1']", []Indicator{{Type: Email, Value: "a@b.example"}, {Type: IP, Value: "2001:db8::1"}}, ""},
		{"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']", nil, "only OR"},
		{"[ipv4-addr:value != '1.2.3.4']", nil, "only '='"},
		{"[process:name = 'x']", nil, "unsupported object path"},
		{"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", nil, "only OR joins observations"},
		{"[ipv4-addr:value = '1.2.3.4'", nil, "only OR joins"},
		{"ipv4-addr:value = '1.2.3.4'", nil, "want '['"},
		{"[ipv4-addr:value = 1]", nil, "quoted string"},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			got, err := ParsePattern(tc.pattern)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestReadSTIX(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--a","name":"C2 server","pattern":"[ipv4-addr:value = '203.0.113.66']","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01T00:00:00Z","confidence":85},
 {"type":"indicator","spec_version":"2.1","id":"indicator--b","pattern":"[domain-name:value = 'evil.example'] OR [url:value = 'http://evil.example/x']","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--c","pattern":"rule x { condition: true }","pattern_type":"yara","valid_from":"2026-11-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--d","pattern":"[process:pid = 4]","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--e","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","revoked":true,"valid_from":"2026-11-01T00:00:00Z"},
 {"type":"malware","id":"malware--1","name":"x","is_family":true}]}`
	got, skipped, err := ReadSTIX([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	want := []Indicator{
		{Type: IP, Value: "203.0.113.66", Confidence: 85, Expires: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Source: "indicator--a", Description: "C2 server"},
		{Type: Domain, Value: "evil.example", Source: "indicator--b"},
		{Type: URL, Value: "http://evil.example/x", Source: "indicator--b"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], "yara") || !strings.Contains(skipped[1], "process:pid") {
		t.Fatalf("skipped %q", skipped)
	}
	one, _, err := ReadSTIX([]byte(`{"type":"indicator","id":"indicator--z","pattern":"[file:hashes.'SHA-1' = '` + strings.Repeat("1", 40) + `']"}`))
	if err != nil || len(one) != 1 || one[0].Type != SHA1 {
		t.Fatalf("single object: %v %v", one, err)
	}
	if _, _, err := ReadSTIX([]byte(`{"objects": 5}`)); err == nil {
		t.Fatal("bad objects accepted")
	}
}
