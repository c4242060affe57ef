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
