package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
)

var _ store.StateStore = (*Store)(nil)

// PutState writes or replaces a state blob (table detect_state).
func (s *Store) PutState(ctx context.Context, key string, version int, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO detect_state (key, version, data, updated_at) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (key) DO UPDATE SET version = excluded.version, data = excluded.data, updated_at = excluded.updated_at`,
		key, version, data, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("saving state %q: %w", key, err)
	}
	return nil
}

// GetState reads a state blob, or returns store.ErrNoState.
func (s *Store) GetState(ctx context.Context, key string) (store.State, error) {
	st := store.State{Key: key}
	var ns int64
	err := s.r.QueryRowContext(ctx, `SELECT version, data, updated_at FROM detect_state WHERE key = ?1`, key).Scan(&st.Version, &st.Data, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return st, store.ErrNoState
	}
	if err != nil {
		return st, fmt.Errorf("reading state %q: %w", key, err)
	}
	st.UpdatedAt = time.Unix(0, ns).UTC()
	return st, nil
}

var _ store.LeaseStore = (*Store)(nil)

// AcquireLease implements store.LeaseStore on the detect_state table.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	l := store.Lease{Name: name, Holder: holder}
	now := time.Now().UnixNano()
	var ns int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO detect_state (key, version, data, updated_at) VALUES (?1, 0, ?2, ?3)
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
		WHERE detect_state.data = excluded.data OR detect_state.updated_at <= ?4
		RETURNING updated_at`, name, []byte(holder), now+int64(ttl), now).Scan(&ns)
	if err == nil {
		l.Expires = time.Unix(0, ns).UTC()
		return l, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return l, false, fmt.Errorf("acquiring lease %q: %w", name, err)
	}
	var data []byte
	if err := s.w.QueryRowContext(ctx, `SELECT data, updated_at FROM detect_state WHERE key = ?1`, name).Scan(&data, &ns); err != nil {
		return l, false, fmt.Errorf("reading lease %q: %w", name, err)
	}
	l.Holder, l.Expires = string(data), time.Unix(0, ns).UTC()
	return l, false, nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM detect_state WHERE key = ?1 AND data = ?2`, name, []byte(holder)); err != nil {
		return fmt.Errorf("releasing lease %q: %w", name, err)
	}
	return nil
}
