package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openTemp(t *testing.T, opts *store.Options) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestSuite(t *testing.T) { storetest.Run(t, openTemp) }

// Reopening a store keeps its events and does not reapply migrations.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.Events(30, 7)
	if _, err := s.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	n, err := s.Count(t.Context(), store.SearchRequest{})
	if err != nil || n != int64(len(storetest.Sorted(evs))) {
		t.Fatalf("Count after reopen = %d, %v", n, err)
	}
	if k, err := s.Append(t.Context(), evs); err != nil || k != 0 {
		t.Fatalf("re-Append after reopen stored %d, %v", k, err)
	}
	if err := s.Maintain(t.Context()); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
}
