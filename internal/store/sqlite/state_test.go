package sqlite_test

import (
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func TestState(t *testing.T) {
	s := openTemp(t, nil)
	defer s.Close()
	storetest.RunState(t, s.(store.StateStore))
}

func TestLease(t *testing.T) {
	s := openTemp(t, nil)
	defer s.Close()
	storetest.RunLease(t, s.(store.LeaseStore), s.(store.StateStore))
}
