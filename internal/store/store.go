// Package store owns event persistence: the Store interface every backend
// implements (SQLite in store/sqlite, PostgreSQL in store/postgres), the
// event id, the hot-column row both backends index, search cursors, the
// time-range guard and the versioned SQL migrator. It does not parse query
// text (package query does) and it does not decide retention policy (the
// caller passes an age or a size budget).
package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
)

// Sentinel errors callers branch on (the API maps them to HTTP statuses).
var (
	// ErrNotFound: Get found no event with that id.
	ErrNotFound = errors.New("event not found")
	// ErrTimeRangeRequired: a search or count without a time range on a
	// store above Options.TimeRangeRequiredAbove events.
	ErrTimeRangeRequired = errors.New("time range required")
	// ErrBadCursor: the cursor was not produced by this store's Search.
	ErrBadCursor = errors.New("invalid search cursor")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// Record is one stored event with its id.
type Record struct {
	ID    string
	Event *event.Event
}

// SearchRequest selects events. From and To bound @timestamp as [From, To);
// a zero value leaves that end open.
type SearchRequest struct {
	// Query is a parsed query; nil matches every event.
	Query *query.Query
	From  time.Time
	To    time.Time
	// Limit is the page size: 0 means DefaultLimit, above MaxLimit is cut
	// to MaxLimit. Count ignores it.
	Limit int
	// Cursor continues a previous search: pass the Next of the page
	// before, with the same Query, From and To. Count ignores it.
	Cursor string
}

// Page is one page of results, newest first (by @timestamp, then id).
type Page struct {
	Records []Record
	// Next is the cursor of the following page; empty on the last page.
	Next string
}

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Store persists normalized events and searches them.
//
// Every method is safe for concurrent use by several goroutines; Close
// must be called once, by the owner, after the other calls have returned.
// Every method that takes a context stops when it is cancelled and returns
// an error wrapping ctx.Err(); an Append cancelled midway has stored a
// prefix of whole transactions at most, never a partial event, and may be
// re-sent as it is.
type Store interface {
	// Append stores events and returns how many were new. It is
	// idempotent: an event whose id (see ID) is already stored is skipped,
	// so a batch re-sent after a crash never duplicates. The events are
	// not retained after Append returns.
	Append(ctx context.Context, events []*event.Event) (int, error)
	// AppendEncoded is Append for events whose JSON encoding the caller
	// already holds (a bus consumer): the store writes those bytes instead
	// of encoding each event again. Same idempotence and result.
	AppendEncoded(ctx context.Context, events []Encoded) (int, error)
	// Search returns the newest page of events matching req. It returns
	// ErrTimeRangeRequired (wrapped) when the guard applies, a
	// *query.Error for a query the store cannot run, and ErrBadCursor for
	// a cursor it did not issue.
	Search(ctx context.Context, req SearchRequest) (Page, error)
	// Get returns one event by id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Count returns how many events match req (Limit and Cursor ignored),
	// under the same time-range guard as Search.
	Count(ctx context.Context, req SearchRequest) (int64, error)
	// DeleteBefore deletes every event with @timestamp before cutoff and
	// returns how many it deleted.
	DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error)
	// TrimToSize deletes the oldest events until Size is at most maxBytes
	// (see each backend for how space is reclaimed) and returns how many
	// it deleted.
	TrimToSize(ctx context.Context, maxBytes int64) (int64, error)
	// Size returns the bytes the events occupy on disk, indexes included.
	Size(ctx context.Context) (int64, error)
	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// Maintainer is implemented by stores with periodic housekeeping (creating
// PostgreSQL partitions ahead of time, SQLite WAL checkpoints). The owner
// calls Maintain every few minutes; it is safe concurrently with the Store
// methods.
type Maintainer interface {
	Maintain(ctx context.Context) error
}

// Options tunes a store; nil means defaults.
type Options struct {
	// Logger receives operator logs; nil discards them.
	Logger *slog.Logger
	// TimeRangeRequiredAbove makes Search and Count refuse a request with
	// no time range (neither From nor an @timestamp lower bound in the
	// query) once the store holds more than this many events. 0 means
	// DefaultTimeRangeRequiredAbove; negative disables the guard.
	TimeRangeRequiredAbove int64
	// SegmentRows (SQLite only) is how many events a segment file holds
	// before it is indexed and the next starts; 0 means the default.
	SegmentRows int64
}

// DefaultTimeRangeRequiredAbove is the guard's default event count.
const DefaultTimeRangeRequiredAbove = 1_000_000

// Logger returns o's logger, or a logger that discards when o or its
// Logger is nil.
func Logger(o *Options) *slog.Logger {
	if o == nil || o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// EffectiveLimit returns the page size Search uses for r.
func (r SearchRequest) EffectiveLimit() int {
	switch {
	case r.Limit <= 0:
		return DefaultLimit
	case r.Limit > MaxLimit:
		return MaxLimit
	}
	return r.Limit
}
