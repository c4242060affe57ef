package store

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
)

func TestID(t *testing.T) {
	ts := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)
	mk := func(src, orig string, ts time.Time) *event.Event {
		ev := &event.Event{Timestamp: ts, Original: orig, Message: "m"}
		ev.Provenance.SourceID = src
		ev.Provenance.IngestTime = time.Now()
		return ev
	}
	base := ID(mk("syslog:udp", "line", ts))
	if !ValidID(base) {
		t.Fatalf("ID %q is not a valid id", base)
	}
	// Re-ingesting the same record (new ingest time, other parsed fields)
	// gives the same id.
	again := mk("syslog:udp", "line", ts.In(time.FixedZone("x", 3600)))
	again.Message = "reparsed"
	if ID(again) != base {
		t.Fatal("same source, original and time gave a different id")
	}
	for name, ev := range map[string]*event.Event{
		"source":    mk("syslog:tcp", "line", ts),
		"original":  mk("syslog:udp", "line2", ts),
		"timestamp": mk("syslog:udp", "line", ts.Add(time.Nanosecond)),
		"boundary":  mk("syslog:udpl", "ine", ts),
	} {
		if ID(ev) == base {
			t.Errorf("changing the %s did not change the id", name)
		}
	}
	// Without an original record the whole event is hashed.
	a := &event.Event{Timestamp: ts, Message: "gateway call"}
	b := &event.Event{Timestamp: ts, Message: "gateway call 2"}
	if ID(a) == ID(b) || ID(a) != ID(&event.Event{Timestamp: ts, Message: "gateway call"}) {
		t.Fatal("events without original must hash their content")
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{Micros: 1763632800123456, ID: strings.Repeat("ab", 16)}
	got, err := DecodeCursor(c.Encode())
	if err != nil || got != c {
		t.Fatalf("cursor round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "!!", Cursor{Micros: 1, ID: "short"}.Encode(), "MTIzNA"} {
		if _, err := DecodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("DecodeCursor(%q) = %v, want ErrBadCursor", bad, err)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("x")},
	}
	ms, err := LoadMigrations(good, "m")
	if err != nil || len(ms) != 2 || ms[0].Name != "a" || ms[1].SQL != "B" {
		t.Fatalf("LoadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"dup":     {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"badname": {"m/first.sql": {}},
	} {
		if _, err := LoadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: LoadMigrations accepted a broken set", name)
		}
	}
}

func TestCheckTimeRange(t *testing.T) {
	q, _ := query.Parse("@timestamp>=now-1h")
	opts := &Options{TimeRangeRequiredAbove: 10}
	if err := CheckTimeRange(opts, SearchRequest{}, 11); !errors.Is(err, ErrTimeRangeRequired) {
		t.Fatalf("unbounded over the limit: %v", err)
	}
	for _, ok := range []error{
		CheckTimeRange(opts, SearchRequest{}, 10),
		CheckTimeRange(opts, SearchRequest{From: time.Now()}, 11),
		CheckTimeRange(opts, SearchRequest{Query: q}, 11),
		CheckTimeRange(&Options{TimeRangeRequiredAbove: -1}, SearchRequest{}, 1e12),
		CheckTimeRange(nil, SearchRequest{}, DefaultTimeRangeRequiredAbove),
	} {
		if ok != nil {
			t.Fatalf("bounded or small request refused: %v", ok)
		}
	}
	if err := CheckTimeRange(nil, SearchRequest{}, DefaultTimeRangeRequiredAbove+1); !errors.Is(err, ErrTimeRangeRequired) {
		t.Fatalf("default limit not applied: %v", err)
	}
}
