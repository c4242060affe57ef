package ioc

import (
	"strings"
	"testing"
)

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"ip,203.0.113.66,90,2026-12-01,feodo\n",
		"# c\ntype,value\n,evil.example\n\"url\",\"http://x/a,b\"\n",
		"sha256," + strings.Repeat("ab", 32) + "\ncidr,10.0.0.0/8,,,\n",
		"email,a@b.example,1,2026-01-01T00:00:00Z,s\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		inds, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		s := NewSet()
		// Everything ReadCSV returns is normalized and must be accepted.
		if err := s.Add(inds...); err != nil {
			t.Fatalf("ReadCSV returned indicators Add rejects: %v", err)
		}
		for _, in := range inds {
			n, err := Normalize(in)
			if err != nil || n.Value != in.Value {
				t.Fatalf("not idempotent: %+v → %+v %v", in, n, err)
			}
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '203.0.113.66']",
		"[domain-name:value = 'a.example' OR url:value = 'http://a.example/\\'x']",
		"[file:hashes.'SHA-256' = 'aa'] OR [file:hashes.MD5 = 'bb']",
		"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		inds, err := ParsePattern(p)
		if err != nil {
			return
		}
		if len(inds) == 0 {
			t.Fatalf("no error and no indicator for %q", p)
		}
		for _, in := range inds {
			if in.Type == "" {
				t.Fatalf("untyped indicator from %q", p)
			}
		}
	})
}
