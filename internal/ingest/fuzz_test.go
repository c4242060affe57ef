package ingest

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadFrame: any byte stream splits into frames without panicking, and
// every frame stays within the message limit.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("12 <13>hello\n<13>world\n"))
	f.Add([]byte("99999999999 x"))
	f.Add([]byte("5 ab"))
	f.Add([]byte("\n\n\r\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		var scratch []byte
		for i := 0; i < len(data)+2; i++ {
			msg, err := readFrame(r, 64, &scratch)
			if len(msg) > 64 {
				t.Fatalf("frame of %d bytes", len(msg))
			}
			if err != nil {
				return
			}
		}
		t.Fatal("readFrame made no progress")
	})
}
