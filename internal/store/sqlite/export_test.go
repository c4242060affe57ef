package sqlite

import (
	"context"

	"github.com/mcpsoc/mcpsoc/internal/store"
)

// OpenSegmented is Open with segments of rows rows, so tests exercise
// many segments, rolls and seals with little data.
func OpenSegmented(ctx context.Context, path string, opts *store.Options, rows int64) (*Store, error) {
	return openStore(ctx, path, opts, rows)
}
