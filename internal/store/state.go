package store

import (
	"context"
	"errors"
	"time"
)

// ErrNoState: GetState found nothing under the key.
var ErrNoState = errors.New("no state under that key")

// State is a blob of component state kept in the store (the detect_state
// table): detection saves its correlation windows, dedup windows and
// anomaly baselines here so a restart, or another instance on the same
// database, resumes them.
type State struct {
	Key string
	// Version is the blob's format version, set by its writer.
	Version   int
	Data      []byte
	UpdatedAt time.Time
}

// StateStore is implemented by stores that keep state blobs (SQLite and
// PostgreSQL both do).
type StateStore interface {
	// PutState writes or replaces the blob under key.
	PutState(ctx context.Context, key string, version int, data []byte) error
	// GetState returns the blob under key, or ErrNoState.
	GetState(ctx context.Context, key string) (State, error)
}
