package postgres_test

import (
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// TestState runs against the real PostgreSQL (a fresh database).
func TestState(t *testing.T) {
	s := openFresh(t, nil)
	defer s.Close()
	storetest.RunState(t, s.(store.StateStore))
}

// TestLease runs against the real PostgreSQL (a fresh database).
func TestLease(t *testing.T) {
	s := openFresh(t, nil)
	defer s.Close()
	storetest.RunLease(t, s.(store.LeaseStore), s.(store.StateStore))
}
