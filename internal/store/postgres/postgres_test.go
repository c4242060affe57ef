package postgres_test

import (
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/postgres"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openFresh(t *testing.T, opts *store.Options) store.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), storetest.FreshPostgres(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestSuite(t *testing.T) { storetest.Run(t, openFresh) }
