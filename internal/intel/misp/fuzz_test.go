package misp

import (
	"os"
	"testing"
)

func FuzzReadEvent(f *testing.F) {
	for _, p := range []string{"testdata/feed/5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.json", "testdata/feed/8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d.json", "testdata/feed/manifest.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Event":{"Attribute":[{"type":"domain|ip","value":"a","to_ids":"1"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ev, err := ReadEvent(data); err == nil {
			es, sk := FromEvent(ev)
			for _, e := range es {
				if e.Type == "" {
					t.Fatalf("entry without type: %+v (%d skipped)", e, len(sk))
				}
			}
		}
		if m, err := ReadManifest(data); err == nil {
			for id := range m {
				if !isUUID(id) {
					t.Fatalf("manifest key %q", id)
				}
			}
		}
	})
}
