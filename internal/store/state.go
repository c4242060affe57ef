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

// Lease is a named, expiring claim one instance holds over something
// several instances share (detection holds "lease:detect" while it saves
// the detection state). Leases are rows of the detect_state table under
// their name: data is the holder, updated_at the expiry.
type Lease struct {
	Name    string
	Holder  string
	Expires time.Time
}

// LeaseStore is implemented by stores that arbitrate between instances
// sharing them (SQLite and PostgreSQL both do).
type LeaseStore interface {
	// AcquireLease takes the lease for holder until ttl from now, or
	// renews it when holder has it already, in one atomic statement. When
	// another holder's lease has not expired it returns that lease and
	// false. PostgreSQL judges expiry by the database's clock, so
	// instances on machines with different clocks agree; SQLite by the
	// local clock (its instances share one machine).
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease ends holder's lease; it does nothing when another
	// holder has the lease.
	ReleaseLease(ctx context.Context, name, holder string) error
}
