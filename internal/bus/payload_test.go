package bus

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzPayload: any payload under any encoding header decodes or fails
// with an error, never panics or expands past maxDecoded; and what encode
// builds decodes to exactly what was published, with its record count.
func FuzzPayload(f *testing.F) {
	f.Add("s2", []byte("\xff\xff\xff\xff\x0f"))
	f.Add("s2", encode("x", bytes.Repeat([]byte("{\"a\":1}\n"), 300)).Data)
	f.Add("", []byte("{\"n\":1}\n{\"n\":2}"))
	f.Add("zz", []byte("{}"))
	f.Fuzz(func(t *testing.T, enc string, data []byte) {
		h := nats.Header{}
		if enc != "" {
			h.Set(encodingHeader, enc)
		}
		out, err := payload(h, data)
		if err == nil && len(out) > maxDecoded {
			t.Fatalf("decoded %d bytes", len(out))
		}
		measure(h, data)

		m := encode("x", data)
		back, err := payload(m.Header, m.Data)
		if err != nil {
			t.Fatalf("own encoding does not decode: %v", err)
		}
		if !bytes.Equal(back, data) {
			t.Fatal("round trip changed the payload")
		}
		if recs, size := measure(m.Header, m.Data); size != len(data) || (len(data) > 0 && recs != countRecords(data)) {
			t.Fatalf("measure = %d records, %d bytes; want %d, %d", recs, size, countRecords(data), len(data))
		}
	})
}
