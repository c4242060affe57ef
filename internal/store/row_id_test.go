package store_test

import (
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// TestIDPrefersSourceID: identical records keep distinct ids when their
// source gave them ids, and fall back to the content hash otherwise.
func TestIDPrefersSourceID(t *testing.T) {
	mk := func(id string) *event.Event {
		ev := &event.Event{Original: "same line", Timestamp: time.Unix(1, 0)}
		ev.Provenance.SourceID = "syslog:fw"
		if id != "" {
			ev.Put("event.id", id)
		}
		return ev
	}
	a, b := mk("0123456789abcdef0123456789abcdef"), mk("fedcba9876543210fedcba9876543210")
	if store.ID(a) != "0123456789abcdef0123456789abcdef" || store.ID(a) == store.ID(b) {
		t.Errorf("source ids not used: %s %s", store.ID(a), store.ID(b))
	}
	if store.ID(mk("")) != store.ID(mk("")) || store.ID(mk("not-an-id")) != store.ID(mk("")) {
		t.Error("events without a valid event.id must fall back to the same content hash")
	}
}

// TestRecordID: record ids are valid, deterministic, end in the position,
// and differ between streams and between positions.
func TestRecordID(t *testing.T) {
	a := store.RecordID(0x123456789abc, "syslog:fw", "conn-1")
	if !store.ValidID(a) || a[20:] != "123456789abc" {
		t.Fatalf("RecordID = %q: want a valid id ending in the position", a)
	}
	if b := store.RecordID(0x123456789abc, "syslog:fw", "conn-1"); b != a {
		t.Fatalf("RecordID is not deterministic: %s, %s", a, b)
	}
	seen := map[string]string{a: "a"}
	for name, id := range map[string]string{
		"next position":   store.RecordID(0x123456789abd, "syslog:fw", "conn-1"),
		"other stream":    store.RecordID(0x123456789abc, "syslog:fw", "conn-2"),
		"parts regrouped": store.RecordID(0x123456789abc, "syslog:fwconn-1"),
		"position >2^48":  store.RecordID(1<<48|0x123456789abc, "syslog:fw", "conn-1"),
	} {
		if prev, dup := seen[id]; dup {
			t.Errorf("%s: id %s repeats %s", name, id, prev)
		}
		seen[id] = name
	}
	if c := store.RecordID(0x123456789abd, "syslog:fw", "conn-1"); c[:20] != a[:20] {
		t.Errorf("one stream's ids differ before the position: %s, %s", a, c)
	}
}
