package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzCanonicalEncoding holds the writer's hand-made encoding to
// json.Marshal's, byte for byte, for any field contents.
func FuzzCanonicalEncoding(f *testing.F) {
	f.Add("gateway.call", "alice<script>&\"\\", "\x00\x1f\b\f\n\r\t", "\xff\xfe bad utf8 \u2028\u2029 é 😀", []byte(`{"a": [1, 2], "b":"<&>"}`), []byte(`{"destructive":true}`), int64(42), int64(-1), uint64(7), int64(1700000000123456789))
	f.Add("k", "", "", "", []byte(nil), []byte(`not json`), int64(0), int64(0), uint64(0), int64(0))
	f.Add("k", "s", "m", "t", []byte(" \n{ }\t"), []byte(`"\u2028"`), int64(1), int64(1), uint64(1), int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, kind, subject, method, reason string, args, detail []byte, latency, size int64, seq uint64, nanos int64) {
		r := &Record{Seq: seq, Time: time.Unix(0, nanos).UTC(), Prev: reason + subject,
			Event: Event{Kind: kind, Subject: subject, Session: reason, Method: method, Upstream: subject, Tool: method,
				Args: args, ArgsHash: subject, Decision: method, Reason: reason, LatencyMicros: latency,
				ResultBytes: size, ResultHash: kind, Remote: reason, Detail: detail}}
		want, wantErr := json.Marshal(r)
		ev, ok := appendEvent(nil, &r.Event)
		if ok {
			var body []byte
			if body, ok = appendRecordBody(nil, r, ev); ok {
				if wantErr != nil {
					t.Fatalf("encoded %s, json.Marshal fails: %v", body, wantErr)
				}
				if !bytes.Equal(body, want) {
					t.Fatalf("encoded\n%s\njson.Marshal\n%s", body, want)
				}
			}
		}
		line, err := hashAndEncode(r, nil)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("hashAndEncode error %v, json.Marshal error %v", err, wantErr)
		}
		if err == nil {
			canon, _ := encode(r)
			h, _ := computeHash(r)
			if !bytes.Equal(line, canon) || h != r.Hash {
				t.Fatalf("line %s\nwant %s", line, canon)
			}
		}
	})
}
