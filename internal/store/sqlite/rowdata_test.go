package sqlite

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/s2"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), &store.Options{TimeRangeRequiredAbove: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// typeCounts counts events rows by the SQLite type of data.
func typeCounts(t *testing.T, s *Store) map[string]int {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), `SELECT typeof(data), count(*) FROM cur.events GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	return got
}

// TestGoldenRoundTrip: every parser golden event comes back from the store
// exactly as it went in, through each append path (AppendEncoded with and
// without PrepareEncoded first), and is stored compressed.
func TestGoldenRoundTrip(t *testing.T) {
	for _, name := range []string{"Append", "AppendEncoded", "PrepareEncoded"} {
		encoded := name != "Append"
		t.Run(name, func(t *testing.T) {
			s := openInternal(t)
			want := map[string][]byte{}
			var evs []*event.Event
			var enc []store.Encoded
			for _, js := range goldenEvents(t) {
				ev := new(event.Event)
				if err := ev.UnmarshalJSON(js); err != nil {
					t.Fatal(err)
				}
				want[store.ID(ev)] = js
				evs = append(evs, ev)
				enc = append(enc, store.Encoded{Event: ev, JSON: js})
			}
			if name == "PrepareEncoded" {
				s.PrepareEncoded(enc)
				for _, e := range enc {
					pr, ok := e.Prepared.(*prepared)
					if !ok || len(pr.row.Data) == 0 || pr.row.Data[0] != dataFormat {
						t.Fatalf("prepared %#v, want a row in the stored format", e.Prepared)
					}
					if key := newKeyer(s.salt).key(pr.row.ID); pr.args[0] != key || pr.args[1] != pr.row.ID {
						t.Fatalf("prepared arguments start %v, %v; want key %d and id %s", pr.args[0], pr.args[1], key, pr.row.ID)
					}
				}
			}
			var err error
			if encoded {
				_, err = s.AppendEncoded(t.Context(), enc)
			} else {
				_, err = s.Append(t.Context(), evs)
			}
			if err != nil {
				t.Fatal(err)
			}
			for id, js := range want {
				rec, err := s.Get(t.Context(), id)
				if err != nil {
					t.Fatalf("Get %s: %v", id, err)
				}
				if got := rec.Event.AppendJSON(nil); !bytes.Equal(got, js) {
					t.Errorf("event %s came back as\n%s\nwant\n%s", id, got, js)
				}
			}
			if got := typeCounts(t, s); got["blob"] != len(want) {
				t.Errorf("data types %v, want %d blobs", got, len(want))
			}
			var plain, stored int64
			if err := s.w.QueryRowContext(t.Context(), `SELECT sum(length(mcpsoc_event_json(data))), sum(length(data)) FROM cur.events`).Scan(&plain, &stored); err != nil {
				t.Fatal(err)
			}
			if stored*2 > plain {
				t.Errorf("data holds %d bytes for %d bytes of JSON, want under half", stored, plain)
			}
		})
	}
}

// TestMixedFormats: a database whose rows are partly plain JSON (as every
// row was before compression) and partly compressed answers
// searches on fields without a hot column, Get and Count across both.
func TestMixedFormats(t *testing.T) {
	s := openInternal(t)
	evs := storetest.Events(400, 91)
	if _, err := s.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	// Turn two rows in three back into the old format: JSON as TEXT, and
	// JSON as a BLOB (how the driver stored []byte before compression).
	for _, q := range []string{
		`UPDATE cur.events SET data = CAST(mcpsoc_event_json(data) AS TEXT) WHERE seq % 3 = 0`,
		`UPDATE cur.events SET data = CAST(mcpsoc_event_json(data) AS BLOB) WHERE seq % 3 = 1`,
	} {
		if _, err := s.w.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	var plainBlobs, packed int
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE substr(data, 1, 1) = x'7b'), count(*) FILTER (WHERE substr(data, 1, 1) = x'01')
		FROM cur.events WHERE typeof(data) = 'blob'`).Scan(&plainBlobs, &packed); err != nil {
		t.Fatal(err)
	}
	if types := typeCounts(t, s); types["text"] == 0 || plainBlobs == 0 || packed == 0 {
		t.Fatalf("data types %v, %d plain and %d compressed blobs; want all three formats", types, plainBlobs, packed)
	}
	byID := map[string]*event.Event{}
	for _, ev := range evs {
		byID[store.ID(ev)] = ev
	}
	for _, tc := range []struct {
		q     string
		match func(*event.Event) bool
	}{
		{"observer.name:fw-1", func(ev *event.Event) bool { return ev.Observer.Name == "fw-1" }},
		{"labels.env:Prod", func(ev *event.Event) bool { v, _ := ev.Get("labels.env"); return v == "Prod" }},
		{"url.original:*", func(ev *event.Event) bool { _, ok := ev.Get("url.original"); return ok }},
	} {
		t.Run(tc.q, func(t *testing.T) {
			q, err := query.Parse(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for id, ev := range byID {
				if tc.match(ev) {
					want[id] = true
				}
			}
			if len(want) == 0 || len(want) == len(byID) {
				t.Fatalf("query %q matches %d of %d events: not a useful case", tc.q, len(want), len(byID))
			}
			n, err := s.Count(t.Context(), store.SearchRequest{Query: q})
			if err != nil || n != int64(len(want)) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(want))
			}
			page, err := s.Search(t.Context(), store.SearchRequest{Query: q, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) != len(want) {
				t.Fatalf("Search returned %d events, want %d", len(page.Records), len(want))
			}
			for _, rec := range page.Records {
				if !want[rec.ID] {
					t.Errorf("Search returned %s, which does not match", rec.ID)
				}
				if !bytes.Equal(rec.Event.AppendJSON(nil), byID[rec.ID].AppendJSON(nil)) {
					t.Errorf("event %s differs after the round trip", rec.ID)
				}
			}
		})
	}
}

// TestCorruptData: a damaged data value gives an error from Get, Search
// and a query on a non-hot field, never a panic or a wrong event.
func TestCorruptData(t *testing.T) {
	s := openInternal(t)
	evs := storetest.Events(20, 92)
	if _, err := s.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	id := store.ID(evs[0])
	if _, err := s.w.ExecContext(t.Context(), `UPDATE cur.events SET data = substr(data, 1, length(data) / 2) WHERE id = ?1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), id); !errors.Is(err, errCorruptData) {
		t.Errorf("Get of a truncated row: %v, want errCorruptData", err)
	}
	if _, err := s.Search(t.Context(), store.SearchRequest{Limit: 1000}); !errors.Is(err, errCorruptData) {
		t.Errorf("Search over a truncated row: %v, want errCorruptData", err)
	}
	q, err := query.Parse("observer.name:fw-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Count(t.Context(), store.SearchRequest{Query: q}); err == nil {
		t.Error("Count on a non-hot field over a truncated row succeeded")
	}
}

func TestDecodeData(t *testing.T) {
	js := []byte(`{"@timestamp":"2026-11-21T12:00:00Z","event":{"kind":"event","dataset":"pfsense.filterlog"},"message":"block"}`)
	packed := encodeData(nil, js)
	if packed[0] != dataS2Dict1 {
		t.Fatalf("format byte 0x%02x, want 0x%02x", packed[0], dataS2Dict1)
	}
	huge := append([]byte{dataS2Dict1}, 0xff, 0xff, 0xff, 0xff, 0x0f) // claims 4 GiB
	notJSON := append([]byte{dataS2Dict1}, dicts[dataS2Dict1].Encode(nil, []byte("hello, not an object"))...)
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte // nil: an error
	}{
		{"compressed", packed, js},
		{"plain", js, js},
		{"plain with leading space", append([]byte(" "), js...), append([]byte(" "), js...)},
		{"empty", nil, nil},
		{"unknown format", append([]byte{0x07}, packed[1:]...), nil},
		{"bad length header", []byte{dataS2Dict1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil},
		{"claims too much", huge, nil},
		{"truncated block", packed[:len(packed)-5], nil},
		{"format byte only", []byte{dataS2Dict1}, nil},
		{"decodes to non-object", notJSON, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeData(tc.in)
			if tc.want == nil {
				if !errors.Is(err, errCorruptData) {
					t.Fatalf("decodeData = %q, %v; want errCorruptData", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("decodeData = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Incompressible or oversized JSON is stored as it is.
func TestEncodeDataPlain(t *testing.T) {
	tiny := []byte(`{}`)
	if got := encodeData(nil, tiny); !bytes.Equal(got, tiny) {
		t.Errorf("encodeData(%q) = %q", tiny, got)
	}
	big := append([]byte(`{"message":"`), bytes.Repeat([]byte("a"), maxDataBytes)...)
	big = append(big, `"}`...)
	if got := encodeData(nil, big); &got[0] != &big[0] {
		t.Error("JSON over maxDataBytes was not stored as it is")
	}
}

// FuzzDecodeData: arbitrary stored bytes never panic the decoder; what it
// accepts as compressed is a JSON object no larger than maxDataBytes, and
// anything encodeData writes decodes back to its input.
func FuzzDecodeData(f *testing.F) {
	for _, js := range goldenEvents(f)[:10] {
		f.Add(js)
		f.Add(encodeData(nil, js))
	}
	f.Add([]byte{dataS2Dict1})
	f.Add([]byte{dataS2Dict1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeData(b)
		if err == nil && len(b) > 0 && b[0] == dataS2Dict1 {
			if len(got) > maxDataBytes || got[0] != '{' {
				t.Fatalf("accepted %d bytes starting %q", len(got), got[:min(len(got), 8)])
			}
			if n, _ := s2.DecodedLen(b[1:]); n != len(got) {
				t.Fatalf("decoded %d bytes, header says %d", len(got), n)
			}
		}
		if len(b) > 0 && b[0] == '{' {
			back, err := decodeData(encodeData(nil, b))
			if err != nil || !bytes.Equal(back, b) {
				t.Fatalf("round trip of %q: %q, %v", b, back, err)
			}
		}
	})
}

// BenchmarkData times compressing and decompressing the parsers' golden
// events, one event per op.
func BenchmarkData(b *testing.B) {
	evs := goldenEvents(b)
	packed := make([][]byte, len(evs))
	for i, js := range evs {
		packed[i] = encodeData(nil, js)
	}
	dst := make([]byte, 0, 64<<10)
	b.Run("encode", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			encodeData(dst, evs[i%len(evs)])
		}
	})
	b.Run("decode", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := decodeData(packed[i%len(packed)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
