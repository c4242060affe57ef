package firewall

import (
	"strings"
	"testing"
	"time"
)

func TestParseAndGuard(t *testing.T) {
	allow, err := parseAllowList([]string{"198.51.100.0/24", "2001:db8:1::/48", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	strict := guard{allowList: allow}
	loose := guard{allowPrivate: true, allowList: allow}
	for _, tc := range []struct {
		name, ip  string
		strict    string // expected error text with the default guard, "" = allowed
		permitted string // expected error text with --allow-private
	}{
		{"public v4", "203.0.113.9", "", ""},
		{"public v6", "2001:db8:2::1", "", ""},
		{"mapped v4 folds", "::ffff:203.0.113.9", "", ""},
		{"not an ip", "example.com", "is not an IP address", "is not an IP address"},
		{"injection", "1.2.3.4; flush ruleset", "is not an IP address", "is not an IP address"},
		{"prefix", "203.0.113.0/24", "is a network", "is a network"},
		{"zone", "fe80::1%eth0", "has a zone", "has a zone"},
		{"empty", " ", "ip is required", "ip is required"},
		{"loopback v4", "127.0.0.1", "loopback", "loopback"},
		{"loopback v6", "::1", "loopback", "loopback"},
		{"mapped loopback", "::ffff:127.0.0.1", "loopback", "loopback"},
		{"unspecified", "0.0.0.0", "unspecified", "unspecified"},
		{"unspecified v6", "::", "unspecified", "unspecified"},
		{"link-local v4", "169.254.1.1", "link-local", "link-local"},
		{"link-local v6", "fe80::1", "link-local", "link-local"},
		{"multicast", "224.0.0.251", "multicast", "multicast"},
		{"multicast v6", "ff02::1", "multicast", "multicast"},
		{"broadcast", "255.255.255.255", "broadcast", "broadcast"},
		{"rfc1918", "10.199.0.2", "private address", ""},
		{"rfc1918 b", "192.168.1.1", "private address", ""},
		{"cgnat", "100.64.0.1", "private address", ""},
		{"ula", "fd00::1", "private address", ""},
		{"allow-list cidr", "198.51.100.20", "allow-list entry 198.51.100.0/24", "allow-list"},
		{"allow-list v6", "2001:db8:1::5", "allow-list entry 2001:db8:1::/48", "allow-list"},
		{"allow-list host", "192.0.2.7", "allow-list entry 192.0.2.7/32", "allow-list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, g := range []struct {
				g    guard
				want string
			}{{strict, tc.strict}, {loose, tc.permitted}} {
				a, err := parseIP(tc.ip)
				if err == nil {
					err = g.g.check(a)
				}
				switch {
				case g.want == "" && err != nil:
					t.Errorf("allowPrivate=%v: unexpected error %v", g.g.allowPrivate, err)
				case g.want != "" && (err == nil || !strings.Contains(err.Error(), g.want)):
					t.Errorf("allowPrivate=%v: error %v, want %q", g.g.allowPrivate, err, g.want)
				}
			}
		})
	}
	if _, err := parseAllowList([]string{"not-a-cidr"}); err == nil {
		t.Error("bad allow-list entry accepted")
	}
}

func TestTTL(t *testing.T) {
	b := ttlBounds{def: time.Hour, min: time.Minute, max: 30 * 24 * time.Hour}
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"30d", 30 * 24 * time.Hour, ""},
		{"31d", 0, "outside the allowed range"},
		{"30s", 0, "outside the allowed range"},
		{"-5m", 0, "outside the allowed range"},
		{"1.5s", 0, "whole number of seconds"},
		{"soon", 0, "not a duration"},
		{"1xd", 0, "not a duration"},
		{"d", 0, "not a duration"},
	} {
		got, err := b.parse(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestReasonAndTable(t *testing.T) {
	for r, ok := range map[string]bool{
		"":                           true,
		"ssh brute force (alert 42)": true,
		`x" ; flush ruleset ; "`:     false,
		`back\slash`:                 false,
		"new\nline":                  false,
		"caf\u00e9":                  false,
		strings.Repeat("a", 121):     false,
	} {
		if err := checkReason(r); (err == nil) != ok {
			t.Errorf("reason %q: %v", r, err)
		}
	}
	for n, ok := range map[string]bool{"mcpsoc": true, "mcp_soc2": true, "": false, "2x": false, "a b": false, "x;flush": false, strings.Repeat("t", 65): false} {
		if err := checkTable(n); (err == nil) != ok {
			t.Errorf("table %q: %v", n, err)
		}
	}
}
