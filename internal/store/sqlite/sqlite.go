// Package sqlite is the embedded event store: one SQLite file through the
// pure-Go modernc.org/sqlite driver, in WAL mode, with one writer
// connection (SQLite has a single writer anyway) and a pool of readers. It
// implements store.Store; it does not parse queries (package query compiles
// them) or schedule retention.
package sqlite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedrv "modernc.org/sqlite"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() {
	// mcpsoc_in_cidr(addr_text, cidr_text) backs CIDR terms on JSON
	// fields; PostgreSQL has a function of the same name and meaning.
	// Registration is per driver and must happen before connections open.
	err := sqlitedrv.RegisterDeterministicScalarFunction("mcpsoc_in_cidr", 2, func(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
		a, ok1 := args[0].(string)
		p, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return int64(0), nil
		}
		addr, err := netip.ParseAddr(a)
		if err != nil || addr.Zone() != "" {
			return int64(0), nil
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil || !pfx.Contains(addr) {
			return int64(0), nil
		}
		return int64(1), nil
	})
	if err != nil {
		panic(err)
	}
	// mcpsoc_event_json(data) is the JSON text of a data value in any of
	// the formats of rowdata.go; compiled queries on fields without a
	// hot column read data through it (see query.SQLiteData).
	err = sqlitedrv.RegisterDeterministicScalarFunction("mcpsoc_event_json", 1, func(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
		return eventJSON(args[0])
	})
	if err != nil {
		panic(err)
	}
	// mcpsoc_id_key(id) is idKeyV4 for migration 0004.
	err = sqlitedrv.RegisterDeterministicScalarFunction("mcpsoc_id_key", 1, func(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
		id, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("mcpsoc_id_key: id is %T, not text", args[0])
		}
		return idKeyV4(id), nil
	})
	if err != nil {
		panic(err)
	}
	// mcpsoc_salted_id_key(salt, id) is an id's base key under salt, for
	// migration 0006.
	err = sqlitedrv.RegisterDeterministicScalarFunction("mcpsoc_salted_id_key", 2, func(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
		salt, ok1 := args[0].([]byte)
		id, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("mcpsoc_salted_id_key: arguments are %T, %T, not a blob and text", args[0], args[1])
		}
		return newKeyer(salt).key(id), nil
	})
	if err != nil {
		panic(err)
	}
}

// idKeyV4 is the key migration 0004 gave: the first 60 bits of SHA-256
// over the id, times 8. Migration 0006 replaces it with keyer's salted
// keys (see idkey.go).
func idKeyV4(id string) int64 {
	sum := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint64(sum[:8])>>4) * 8
}

// Store is the SQLite event store. Create it with Open.
type Store struct {
	w, r *sql.DB
	// Statements of the writer's connection: keys, and rows of the open
	// segment, one and rowsPerInsert at a time.
	keyOne, keyMulti, rowOne, rowMulti *sql.Stmt
	opts                               *store.Options
	log                                *slog.Logger
	salt                               []byte // the idkey salt; secret, never logged
	// displaced holds the base keys of rows in the key overflow.
	displaced displacedSet
	total     atomic.Int64 // events stored, for the time-range guard
	closed    atomic.Bool

	dir     string // segment files
	segRows int64  // rows after which the open segment is sealed
	segMu   sync.Mutex
	segs    []*segment // oldest first, the main table first; see segments

	// wmu serializes the writer: appends, rolls and retention, which
	// attach files to the writer's connection.
	wmu      sync.Mutex
	cur      *segment      // the open segment
	curRows  int64         // rows in cur
	nextSeq  int64         // the seq of the next row
	sealDone chan struct{} // closed when the running seal ends
	// sealCtx ends when the store closes, stopping a seal midway.
	sealCtx    context.Context
	sealCancel context.CancelFunc
	// For SegmentStats.
	sealFailures atomic.Uint64
	lastSeal     atomic.Int64 // nanoseconds
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
	_ store.Preparer   = (*Store)(nil)
)

// batchRows bounds one write transaction, so readers' WAL snapshots and the
// write lock stay short even when a caller appends a huge batch.
const batchRows = 5000

// rowsPerInsert rows go in one INSERT statement: fewer statements means
// less per-statement work in the driver and the VM (17 columns x 64 rows is
// far below SQLite's 32766 bound parameters).
const rowsPerInsert = 64

const insertCols = 18

// insertSQL returns an INSERT of rows rows into the open segment, each
// with its seq and then the insertCols arguments of appendRowArgs, with
// anonymous placeholders.
// Numbered ones (?NNN) make SQLite look every parameter up by name in a
// linear list, which is quadratic in the statement's width: with 64 rows it
// was the store's largest CPU cost.
func insertSQL(rows int) string {
	var b strings.Builder
	// OR IGNORE although no row can fail a constraint (seqs are new):
	// with no way to abort a multi-row statement SQLite skips its
	// statement journal (a copy of every page the statement touches).
	b.WriteString(`INSERT OR IGNORE INTO cur.events (seq, idkey, id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data) VALUES `)
	values(&b, rows, insertCols+1)
	return b.String()
}

// keySQL returns an INSERT of rows (idkey, seq) pairs into event_keys.
// OR IGNORE: a key that is taken is skipped, and appendRows finds out
// which.
func keySQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO event_keys (idkey, seq) VALUES `)
	values(&b, rows, 2)
	return b.String()
}

// values writes rows tuples of cols anonymous placeholders.
func values(b *strings.Builder, rows, cols int) {
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 1; c <= cols; c++ {
			if c > 1 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
}

// pageSize is the page size of a new database file. 16 KiB instead of
// SQLite's 4 KiB: an append writes each changed page to the WAL and again
// at the checkpoint, one system call each, and with 4 KiB pages those calls
// were a fifth of an append's CPU time. Existing files keep their page
// size.
var pageSize = 16384

func dsn(path string, pragmas ...string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	return path + "?" + v.Encode()
}

// Open opens (creating if needed) the store in the SQLite file at path,
// with its segment files in the directory beside it (see segment.go), and
// brings its schema up to date. opts may be nil.
func Open(ctx context.Context, path string, opts *store.Options) (*Store, error) {
	rows := int64(segmentRows)
	if opts != nil && opts.SegmentRows > 0 {
		rows = opts.SegmentRows
	}
	return openStore(ctx, path, opts, rows)
}

// openStore is Open with segments of segRows rows.
func openStore(ctx context.Context, path string, opts *store.Options, segRows int64) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening sqlite store: path %q must not contain '?' or '#'", path)
	}
	// Page caches: 64 MiB per reader; 256 MiB for the writer.
	common := []string{"busy_timeout(10000)", "foreign_keys(on)", "temp_store(memory)"}
	// auto_vacuum must be set before the first table exists; it lets
	// TrimToSize give freed pages back to the file system.
	if pageSize > 0 {
		if err := setPageSize(ctx, path, pageSize); err != nil {
			return nil, err
		}
	}
	w, err := sql.Open("sqlite", dsn(path, append([]string{"auto_vacuum(incremental)", "journal_mode(wal)", "synchronous(normal)", "cache_size(-262144)", "wal_autocheckpoint(16384)"}, common...)...)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s := &Store{w: w, opts: opts, log: store.Logger(opts).With("component", "store", "store", "sqlite"),
		dir: segmentDir(path), segRows: max(segRows, 1)}
	s.sealCtx, s.sealCancel = context.WithCancel(context.Background())
	noSeal := make(chan struct{})
	close(noSeal)
	s.sealDone = noSeal
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if s.salt, err = loadSalt(ctx, w); err == nil {
		err = s.loadDisplaced(ctx)
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, append([]string{"query_only(1)", "cache_size(-65536)"}, common...)...))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite store %s: %w", path, err)
	}
	readers := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.r = r
	if err := s.loadSegments(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("opening sqlite store %s: %w", path, err)
	}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&s.keyOne, keySQL(1)}, {&s.keyMulti, keySQL(rowsPerInsert)}, {&s.rowOne, insertSQL(1)}, {&s.rowMulti, insertSQL(rowsPerInsert)}} {
		if *p.st, err = w.PrepareContext(ctx, p.sql); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("preparing insert: %w", err)
		}
	}
	var n int64
	for _, g := range s.segments() {
		var k int64
		if err := g.use(func(db *sql.DB) error { return db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&k) }); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("counting events: %w", err)
		}
		n += k
	}
	s.total.Store(n)
	return s, nil
}

// setPageSize gives a database file that has no pages yet the page size
// n. The driver applies DSN pragmas in alphabetical order, so journal_mode
// would otherwise fix the page size before page_size runs.
func setPageSize(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("opening sqlite store %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var pages int64
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return fmt.Errorf("opening sqlite store %s: %w", path, err)
	}
	if pages > 0 {
		return nil
	}
	// page_size first: setting auto_vacuum fixes the page size too.
	for _, p := range []string{"page_size = " + strconv.Itoa(n), "auto_vacuum = incremental", "journal_mode = wal"} {
		if _, err := db.ExecContext(ctx, "PRAGMA "+p); err != nil {
			return fmt.Errorf("creating sqlite store %s: %w", path, err)
		}
	}
	// The first table writes page 1, which fixes the page size.
	if _, err := db.ExecContext(ctx, schemaMigrationsTable); err != nil {
		return fmt.Errorf("setting page size: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error {
	s.sealCancel()
	<-s.sealDone
	var errs []error
	for _, st := range []*sql.Stmt{s.keyOne, s.keyMulti, s.rowOne, s.rowMulti} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, g := range s.segs {
		if g.lo != 0 {
			errs = append(errs, g.db.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

func (s *Store) migrate(ctx context.Context) error { return s.migrateTo(ctx, math.MaxInt) }

// migrateTo applies the migrations up to version last.
func (s *Store) migrateTo(ctx context.Context, last int) error {
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, schemaMigrationsTable); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		if m.Version > last {
			break
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", m.Version, err)
		}
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?1`, m.Version).Scan(&done); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if done > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("applying migration %d (%s): %w", m.Version, m.Name, err)
		}
		if hook := migrateHooks[m.Version]; hook != nil {
			if err := hook(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("applying migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)`,
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return fmt.Errorf("recording migration %d: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("committing migration %d: %w", m.Version, err)
		}
		s.log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

const schemaMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`

// migrateHooks are Go steps of migrations, run after the migration's SQL
// in its transaction.
var migrateHooks = map[int]func(context.Context, *sql.Tx) error{
	4: placeMigratedCollisions,
	6: createSalt,
}

// placeMigratedCollisions finishes 0004's copy: a row the copy skipped
// because another id had taken its key is copied under the key -seq,
// which no other row holds. Migration 0006 rekeys every row anyway and
// puts such rows in the key overflow. Normally there is none and this
// costs two counts.
func placeMigratedCollisions(ctx context.Context, tx *sql.Tx) error {
	var old, copied int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM events_v4)`).Scan(&old, &copied); err != nil {
		return err
	}
	if old == copied {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events_v4 (seq, idkey, id, ts, kind, dataset, module, action, outcome, severity,
		src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
		SELECT seq, -seq, id, ts, kind, dataset, module, action, outcome, severity,
		src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data
		FROM events e WHERE NOT EXISTS (SELECT 1 FROM events_v4 n WHERE n.seq = e.seq)`)
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullIP(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return query.IPBytes(a)
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, events []*event.Event) (int, error) {
	// The events' JSON goes into shared chunks rather than one growing
	// slice per event: fewer allocations and less for the collector.
	var arena []byte
	var p packer
	return s.appendBatches(ctx, len(events), func(i int) (store.Row, *[insertCols]any) {
		if cap(arena)-len(arena) < 4096 {
			arena = make([]byte, 0, 256<<10)
		}
		r := store.MakeRow(events[i], arena[len(arena):])
		if len(r.Data) <= cap(arena)-len(arena) && cap(r.Data) == cap(arena)-len(arena) {
			arena = arena[:len(arena)+len(r.Data)]
		}
		r.Data = p.pack(r.Data)
		return r, nil
	})
}

// AppendEncoded implements store.Store.
func (s *Store) AppendEncoded(ctx context.Context, events []store.Encoded) (int, error) {
	var p packer
	return s.appendBatches(ctx, len(events), func(i int) (store.Row, *[insertCols]any) {
		if pr, ok := events[i].Prepared.(*prepared); ok {
			return pr.row, &pr.args
		}
		r := store.MakeRowEncoded(events[i])
		r.Data = p.pack(r.Data)
		return r, nil
	})
}

// prepared is an event made ready for the writer by PrepareEncoded: its
// row, data compressed, and its insert arguments with the base key.
type prepared struct {
	row  store.Row
	args [insertCols]any
}

// PrepareEncoded implements store.Preparer: it does on the caller's
// goroutine what AppendEncoded would otherwise do on the writer, which
// is the pipeline's critical path: the row's columns, the compression of
// the event's JSON into the stored format, the key and the insert
// arguments.
func (s *Store) PrepareEncoded(events []store.Encoded) {
	var p packer
	kr := newKeyer(s.salt)
	ready := make([]prepared, len(events))
	for i := range events {
		pr := &ready[i]
		pr.row = store.MakeRowEncoded(events[i])
		pr.row.Data = p.pack(pr.row.Data)
		appendRowArgs(pr.args[:0], pr.row, kr.key(pr.row.ID))
		events[i].Prepared = pr
	}
}

// packer writes rows' data in the stored format (see rowdata.go), into
// shared chunks like Append's JSON.
type packer struct{ arena []byte }

func (p *packer) pack(js []byte) []byte {
	if need := encodedCap(len(js)); cap(p.arena)-len(p.arena) < need {
		p.arena = make([]byte, 0, max(256<<10, need))
	}
	out := encodeData(p.arena[len(p.arena):], js)
	if len(out) > 0 && out[0] == dataFormat {
		p.arena = p.arena[:len(p.arena)+len(out)]
	}
	return out
}

// appendBatches writes the rows row(0..n-1) in transactions of at most
// batchRows rows. row also returns the row's insert arguments when
// PrepareEncoded made them (nil otherwise).
func (s *Store) appendBatches(ctx context.Context, n int, row func(i int) (store.Row, *[insertCols]any)) (int, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	total := 0
	rows := make([]store.Row, 0, min(n, batchRows))
	args := make([]*[insertCols]any, 0, min(n, batchRows))
	for start := 0; start < n; start += batchRows {
		rows, args = rows[:0], args[:0]
		for i := start; i < min(start+batchRows, n); i++ {
			r, a := row(i)
			rows, args = append(rows, r), append(args, a)
		}
		k, err := s.appendRows(ctx, rows, args)
		total += k
		s.total.Add(int64(k))
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// appendRows writes rows; ready[i], when not nil, holds row i's insert
// arguments with its base key. Rows go in one transaction, or one per
// segment when the open segment fills up, which then rolls to the next.
func (s *Store) appendRows(ctx context.Context, rows []store.Row, ready []*[insertCols]any) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	total := 0
	for len(rows) > 0 {
		k := int(min(int64(len(rows)), max(s.segRows-s.curRows, 1)))
		n, err := s.appendLocked(ctx, rows[:k], ready[:k])
		total += n
		if err != nil {
			return total, err
		}
		rows, ready = rows[k:], ready[k:]
		if s.curRows < s.segRows {
			continue
		}
		if err := s.roll(ctx); err != nil && ctx.Err() == nil {
			// The rows are stored; the next append tries again.
			s.log.Error("starting a new segment failed", "err", err)
		}
	}
	return total, nil
}

func (s *Store) appendLocked(ctx context.Context, rows []store.Row, ready []*[insertCols]any) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("appending events: %w", err)
	}
	defer tx.Rollback()
	// Row i gets seq first+i; the seqs of rows not stored are never used.
	first := s.nextSeq
	kr := newKeyer(s.salt)
	keys := make([]int64, len(rows))
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range rows {
		if ready[i] != nil {
			keys[i] = ready[i][0].(int64)
		} else {
			keys[i] = kr.key(rows[i].ID)
		}
		ts := rows[i].Time.UnixMicro()
		lo, hi = min(lo, ts), max(hi, ts)
	}
	// Before the commit: a search never misses a committed row because
	// of the segment's bounds.
	s.cur.widen(lo, hi)
	// Rows whose base key is displaced skip the fast path: their id may
	// be in the overflow while the base key is free.
	fast := make([]int, 0, len(rows))
	var slow []int
	displaced := s.displaced.filter(keys)
	for i := range rows {
		if displaced != nil && displaced[i] {
			slow = append(slow, i)
		} else {
			fast = append(fast, i)
		}
	}
	// Statements are not given ctx: with a context that can end, the
	// driver starts a goroutine and a progress callback for every
	// statement. The transaction still ends with ctx.
	bg := context.WithoutCancel(ctx)
	keyOne, keyMulti := tx.StmtContext(ctx, s.keyOne), tx.StmtContext(ctx, s.keyMulti)
	rowOne, rowMulti := tx.StmtContext(ctx, s.rowOne), tx.StmtContext(ctx, s.rowMulti)
	n := 0
	last := first - 1 // the highest seq stored
	insertRows := func(st *sql.Stmt, which []int, args []any) error {
		args = args[:0]
		for _, i := range which {
			args = append(args, first+int64(i))
			if ready[i] != nil {
				args = append(args, ready[i][:]...)
			} else {
				args = appendRowArgs(args, rows[i], keys[i])
			}
		}
		if _, err := st.ExecContext(bg, args...); err != nil {
			return fmt.Errorf("appending events: %w", err)
		}
		n += len(which)
		last = max(last, first+int64(which[len(which)-1]))
		return nil
	}
	args := make([]any, 0, rowsPerInsert*(insertCols+1))
	for p := 0; p < len(fast); {
		kst, rst, k := keyOne, rowOne, 1
		if len(fast)-p >= rowsPerInsert {
			kst, rst, k = keyMulti, rowMulti, rowsPerInsert
		}
		chunk := fast[p : p+k]
		p += k
		args = args[:0]
		for _, i := range chunk {
			args = append(args, keys[i], first+int64(i))
		}
		res, err := kst.ExecContext(bg, args...)
		if err != nil {
			return 0, fmt.Errorf("appending events: %w", err)
		}
		added, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("appending events: %w", err)
		}
		if int(added) == k {
			if err := insertRows(rst, chunk, args); err != nil {
				return 0, err
			}
			continue
		}
		// Some keys were taken: store the rows whose key this statement
		// added and look into the others.
		for _, i := range chunk {
			var seq int64
			if err := tx.QueryRowContext(bg, `SELECT seq FROM event_keys WHERE idkey = ?1`, keys[i]).Scan(&seq); err != nil {
				return 0, fmt.Errorf("appending events: %w", err)
			}
			if seq != first+int64(i) {
				slow = append(slow, i)
				continue
			}
			if err := insertRows(rowOne, []int{i}, args); err != nil {
				return 0, err
			}
		}
	}
	if len(slow) > 0 {
		if err := s.placeSlow(ctx, tx, rows, keys, first, slow, func(i int, key int64) error {
			keys[i] = key
			if ready[i] != nil && key != ready[i][0].(int64) {
				ready[i] = nil // its arguments hold the base key
			}
			return insertRows(rowOne, []int{i}, args)
		}); err != nil {
			return 0, err
		}
	}
	if n > 0 {
		// Firewall and flow events mostly have no message: then there is
		// nothing to index, and the feed's scan of the batch's rows is
		// skipped.
		if slices.ContainsFunc(rows, func(r store.Row) bool { return r.Message != "" }) {
			if _, err := tx.ExecContext(bg, `INSERT INTO cur.events_fts (rowid, message)
				SELECT seq, message FROM cur.events WHERE seq >= ?1 AND message IS NOT NULL`, first); err != nil {
				return 0, fmt.Errorf("indexing messages: %w", err)
			}
		}
		// In the main file, with the keys: Open compares it with the
		// segment's rows (see reconcile).
		if _, err := tx.ExecContext(bg, `UPDATE event_segments SET hi = ?1 WHERE lo = ?2`, last, s.cur.lo); err != nil {
			return 0, fmt.Errorf("appending events: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing events: %w", err)
	}
	s.nextSeq = first + int64(len(rows))
	s.curRows += int64(n)
	s.cur.hi.Store(last)
	return n, nil
}

// appendRowArgs appends the insert arguments of r, whose key is key.
func appendRowArgs(args []any, r store.Row, key int64) []any {
	return append(args, key, r.ID, r.Time.UnixMicro(), nullString(r.Kind), nullString(r.Dataset),
		nullString(r.Module), nullString(r.Action), nullString(r.Outcome), nullInt(r.Severity),
		nullIP(r.SrcIP), nullInt(int64(r.SrcPort)), nullIP(r.DstIP), nullInt(int64(r.DstPort)),
		nullString(r.HostName), nullString(r.UserName), nullString(r.RuleID), nullString(r.Message), r.Data)
}

// plan is a search or count made ready for any segment: its time range,
// its cursor, and its condition compiled once. Only a full-text term on a
// sealed segment needs a condition of its own (see where).
type plan struct {
	req    store.SearchRequest
	lo, hi int64         // the time range in µs, [lo, hi)
	cursor *store.Cursor // nil without one
	cond   string        // the condition for any segment, cursor included
	args   []any
}

// newPlan compiles req; withCursor applies req.Cursor (Search) rather than
// ignoring it (Count). A query the store cannot run, or a cursor it did
// not issue, fails here, whichever segments the store has.
func newPlan(req store.SearchRequest, withCursor bool) (*plan, error) {
	p := &plan{req: req, lo: math.MinInt64, hi: math.MaxInt64}
	if !req.From.IsZero() {
		p.lo = req.From.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	if !req.To.IsZero() {
		p.hi = req.To.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	if withCursor && req.Cursor != "" {
		cur, err := store.DecodeCursor(req.Cursor)
		if err != nil {
			return nil, err
		}
		p.cursor = &cur
	}
	var err error
	p.cond, p.args, err = p.compile(nil)
	return p, err
}

// compile compiles the plan's query with opts and appends the time range
// and the cursor.
func (p *plan) compile(opts *query.CompileOptions) (string, []any, error) {
	c, err := query.Compile(p.req.Query, query.SQLite, opts)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	b.WriteString(c.Where)
	args := c.Args
	add := func(cond string, v any) {
		args = append(args, v)
		b.WriteString(" AND ")
		b.WriteString(strings.ReplaceAll(cond, "?", "?"+strconv.Itoa(len(args))))
	}
	if !p.req.From.IsZero() {
		add("ts >= ?", p.lo)
	}
	if !p.req.To.IsZero() {
		add("ts < ?", p.hi)
	}
	if p.cursor != nil {
		args = append(args, p.cursor.Micros, p.cursor.ID)
		fmt.Fprintf(&b, " AND (ts, id) < (?%d, ?%d)", len(args)-1, len(args))
	}
	return b.String(), args, nil
}

// where returns the condition and arguments for segment g, read through
// db: the plan's, except for a full-text term in a time window on a
// sealed segment, where the seq range of the window (an index-only scan
// of events_ts, whose entries end in seq) bounds the FTS lookups.
func (p *plan) where(ctx context.Context, g *segment, db *sql.DB) (string, []any, error) {
	if (p.req.From.IsZero() && p.req.To.IsZero()) || !p.req.Query.FreeText() || !g.sealed.Load() {
		return p.cond, p.args, nil
	}
	var minSeq, maxSeq sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM events INDEXED BY events_ts WHERE ts >= ?1 AND ts < ?2`, p.lo, p.hi).Scan(&minSeq, &maxSeq); err != nil {
		return "", nil, fmt.Errorf("bounding full-text search: %w", err)
	}
	opts := query.CompileOptions{FTSRowids: &[2]int64{1, 0}} // empty window: nothing matches
	if minSeq.Valid {
		opts.FTSRowids = &[2]int64{minSeq.Int64, maxSeq.Int64}
	}
	return p.compile(&opts)
}

// candidates returns the segments that may hold events of the plan,
// newest first.
func (s *Store) candidates(p *plan) []*segment {
	lo, hi := p.lo, p.hi
	if p.cursor != nil {
		hi = min(hi, p.cursor.Micros+1)
	}
	var out []*segment
	for _, g := range s.segments() {
		if g.overlaps(lo, hi) {
			out = append(out, g)
		}
	}
	slices.SortStableFunc(out, func(a, b *segment) int { return cmp.Compare(b.maxTS.Load(), a.maxTS.Load()) })
	return out
}

// hit is a search result before decoding.
type hit struct {
	ts   int64
	id   string
	data []byte
}

// newer orders hits as pages list them: by ts, then id, descending.
func newer(a, b hit) int {
	if c := cmp.Compare(b.ts, a.ts); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

// Search implements store.Store. Each segment that may hold matches
// returns its first limit+1; the merge keeps the first limit+1 of all.
// Segments are visited newest first and the visit stops at the first
// whose newest event is older than every hit kept.
func (s *Store) Search(ctx context.Context, req store.SearchRequest) (store.Page, error) {
	if s.closed.Load() {
		return store.Page{}, store.ErrClosed
	}
	if err := store.CheckTimeRange(s.opts, req, s.total.Load()); err != nil {
		return store.Page{}, err
	}
	p, err := newPlan(req, true)
	if err != nil {
		return store.Page{}, err
	}
	limit := req.EffectiveLimit()
	var hits []hit
	for _, g := range s.candidates(p) {
		if len(hits) > limit && g.maxTS.Load() < hits[limit].ts {
			break
		}
		var found []hit
		err := g.use(func(db *sql.DB) error {
			var err error
			found, err = searchSegment(ctx, p, g, db, limit+1)
			return err
		})
		if err != nil {
			return store.Page{}, err
		}
		if len(found) == 0 {
			continue
		}
		hits = append(hits, found...)
		slices.SortFunc(hits, newer)
		hits = hits[:min(len(hits), limit+1)]
	}
	var page store.Page
	for i, h := range hits {
		if i == limit {
			last := hits[limit-1]
			page.Next = store.Cursor{Micros: last.ts, ID: last.id}.Encode()
			break
		}
		rec, err := decodeRecord(h.id, h.data)
		if err != nil {
			return store.Page{}, err
		}
		page.Records = append(page.Records, rec)
	}
	return page, nil
}

// searchSegment returns the first limit matches of p in segment g.
func searchSegment(ctx context.Context, p *plan, g *segment, db *sql.DB, limit int) ([]hit, error) {
	cond, args, err := p.where(ctx, g, db)
	if err != nil {
		return nil, err
	}
	args = append(slices.Clip(args), limit)
	q := fmt.Sprintf("SELECT id, ts, data FROM events WHERE %s ORDER BY ts DESC, id DESC LIMIT ?%d", cond, len(args))
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("searching events: %w", err)
	}
	defer rows.Close()
	var out []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.ts, &h.data); err != nil {
			return nil, fmt.Errorf("searching events: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("searching events: %w", err)
	}
	return out, nil
}

// Get implements store.Store: the key (or the overflow) gives the seq,
// and the seq the segment.
func (s *Store) Get(ctx context.Context, id string) (store.Record, error) {
	if s.closed.Load() {
		return store.Record{}, store.ErrClosed
	}
	if !store.ValidID(id) {
		return store.Record{}, store.ErrNotFound
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq FROM event_keys WHERE idkey = ?1
		UNION ALL
		SELECT k.seq FROM events_overflow o JOIN event_keys k ON k.idkey = o.idkey WHERE o.id = ?2`, newKeyer(s.salt).key(id), id)
	if err != nil {
		return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
	}
	segs := s.segments()
	for _, seq := range seqs {
		g := segmentOf(segs, seq)
		if g == nil {
			continue
		}
		var have string
		var data []byte
		err := g.use(func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT id, data FROM events WHERE seq = ?1`, seq).Scan(&have, &data)
		})
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
		}
		if have == id {
			return decodeRecord(id, data)
		}
	}
	return store.Record{}, store.ErrNotFound
}

// decodeRecord is store.DecodeRecord for a stored data value in any of
// the formats of rowdata.go.
func decodeRecord(id string, data []byte) (store.Record, error) {
	js, err := decodeData(data)
	if err != nil {
		return store.Record{}, fmt.Errorf("decoding stored event %s: %w", id, err)
	}
	return store.DecodeRecord(id, js)
}

// Count implements store.Store: the sum over the segments that may hold
// matches.
func (s *Store) Count(ctx context.Context, req store.SearchRequest) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	if err := store.CheckTimeRange(s.opts, req, s.total.Load()); err != nil {
		return 0, err
	}
	p, err := newPlan(req, false)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, g := range s.candidates(p) {
		err := g.use(func(db *sql.DB) error {
			cond, args, err := p.where(ctx, g, db)
			if err != nil {
				return err
			}
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+cond, args...).Scan(&n); err != nil {
				return fmt.Errorf("counting events: %w", err)
			}
			total += n
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// DeleteBefore implements store.Store. A segment whose events are all
// older than cutoff is deleted as a file; others lose their old rows.
func (s *Store) DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	us := cutoff.UTC().Truncate(time.Microsecond).UnixMicro()
	n, err := s.deleteOlder(ctx, us, `ts < ?1`, us)
	if err != nil {
		return n, fmt.Errorf("deleting events before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// deleteOlder deletes the events matching cond (a condition on ts and id
// with arguments args, true of every event before µs below and of none
// after it): whole sealed segments whose events are all before below,
// rows elsewhere.
func (s *Store) deleteOlder(ctx context.Context, below int64, cond string, args ...any) (int64, error) {
	var total int64
	for _, g := range s.segments() {
		if g.minTS.Load() > below {
			continue
		}
		if g.lo != 0 && !g.sealed.Load() && g != s.curSegment() {
			// Being sealed: its rows are deleted once it is.
			if err := s.waitSeal(ctx); err != nil {
				return total, err
			}
		}
		n, err := s.deleteFrom(ctx, g, below, cond, args...)
		total += n
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		if _, err := s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return total, fmt.Errorf("vacuuming: %w", err)
		}
	}
	return total, nil
}

// curSegment returns the open segment.
func (s *Store) curSegment() *segment {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.cur
}

// deleteFrom deletes segment g's events matching cond (see deleteOlder):
// the whole file when it is sealed and all its events are before below,
// else in chunks of batchRows, so the write lock is released between
// chunks and a cancelled retention run stops promptly.
func (s *Store) deleteFrom(ctx context.Context, g *segment, below int64, cond string, args ...any) (int64, error) {
	var total int64
	pick := func(t string) string {
		return `SELECT seq FROM ` + t + ` WHERE ` + cond + ` LIMIT ` + strconv.Itoa(batchRows)
	}
	for {
		s.wmu.Lock()
		var n int64
		var err error
		if g.lo != 0 && g != s.cur && g.sealed.Load() && g.maxTS.Load() < below {
			n, err = s.dropSegment(ctx, g)
			s.wmu.Unlock()
			return total + n, err
		}
		n, err = s.deleteRows(ctx, g, pick, args...)
		s.wmu.Unlock()
		total += n
		if err != nil || n < batchRows {
			return total, err
		}
	}
}

// Size implements store.Store: the bytes of the database pages in use
// beyond the root pages of tables and indexes (which every segment file
// has however few events it holds), summed over the files.
func (s *Store) Size(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var total int64
	for _, g := range s.segments() {
		err := g.use(func(db *sql.DB) error {
			var n int64
			err := db.QueryRowContext(ctx, `SELECT max(p.page_count - f.freelist_count - 1 - r.n, 0) * z.page_size
				FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z,
				(SELECT count(*) AS n FROM sqlite_schema WHERE rootpage > 0) r`).Scan(&n)
			total += n
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("measuring store size: %w", err)
		}
	}
	return total, nil
}

// TrimToSize implements store.Store. Each step deletes the oldest events
// (by @timestamp, then id), as many as the excess over maxBytes holds at
// the average bytes per event and at least a hundredth of them: whole
// sealed segments when all their events go, rows elsewhere. Freed pages
// go back to the file system (incremental vacuum).
func (s *Store) TrimToSize(ctx context.Context, maxBytes int64) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var total int64
	for {
		size, err := s.Size(ctx)
		if err != nil {
			return total, err
		}
		n := s.total.Load()
		if size <= maxBytes || n <= 0 {
			return total, nil
		}
		per := max(size/n, 1)
		step := max((size-maxBytes)/per, 1, n/100)
		last, ok, err := s.oldest(ctx, step)
		if err != nil {
			return total, fmt.Errorf("trimming store: %w", err)
		}
		if !ok {
			return total, nil
		}
		k, err := s.deleteOlder(ctx, last.ts, `(ts, id) <= (?1, ?2)`, last.ts, last.id)
		total += k
		if err != nil {
			return total, fmt.Errorf("trimming store: %w", err)
		}
		if k == 0 {
			return total, nil
		}
	}
}

// oldest returns the step-th oldest event (by ts, then id), or the
// newest if there are fewer; ok is false in an empty store. Segments are
// visited oldest first, and the visit stops at the first whose oldest
// event is newer than all the step kept.
func (s *Store) oldest(ctx context.Context, step int64) (hit, bool, error) {
	segs := slices.Clone(s.segments())
	slices.SortStableFunc(segs, func(a, b *segment) int { return cmp.Compare(a.minTS.Load(), b.minTS.Load()) })
	var hits []hit
	for _, g := range segs {
		if int64(len(hits)) >= step && g.minTS.Load() > hits[step-1].ts {
			break
		}
		err := g.use(func(db *sql.DB) error {
			rows, err := db.QueryContext(ctx, `SELECT ts, id FROM events ORDER BY ts, id LIMIT ?1`, step)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var h hit
				if err := rows.Scan(&h.ts, &h.id); err != nil {
					return err
				}
				hits = append(hits, h)
			}
			return rows.Err()
		})
		if err != nil {
			return hit{}, false, err
		}
		slices.SortFunc(hits, func(a, b hit) int { return newer(b, a) })
		hits = hits[:min(int64(len(hits)), step)]
	}
	if len(hits) == 0 {
		return hit{}, false, nil
	}
	return hits[len(hits)-1], true, nil
}

// Maintain implements store.Maintainer: a passive WAL checkpoint (so the
// WAL file does not grow under constant reads) and PRAGMA optimize.
func (s *Store) Maintain(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	// Under wmu: a roll detaches and attaches cur.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, schema := range []string{"main", "cur"} {
		if _, err := s.w.ExecContext(ctx, `PRAGMA `+schema+`.wal_checkpoint(PASSIVE)`); err != nil {
			return fmt.Errorf("checkpointing wal: %w", err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA optimize`); err != nil {
		return fmt.Errorf("optimizing: %w", err)
	}
	return nil
}

// Close implements store.Store. A seal under way stops; the next Open
// runs it again.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return store.ErrClosed
	}
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("closing sqlite store: %w", err)
	}
	return nil
}
