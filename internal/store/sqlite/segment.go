package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Segments. Updating the eight secondary indexes row by row cost about
// 19 of the 48 µs an event spent in the pipeline, and building the same
// indexes in bulk with CREATE INDEX costs less than half as much (see
// BENCHMARKS.md). So new events are not written to the events table of
// the main file but to segment files: the writer appends to the open
// segment, which has no secondary index, and when it holds segmentRows
// rows it is closed and a sealer goroutine, on a connection of its own
// and so on the other core, builds its indexes while the writer fills the
// next one.
//
// Files: the main file (events.db) keeps the catalog (event_segments),
// the key of every stored event (event_keys: idkey → seq, which keeps
// Append idempotent across segments and leads Get to the row) and the
// events table written before segments existed, which is read as the
// oldest segment. Segment files are <main without .db>.segments/<first
// seq>.db, each with the events table's columns, its own full-text index
// and, once sealed, the same secondary indexes as the main table.
//
// The writer's connection has the open segment attached as "cur", so a
// batch's keys and rows are written in one transaction. SQLite commits
// the files of such a transaction one after the other, not atomically,
// so the catalog records the last seq committed to the open segment in
// the same file as the keys, and Open reconciles the two (reconcile).
//
// Searches run the same compiled condition on every segment whose time
// range meets the request and merge the results; retention deletes whole
// files.

// segmentRows is the default number of rows after which the open segment
// is sealed. Small segments keep the unindexed scan of the open segment
// short (≈ 30 ms at 100k rows); the count of segments a search visits
// grows as they shrink.
const segmentRows = 100_000

// Segment states in the catalog.
const (
	stateOpen    = "open"
	stateSealing = "sealing"
	stateSealed  = "sealed"
)

// segment is one file of events, or the main file's events table (lo 0).
type segment struct {
	lo   int64   // first seq
	file string  // path; "" for the main table
	db   *sql.DB // readers; the store's readers for the main table

	// mu is held for reading while a query uses db, and for writing when
	// the segment is dropped.
	mu      sync.RWMutex
	dropped bool

	sealed atomic.Bool // secondary indexes built
	// minTS and maxTS bound the rows' @timestamp (µs), never too
	// narrowly: the writer widens them before it commits. Empty: minTS >
	// maxTS.
	minTS, maxTS atomic.Int64
	hi           atomic.Int64 // last seq committed, lo-1 if none
}

func (g *segment) widen(lo, hi int64) {
	for {
		v := g.minTS.Load()
		if lo >= v || g.minTS.CompareAndSwap(v, lo) {
			break
		}
	}
	for {
		v := g.maxTS.Load()
		if hi <= v || g.maxTS.CompareAndSwap(v, hi) {
			break
		}
	}
}

// overlaps reports whether the segment may hold rows with @timestamp in
// [lo, hi).
func (g *segment) overlaps(lo, hi int64) bool {
	return g.minTS.Load() < hi && g.maxTS.Load() >= lo
}

// use runs f with the segment's readers unless the segment was dropped,
// in which case f is not run.
func (g *segment) use(f func(db *sql.DB) error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.dropped {
		return nil
	}
	return f(g.db)
}

// segmentDir is where the segment files of the store at path live.
func segmentDir(path string) string {
	return strings.TrimSuffix(path, ".db") + ".segments"
}

func segmentName(lo int64) string { return fmt.Sprintf("%020d.db", lo) }

// segmentSchema creates a segment's tables. Rows carry their key so that
// retention can delete a segment's keys.
const segmentSchema = `CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,
	idkey     INTEGER NOT NULL,
	id        TEXT    NOT NULL,
	ts        INTEGER NOT NULL,
	kind      TEXT,
	dataset   TEXT,
	module    TEXT,
	action    TEXT,
	outcome   TEXT,
	severity  INTEGER,
	src_ip    BLOB,
	src_port  INTEGER,
	dst_ip    BLOB,
	dst_port  INTEGER,
	host_name TEXT,
	user_name TEXT,
	rule_id   TEXT,
	message   TEXT,
	data      TEXT    NOT NULL
);
CREATE VIRTUAL TABLE events_fts USING fts5 (
	message,
	content = 'events',
	content_rowid = 'seq',
	tokenize = 'trigram'
);
CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.message IS NOT NULL BEGIN
	INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.seq, old.message);
END;`

// segmentIndexes are built when a segment is sealed: the main table's
// secondary indexes (migration 0005), under the same names.
var segmentIndexes = []string{
	`CREATE INDEX IF NOT EXISTS events_ts ON events (ts)`,
	`CREATE INDEX IF NOT EXISTS events_src_ip_ts ON events (src_ip, ts)`,
	`CREATE INDEX IF NOT EXISTS events_dst_ip_ts ON events (dst_ip, ts)`,
	`CREATE INDEX IF NOT EXISTS events_dst_port_ts ON events (dst_port, ts)`,
	`CREATE INDEX IF NOT EXISTS events_dataset_ts ON events (dataset, ts)`,
	`CREATE INDEX IF NOT EXISTS events_user_name_ts ON events (user_name, ts) WHERE user_name IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_host_name_ts ON events (host_name, ts) WHERE host_name IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_rule_id_ts ON events (rule_id, ts) WHERE rule_id IS NOT NULL`,
}

// createSegmentFile creates an empty segment file at path, replacing
// what an earlier attempt that failed midway (a full disk, say) left
// there: no catalog entry names a file that is not created yet.
func createSegmentFile(ctx context.Context, path string) (err error) {
	if err := removeSegmentFile(path); err != nil {
		return fmt.Errorf("creating segment %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			removeSegmentFile(path)
		}
	}()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("creating segment %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA page_size = " + strconv.Itoa(max(pageSize, 4096)), "PRAGMA auto_vacuum = incremental", "PRAGMA journal_mode = wal", segmentSchema} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating segment %s: %w", path, err)
		}
	}
	return nil
}

// removeSegmentFile removes a segment file with its WAL and shared-memory
// files; missing ones are no error.
func removeSegmentFile(path string) error {
	var errs []error
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openSegmentReaders opens the reader pool of the segment file at path.
func openSegmentReaders(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, "busy_timeout(10000)", "query_only(1)", "cache_size(-16384)", "temp_store(memory)"))
	if err != nil {
		return nil, fmt.Errorf("opening segment %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	// A store has a file per segment: idle ones give back their file
	// descriptors and page caches.
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// segments returns the segments, oldest first. The slice is never
// modified; changes replace it.
func (s *Store) segments() []*segment {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	return s.segs
}

func (s *Store) setSegments(f func([]*segment) []*segment) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	s.segs = f(slices.Clone(s.segs))
}

// segmentOf returns the segment that holds seq, or nil.
func segmentOf(segs []*segment, seq int64) *segment {
	i, found := slices.BinarySearchFunc(segs, seq, func(g *segment, seq int64) int { return cmp.Compare(g.lo, seq) })
	if !found {
		i--
	}
	if i < 0 {
		return nil
	}
	return segs[i]
}

// loadSegments reads the catalog at Open: it opens every segment's
// readers, reconciles the open segment with the keys, attaches it to the
// writer (creating one if there is none), removes files the catalog does
// not list, and starts sealing the segments a crash or a Close left
// unsealed.
func (s *Store) loadSegments(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating segment directory: %w", err)
	}
	main := &segment{lo: 0, db: s.r}
	main.sealed.Store(true)
	var minTS, maxTS, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(ts), max(ts), max(seq) FROM events`).Scan(&minTS, &maxTS, &hi); err != nil {
		return fmt.Errorf("reading the main table's bounds: %w", err)
	}
	setBounds(main, minTS, maxTS)
	main.hi.Store(hi.Int64)
	// s.segs grows as files open, so a failure closes what opened.
	s.segs = []*segment{main}
	s.nextSeq = hi.Int64 + 1

	type row struct {
		lo, hi       int64
		file, state  string
		minTS, maxTS sql.NullInt64
	}
	rs, err := s.w.QueryContext(ctx, `SELECT lo, hi, file, state, min_ts, max_ts FROM event_segments ORDER BY lo`)
	if err != nil {
		return fmt.Errorf("reading the segment catalog: %w", err)
	}
	var cat []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.lo, &r.hi, &r.file, &r.state, &r.minTS, &r.maxTS); err != nil {
			rs.Close()
			return fmt.Errorf("reading the segment catalog: %w", err)
		}
		cat = append(cat, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("reading the segment catalog: %w", err)
	}
	listed := map[string]bool{}
	for i := range cat {
		r := &cat[i]
		if filepath.Base(r.file) != r.file || !strings.HasSuffix(r.file, ".db") {
			return fmt.Errorf("segment catalog: bad file name %q", r.file)
		}
		path := filepath.Join(s.dir, r.file)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("segment %s is in the catalog but cannot be read: %w", r.file, err)
		}
		listed[r.file] = true
		db, err := openSegmentReaders(path)
		if err != nil {
			return err
		}
		g := &segment{lo: r.lo, file: path, db: db}
		g.hi.Store(r.hi)
		s.segs = append(s.segs, g)
		s.nextSeq = max(s.nextSeq, r.hi+1, r.lo)
		if r.state == stateSealed && r.minTS.Valid {
			g.sealed.Store(true)
			setBounds(g, r.minTS, r.maxTS)
			continue
		}
		if err := db.QueryRowContext(ctx, `SELECT min(ts), max(ts) FROM events`).Scan(&minTS, &maxTS); err != nil {
			return fmt.Errorf("reading segment %s: %w", r.file, err)
		}
		setBounds(g, minTS, maxTS)
		if r.state == stateOpen && i == len(cat)-1 {
			s.cur = g
		}
	}
	if err := s.removeStrays(listed); err != nil {
		return err
	}
	if s.cur == nil {
		if err := s.startSegment(ctx, nil); err != nil {
			return err
		}
	} else {
		if err := s.attachCur(ctx); err != nil {
			return err
		}
		if err := s.reconcile(ctx); err != nil {
			return err
		}
	}
	if u := s.unsealed(); len(u) > 0 {
		s.startSeal(u...)
	}
	return nil
}

func setBounds(g *segment, minTS, maxTS sql.NullInt64) {
	if minTS.Valid {
		g.minTS.Store(minTS.Int64)
		g.maxTS.Store(maxTS.Int64)
	} else {
		g.minTS.Store(math.MaxInt64)
		g.maxTS.Store(math.MinInt64)
	}
}

// removeStrays deletes files in the segment directory that the catalog
// does not list: a segment created by a roll that crashed before its
// catalog entry committed, or dropped by retention that crashed before
// it removed the file.
func (s *Store) removeStrays(listed map[string]bool) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("reading segment directory: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		base := strings.TrimSuffix(strings.TrimSuffix(name, "-wal"), "-shm")
		if !strings.HasSuffix(base, ".db") || listed[base] {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("removing stray segment file: %w", err)
		}
		s.log.Info("removed segment file not in the catalog", "file", name)
	}
	return nil
}

// attachCur attaches the open segment to the writer's connection as cur.
func (s *Store) attachCur(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `ATTACH DATABASE ?1 AS cur`, s.cur.file); err != nil {
		return fmt.Errorf("attaching segment %s: %w", filepath.Base(s.cur.file), err)
	}
	for _, p := range []string{"cur.synchronous = NORMAL", "cur.cache_size = -131072", "cur.wal_autocheckpoint = 16384"} {
		if _, err := s.w.ExecContext(ctx, "PRAGMA "+p); err != nil {
			return fmt.Errorf("attaching segment %s: %w", filepath.Base(s.cur.file), err)
		}
	}
	s.curRows = 0
	var hi sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT count(*), max(seq) FROM cur.events`).Scan(&s.curRows, &hi); err != nil {
		return fmt.Errorf("reading segment %s: %w", filepath.Base(s.cur.file), err)
	}
	if hi.Valid {
		s.nextSeq = max(s.nextSeq, hi.Int64+1)
	}
	return nil
}

// reconcile makes the keys agree with the open segment after a crash
// between the commits of the main file and the segment: keys whose rows
// were not committed are deleted (the batch was never acknowledged, and a
// redelivery must be stored), and rows without keys get them.
func (s *Store) reconcile(ctx context.Context) error {
	var rowsHi sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT max(seq) FROM cur.events`).Scan(&rowsHi); err != nil {
		return fmt.Errorf("reconciling segment keys: %w", err)
	}
	have := s.cur.lo - 1
	if rowsHi.Valid {
		have = rowsHi.Int64
	}
	keysHi := s.cur.hi.Load()
	if have == keysHi {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reconciling segment keys: %w", err)
	}
	defer tx.Rollback()
	if keysHi > have {
		// Keys of rows that were not committed; seqs above the open
		// segment's rows belong to no other segment.
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_keys WHERE seq > ?1`, have); err != nil {
			return fmt.Errorf("reconciling segment keys: %w", err)
		}
	} else if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO event_keys (idkey, seq) SELECT idkey, seq FROM cur.events WHERE seq > ?1`, keysHi); err != nil {
		return fmt.Errorf("reconciling segment keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE event_segments SET hi = ?1 WHERE lo = ?2`, have, s.cur.lo); err != nil {
		return fmt.Errorf("reconciling segment keys: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reconciling segment keys: %w", err)
	}
	s.log.Info("reconciled segment keys after an interrupted commit", "segment", filepath.Base(s.cur.file), "keys_hi", keysHi, "rows_hi", have)
	s.cur.hi.Store(have)
	return nil
}

// startSegment creates a new open segment starting at the next seq and
// attaches it to the writer; old, when not nil, is the segment it
// replaces, which goes to the sealer. The caller holds wmu.
func (s *Store) startSegment(ctx context.Context, old *segment) error {
	lo := max(s.nextSeq, 1)
	name := segmentName(lo)
	path := filepath.Join(s.dir, name)
	if err := createSegmentFile(ctx, path); err != nil {
		return err
	}
	db, err := openSegmentReaders(path)
	if err != nil {
		removeSegmentFile(path)
		return err
	}
	g := &segment{lo: lo, file: path, db: db}
	setBounds(g, sql.NullInt64{}, sql.NullInt64{})
	g.hi.Store(lo - 1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err == nil {
		if old != nil {
			_, err = tx.ExecContext(ctx, `UPDATE event_segments SET state = ?1 WHERE lo = ?2`, stateSealing, old.lo)
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO event_segments (lo, file, state, hi) VALUES (?1, ?2, ?3, ?4)`, lo, name, stateOpen, lo-1)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
	}
	if err != nil {
		db.Close()
		removeSegmentFile(path)
		return fmt.Errorf("starting segment %s: %w", name, err)
	}
	if old != nil {
		if _, err := s.w.ExecContext(ctx, `DETACH DATABASE cur`); err != nil {
			return fmt.Errorf("detaching segment %s: %w", filepath.Base(old.file), err)
		}
	}
	s.cur = g
	s.setSegments(func(segs []*segment) []*segment { return append(segs, g) })
	if err := s.attachCur(ctx); err != nil {
		return err
	}
	if old != nil {
		// With the segment just closed, any whose seal failed (a full
		// disk, say) is tried again.
		s.startSeal(s.unsealed()...)
	}
	return nil
}

// unsealed returns the segment files, other than the open one, that are
// not sealed.
func (s *Store) unsealed() []*segment {
	var out []*segment
	for _, g := range s.segments() {
		if g.lo != 0 && g != s.cur && !g.sealed.Load() {
			out = append(out, g)
		}
	}
	return out
}

// roll seals the open segment and starts the next. At most one seal runs
// at a time: a writer that outpaces the sealer waits here, which keeps
// the unindexed rows a search must scan bounded. The caller holds wmu.
func (s *Store) roll(ctx context.Context) error {
	select {
	case <-s.sealDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.startSegment(ctx, s.cur)
}

// startSeal seals segs one after the other in a goroutine.
func (s *Store) startSeal(segs ...*segment) {
	done := make(chan struct{})
	s.sealDone = done
	go func() {
		defer close(done)
		for _, g := range segs {
			if err := s.seal(s.sealCtx, g); err != nil {
				if s.sealCtx.Err() == nil {
					s.sealFailures.Add(1)
					s.log.Error("sealing segment failed; it is retried when the store opens", "segment", filepath.Base(g.file), "err", err)
				}
				return
			}
		}
	}()
}

// seal builds a full segment's indexes on a connection of its own and
// records it sealed. Building is idempotent (IF NOT EXISTS), so a seal
// that a crash or Close interrupted is simply run again.
func (s *Store) seal(ctx context.Context, g *segment) error {
	start := time.Now()
	if sealFault != nil {
		if err := sealFault(g); err != nil {
			return err
		}
	}
	db, err := sql.Open("sqlite", dsn(g.file, "busy_timeout(10000)", "synchronous(normal)", "cache_size(-131072)", "temp_store(memory)"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range segmentIndexes {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	var rows int64
	var minTS, maxTS, hi sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT count(*), min(ts), max(ts), max(seq) FROM events`).Scan(&rows, &minTS, &maxTS, &hi); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	if !minTS.Valid {
		// An empty segment still gets bounds, so the catalog can tell
		// it sealed from one whose bounds were never computed.
		minTS, maxTS = sql.NullInt64{Valid: true, Int64: math.MaxInt64}, sql.NullInt64{Valid: true, Int64: math.MinInt64}
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE event_segments SET state = ?1, rows = ?2, min_ts = ?3, max_ts = ?4 WHERE lo = ?5`,
		stateSealed, rows, minTS, maxTS, g.lo); err != nil {
		return err
	}
	g.sealed.Store(true)
	took := time.Since(start)
	s.lastSeal.Store(int64(took))
	s.log.Debug("sealed segment", "segment", filepath.Base(g.file), "rows", rows, "took", took)
	return nil
}

// SegmentStats describes the store's segment files, for monitoring.
type SegmentStats struct {
	Files int // segment files, the open one included
	// Unsealed counts full segments whose indexes are not built yet:
	// normally 0 or 1 (being sealed). More means sealing falls behind or
	// fails, and searches scan those segments.
	Unsealed     int
	SealFailures uint64        // seals that failed since Open
	LastSeal     time.Duration // how long the last seal took
}

// SegmentStats returns the current SegmentStats.
func (s *Store) SegmentStats() SegmentStats {
	st := SegmentStats{SealFailures: s.sealFailures.Load(), LastSeal: time.Duration(s.lastSeal.Load())}
	for _, g := range s.segments() {
		if g.lo == 0 {
			continue
		}
		st.Files++
		if !g.sealed.Load() {
			st.Unsealed++
		}
	}
	st.Unsealed = max(st.Unsealed-1, 0) // the open segment
	return st
}

// sealFault, when set (by tests), can make a seal fail before it starts.
var sealFault func(*segment) error

// waitSeal waits for the running seal, if any.
func (s *Store) waitSeal(ctx context.Context) error {
	s.wmu.Lock()
	done := s.sealDone
	s.wmu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idAt returns the id of the row seq, or "" if there is none, inside the
// writer's transaction tx.
func (s *Store) idAt(ctx context.Context, tx *sql.Tx, seq int64) (string, error) {
	g := segmentOf(s.segments(), seq)
	var id string
	var err error
	switch {
	case g == nil:
		return "", nil
	case g.lo == 0:
		err = tx.QueryRowContext(ctx, `SELECT id FROM main.events WHERE seq = ?1`, seq).Scan(&id)
	case g == s.cur:
		err = tx.QueryRowContext(ctx, `SELECT id FROM cur.events WHERE seq = ?1`, seq).Scan(&id)
	default:
		err = g.use(func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT id FROM events WHERE seq = ?1`, seq).Scan(&id)
		})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// dropSegment deletes a sealed segment: its keys and catalog entry, then
// its file. It returns how many rows it held. The caller holds wmu.
func (s *Store) dropSegment(ctx context.Context, g *segment) (int64, error) {
	detach, err := s.attachGone(ctx, g)
	if err != nil {
		return 0, fmt.Errorf("dropping segment %s: %w", filepath.Base(g.file), err)
	}
	n, err := func() (int64, error) {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM gone.events`).Scan(&n); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_keys WHERE idkey IN (SELECT idkey FROM gone.events) AND seq >= ?1 AND seq <= ?2`, g.lo, g.hi.Load()); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_segments WHERE lo = ?1`, g.lo); err != nil {
			return 0, err
		}
		return n, tx.Commit()
	}()
	if err := errors.Join(err, detach()); err != nil {
		return 0, fmt.Errorf("dropping segment %s: %w", filepath.Base(g.file), err)
	}
	s.setSegments(func(segs []*segment) []*segment {
		return slices.DeleteFunc(segs, func(x *segment) bool { return x == g })
	})
	g.mu.Lock()
	g.dropped = true
	cerr := g.db.Close()
	g.mu.Unlock()
	s.total.Add(-n)
	if err := removeSegmentFile(g.file); err != nil {
		cerr = errors.Join(cerr, err)
	}
	if cerr != nil {
		// The catalog no longer lists it: Open removes what is left.
		s.log.Warn("removing a dropped segment's file failed", "segment", filepath.Base(g.file), "err", cerr)
	}
	return n, nil
}

// attachGone attaches sealed segment g to the writer's connection as
// gone, for retention, and returns the function that detaches it. The
// caller holds wmu.
func (s *Store) attachGone(ctx context.Context, g *segment) (detach func() error, err error) {
	if _, err := s.w.ExecContext(ctx, `ATTACH DATABASE ?1 AS gone`, g.file); err != nil {
		return nil, err
	}
	return func() error {
		_, err := s.w.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE gone`)
		return err
	}, nil
}

// deleteRows deletes the rows of segment g chosen by pick (a bounded
// SELECT of seqs from the segment's events table, whose name pick gets as
// its argument) with their keys, in one transaction. The caller holds
// wmu. It returns how many rows it deleted.
func (s *Store) deleteRows(ctx context.Context, g *segment, pick func(table string) string, args ...any) (int64, error) {
	schema := "main"
	switch {
	case g.lo == 0:
	case g == s.cur:
		schema = "cur"
	default:
		schema = "gone"
		detach, err := s.attachGone(ctx, g)
		if err != nil {
			return 0, err
		}
		defer detach()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	table := schema + ".events"
	rs, err := tx.QueryContext(ctx, `DELETE FROM `+table+` WHERE seq IN (`+pick(table)+`) RETURNING idkey, seq`, args...)
	if err != nil {
		return 0, err
	}
	var gone [][2]int64
	for rs.Next() {
		var k [2]int64
		if err := rs.Scan(&k[0], &k[1]); err != nil {
			rs.Close()
			return 0, err
		}
		gone = append(gone, k)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	if len(gone) > 0 {
		st, err := tx.PrepareContext(ctx, `DELETE FROM event_keys WHERE idkey = ?1 AND seq = ?2`)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		for _, k := range gone {
			if _, err := st.ExecContext(ctx, k[0], k[1]); err != nil {
				return 0, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA `+schema+`.incremental_vacuum`); err != nil {
		return 0, err
	}
	n := int64(len(gone))
	s.total.Add(-n)
	return n, nil
}
