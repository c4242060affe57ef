package stix

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

func TestReduce(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		pattern string
		want    []Observable
		notes   []string
	}{
		{"ipv4", "[ipv4-addr:value = '198.51.100.1']", []Observable{{ioc.IP, "198.51.100.1"}}, nil},
		{"cidr by equality", "[ipv4-addr:value = '198.51.100.0/24']", []Observable{{ioc.CIDR, "198.51.100.0/24"}}, nil},
		{"cidr by ISSUBSET", "[ipv6-addr:value ISSUBSET '2001:db8::/32']", []Observable{{ioc.CIDR, "2001:db8::/32"}}, nil},
		{"or inside and between observations",
			"[domain-name:value = 'evil.example' OR url:value = 'http://evil.example/a'] OR [email-addr:value = 'x@evil.example']",
			[]Observable{{ioc.Domain, "evil.example"}, {ioc.URL, "http://evil.example/a"}, {ioc.Email, "x@evil.example"}}, nil},
		{"hashes, any quoting and case",
			"[file:hashes.'SHA-256' = '" + sha + "' OR file:hashes.MD5 = '" + strings.Repeat("1", 32) + "' OR file:hashes.sha1 = '" + strings.Repeat("2", 40) + "']",
			[]Observable{{ioc.SHA256, sha}, {ioc.MD5, strings.Repeat("1", 32)}, {ioc.SHA1, strings.Repeat("2", 40)}}, nil},
		{"and with an unsupported path keeps the hash",
			"[file:name = 'x.exe' AND file:hashes.'SHA-256' = '" + sha + "']",
			[]Observable{{ioc.SHA256, sha}}, []string{"unsupported object path file:name"}},
		{"and of two values",
			"[ipv4-addr:value = '192.0.2.1' AND domain-name:value = 'a.example']",
			[]Observable{{ioc.IP, "192.0.2.1"}, {ioc.Domain, "a.example"}}, []string{"comparison AND: each value matched on its own"}},
		{"parentheses and IN",
			"[(ipv4-addr:value IN ('192.0.2.1', '192.0.2.2') OR ipv4-addr:value = '192.0.2.3')]",
			[]Observable{{ioc.IP, "192.0.2.1"}, {ioc.IP, "192.0.2.2"}, {ioc.IP, "192.0.2.3"}}, nil},
		{"network traffic", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.9']",
			[]Observable{{ioc.IP, "203.0.113.9"}}, nil},
		{"qualifiers and followedby",
			"([ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 300 SECONDS",
			[]Observable{{ioc.IP, "192.0.2.1"}, {ioc.Domain, "b.example"}},
			[]string{"observation FOLLOWEDBY: each observation matched on its own", "qualifier WITHIN not applied"}},
		{"email refs and artifact hashes",
			"[email-message:to_refs[*].value = 'ceo@corp.example' OR artifact:hashes.'SHA-256' = '" + sha + "']",
			[]Observable{{ioc.Email, "ceo@corp.example"}, {ioc.SHA256, sha}}, nil},
		{"escaped quote", `[url:value = 'http://x.example/it\'s']`, []Observable{{ioc.URL, "http://x.example/it's"}}, nil},
		{"start stop and repeats",
			"[domain-name:value = 'c.example'] REPEATS 5 TIMES START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
			[]Observable{{ioc.Domain, "c.example"}}, []string{"qualifier REPEATS not applied", "qualifier START/STOP not applied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Reduce(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got.Observables); d != "" {
				t.Errorf("observables (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.notes, got.Notes); d != "" {
				t.Errorf("notes (-want +got):\n%s", d)
			}
		})
	}
}

func TestReduceRejects(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                                       "want '[' or '('",
		"[ipv4-addr:value = '1.2.3.4'":           "want ']'",
		"[file:name = 'x.exe']":                  "unsupported object path file:name",
		"[ipv4-addr:value != '1.2.3.4']":         "operator != on ipv4-addr:value left out",
		"[domain-name:value LIKE '%.evil']":      "operator LIKE",
		"[ipv4-addr:value NOT = '1.2.3.4']":      "NOT = on",
		"[ipv4-addr:value = 5]":                  "non-string value",
		"[ipv4-addr:value = 'x'] garbage":        "unexpected",
		"[ipv4-addr:value = 'unterminated]":      "want a literal",
		strings.Repeat("(", 200) + "[a:b = 'c']": "nested deeper",
		"[ipv4-addr:value IN ('1.2.3.4' '5')]":   "want ',' or ')'",
	} {
		_, err := Reduce(pattern)
		var pe *PatternError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("Reduce(%q) = %v, want an error containing %q", pattern, err, want)
		}
	}
}

func TestPatternRoundTrip(t *testing.T) {
	for _, in := range []Observable{
		{ioc.IP, "192.0.2.1"}, {ioc.IP, "2001:db8::1"}, {ioc.CIDR, "10.0.0.0/8"}, {ioc.CIDR, "2001:db8::/48"},
		{ioc.Domain, "evil.example"}, {ioc.URL, "http://evil.example/it's?a=\\"}, {ioc.Email, "a@b.example"},
		{ioc.MD5, strings.Repeat("a", 32)}, {ioc.SHA1, strings.Repeat("b", 40)}, {ioc.SHA256, strings.Repeat("c", 64)}, {ioc.SHA512, strings.Repeat("d", 128)},
	} {
		p, err := Pattern(in.Type, in.Value)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Reduce(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if d := cmp.Diff([]Observable{in}, got.Observables); d != "" {
			t.Errorf("%s (-want +got):\n%s", p, d)
		}
	}
}
