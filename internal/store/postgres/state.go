package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

var _ store.StateStore = (*Store)(nil)

// PutState writes or replaces a state blob (table detect_state).
func (s *Store) PutState(ctx context.Context, key string, version int, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO detect_state (key, version, data, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (key) DO UPDATE SET version = excluded.version, data = excluded.data, updated_at = excluded.updated_at`,
		key, version, data)
	if err != nil {
		return fmt.Errorf("saving state %q: %w", key, err)
	}
	return nil
}

// GetState reads a state blob, or returns store.ErrNoState.
func (s *Store) GetState(ctx context.Context, key string) (store.State, error) {
	st := store.State{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT version, data, updated_at FROM detect_state WHERE key = $1`, key).Scan(&st.Version, &st.Data, &st.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, store.ErrNoState
	}
	if err != nil {
		return st, fmt.Errorf("reading state %q: %w", key, err)
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	return st, nil
}
