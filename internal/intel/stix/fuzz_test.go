package stix

import (
	"os"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

func FuzzReduce(f *testing.F) {
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.1']",
		"[file:hashes.'SHA-256' = 'aa' AND file:name = 'x'] OR ([url:value = 'http://a/b'] FOLLOWEDBY [email-addr:value = 'a@b.c']) WITHIN 5 SECONDS",
		"[ipv4-addr:value IN ('1.2.3.4', '10.0.0.0/8')] REPEATS 2 TIMES START t'2026-01-01T00:00:00Z' STOP t'2026-01-02T00:00:00Z'",
		"[(a:b = 1 OR c:d NOT LIKE 'x') AND e:f[*].g = h'00']",
		`[url:value = 'it\'s']`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := Reduce(p)
		if err != nil {
			return
		}
		if len(r.Observables) == 0 {
			t.Fatal("success with no observable")
		}
		for _, o := range r.Observables {
			n, err := ioc.Normalize(ioc.Indicator{Type: o.Type, Value: o.Value})
			if err != nil {
				continue // a syntactically fine pattern may name a bad value; the store skips it
			}
			// Every value we can store we can write back and read again.
			q, err := Pattern(n.Type, n.Value)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Reduce(q)
			if err != nil || len(back.Observables) != 1 || back.Observables[0].Value != n.Value {
				t.Fatalf("%q → %q → %+v %v", p, q, back, err)
			}
		}
	})
}

func FuzzRead(f *testing.F) {
	if b, err := os.ReadFile("testdata/bundle.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`[{"type":"indicator","id":"indicator--1","pattern":"[domain-name:value = 'a.example']","valid_until":"2020-01-01T00:00:00Z"}]`))
	f.Add([]byte(`{"objects":[{"type":"indicator","confidence":101}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, st, err := Read(data)
		if err != nil {
			return
		}
		if st.Indicators+st.Other > st.Objects {
			t.Fatalf("stats %+v", st)
		}
		for _, e := range b.Entries {
			if e.Confidence < 0 || e.Confidence > 100 || e.Ref == "" && e.Value == "" {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}
