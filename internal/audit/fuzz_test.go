package audit

import (
	"bytes"
	"testing"
)

// FuzzParseRecord feeds arbitrary lines to the verifier's record parser: it
// must never panic, and whatever it accepts must re-encode to exactly the
// input (the canonical-form guarantee the chain relies on).
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-21T12:00:00.001Z","kind":"gateway.call","subject":"alice","args":{"a":[1,2,{"b":null}]},"prev":"` + GenesisPrev + `","hash":"ab"}`))
	f.Add([]byte(`{"seq":2,"time":"0001-01-01T00:00:00Z","kind":"x","detail":null,"prev":"","hash":""}`))
	f.Add([]byte(`{"seq":-1}`))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Add([]byte("{\"kind\":\"\\u003c\\ud800\"}"))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseRecord(line)
		if err != nil {
			return
		}
		again, err := encode(rec)
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		if !bytes.Equal(bytes.TrimSuffix(again, []byte("\n")), line) {
			t.Fatalf("accepted non-canonical line\n in: %q\nout: %q", line, again)
		}
		if _, err := computeHash(rec); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzVerify runs whole files through Verify: no panic, and an accepted
// file's head is its last record.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"seq":1,"time":"2026-11-21T12:00:00Z","kind":"x","prev":"` + GenesisPrev + `","hash":"00"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		head, err := Verify(bytes.NewReader(data), nil)
		if err == nil && head.Seq != uint64(bytes.Count(data, []byte("\n"))) {
			t.Fatalf("intact chain of %d lines has head seq %d", bytes.Count(data, []byte("\n")), head.Seq)
		}
	})
}
