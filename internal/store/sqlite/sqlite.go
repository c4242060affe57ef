// Package sqlite is the embedded event store: one SQLite file through the
// pure-Go modernc.org/sqlite driver, in WAL mode, with one writer
// connection (SQLite has a single writer anyway) and a pool of readers. It
// implements store.Store; it does not parse queries (package query compiles
// them) or schedule retention.
package sqlite

import (
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
	w, r   *sql.DB
	insert *sql.Stmt // one row
	multi  *sql.Stmt // rowsPerInsert rows
	opts   *store.Options
	log    *slog.Logger
	salt   []byte // the idkey salt; secret, never logged
	// displaced holds the base keys of rows in the key overflow.
	displaced displacedSet
	total     atomic.Int64 // events stored, for the time-range guard
	closed    atomic.Bool
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

// insertSQL returns an INSERT of rows rows with anonymous placeholders.
// Numbered ones (?NNN) make SQLite look every parameter up by name in a
// linear list, which is quadratic in the statement's width: with 64 rows it
// was the store's largest CPU cost.
func insertSQL(rows int) string {
	var b strings.Builder
	// OR IGNORE rather than ON CONFLICT DO NOTHING: no row can fail any
	// other constraint, and with no way to abort a multi-row statement
	// SQLite skips its statement journal (a copy of every page the
	// statement touches). appendRows checks skipped rows for key
	// collisions.
	b.WriteString(`INSERT OR IGNORE INTO events (idkey, id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data) VALUES `)
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 1; c <= insertCols; c++ {
			if c > 1 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
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

// Open opens (creating if needed) the store in the SQLite file at path and
// brings its schema up to date. opts may be nil.
func Open(ctx context.Context, path string, opts *store.Options) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening sqlite store: path %q must not contain '?' or '#'", path)
	}
	// Page caches: 64 MiB per reader; 256 MiB for the writer, whose
	// inserts land at random places in the address and name indexes.
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
	s := &Store{w: w, opts: opts, log: store.Logger(opts).With("component", "store", "store", "sqlite")}
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
	if s.insert, err = w.PrepareContext(ctx, insertSQL(1)); err == nil {
		s.multi, err = w.PrepareContext(ctx, insertSQL(rowsPerInsert))
	}
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("preparing insert: %w", err)
	}
	var n int64
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("counting events: %w", err)
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

func (s *Store) closeDBs() {
	if s.insert != nil {
		s.insert.Close()
	}
	if s.multi != nil {
		s.multi.Close()
	}
	if s.r != nil {
		s.r.Close()
	}
	s.w.Close()
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

// appendRows writes rows in one transaction; ready[i], when not nil, holds
// row i's insert arguments with its base key.
func (s *Store) appendRows(ctx context.Context, rows []store.Row, ready []*[insertCols]any) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("appending events: %w", err)
	}
	defer tx.Rollback()
	// Rows this batch adds get seq values above the current maximum; the
	// FTS index is fed from them in one statement at the end.
	var before int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&before); err != nil {
		return 0, fmt.Errorf("appending events: %w", err)
	}
	one, multi := tx.StmtContext(ctx, s.insert), tx.StmtContext(ctx, s.multi)
	kr := newKeyer(s.salt)
	keys := make([]int64, len(rows))
	for i := range rows {
		if ready[i] != nil {
			keys[i] = ready[i][0].(int64)
		} else {
			keys[i] = kr.key(rows[i].ID)
		}
	}
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
	n := 0
	args := make([]any, 0, rowsPerInsert*insertCols)
	for p := 0; p < len(fast); {
		st, k := one, 1
		if len(fast)-p >= rowsPerInsert {
			st, k = multi, rowsPerInsert
		}
		args = args[:0]
		for _, i := range fast[p : p+k] {
			if ready[i] != nil {
				args = append(args, ready[i][:]...)
			} else {
				args = appendRowArgs(args, rows[i], keys[i])
			}
		}
		// Statements are not given ctx: with a context that can end,
		// the driver starts a goroutine and a progress callback for
		// every statement. The transaction still ends with ctx.
		res, err := st.ExecContext(context.WithoutCancel(ctx), args...)
		if err != nil {
			return 0, fmt.Errorf("appending events: %w", err)
		}
		added, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("appending events: %w", err)
		}
		n += int(added)
		if int(added) < k {
			// Some rows' keys were taken: find out which and why.
			slow = append(slow, fast[p:p+k]...)
		}
		p += k
	}
	if len(slow) > 0 {
		k, err := s.placeSlow(ctx, tx, one, rows, keys, slow)
		n += k
		if err != nil {
			return 0, err
		}
	}
	// Firewall and flow events mostly have no message: then there is
	// nothing to index, and the feed's scan of the batch's rows is skipped.
	if n > 0 && slices.ContainsFunc(rows, func(r store.Row) bool { return r.Message != "" }) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events_fts (rowid, message)
			SELECT seq, message FROM events WHERE seq > ?1 AND message IS NOT NULL`, before); err != nil {
			return 0, fmt.Errorf("indexing messages: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing events: %w", err)
	}
	return n, nil
}

// appendRowArgs appends the insert arguments of r, whose key is key.
func appendRowArgs(args []any, r store.Row, key int64) []any {
	return append(args, key, r.ID, r.Time.UnixMicro(), nullString(r.Kind), nullString(r.Dataset),
		nullString(r.Module), nullString(r.Action), nullString(r.Outcome), nullInt(r.Severity),
		nullIP(r.SrcIP), nullInt(int64(r.SrcPort)), nullIP(r.DstIP), nullInt(int64(r.DstPort)),
		nullString(r.HostName), nullString(r.UserName), nullString(r.RuleID), nullString(r.Message), r.Data)
}

// where compiles req into a condition and its arguments, cursor included.
func (s *Store) where(ctx context.Context, req store.SearchRequest, withCursor bool) (string, []any, error) {
	var opts query.CompileOptions
	if (!req.From.IsZero() || !req.To.IsZero()) && req.Query.FreeText() {
		// The seq range of the time window (an index-only scan of
		// events_ts, whose entries end in seq) bounds the FTS lookups.
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if !req.From.IsZero() {
			lo = req.From.UTC().Truncate(time.Microsecond).UnixMicro()
		}
		if !req.To.IsZero() {
			hi = req.To.UTC().Truncate(time.Microsecond).UnixMicro()
		}
		var minSeq, maxSeq sql.NullInt64
		if err := s.r.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM events INDEXED BY events_ts WHERE ts >= ?1 AND ts < ?2`, lo, hi).Scan(&minSeq, &maxSeq); err != nil {
			return "", nil, fmt.Errorf("bounding full-text search: %w", err)
		}
		opts.FTSRowids = &[2]int64{1, 0} // empty window: nothing matches
		if minSeq.Valid {
			opts.FTSRowids = &[2]int64{minSeq.Int64, maxSeq.Int64}
		}
	}
	c, err := query.Compile(req.Query, query.SQLite, &opts)
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
	if !req.From.IsZero() {
		add("ts >= ?", req.From.UTC().Truncate(time.Microsecond).UnixMicro())
	}
	if !req.To.IsZero() {
		add("ts < ?", req.To.UTC().Truncate(time.Microsecond).UnixMicro())
	}
	if withCursor && req.Cursor != "" {
		cur, err := store.DecodeCursor(req.Cursor)
		if err != nil {
			return "", nil, err
		}
		args = append(args, cur.Micros, cur.ID)
		fmt.Fprintf(&b, " AND (ts, id) < (?%d, ?%d)", len(args)-1, len(args))
	}
	return b.String(), args, nil
}

// Search implements store.Store.
func (s *Store) Search(ctx context.Context, req store.SearchRequest) (store.Page, error) {
	if s.closed.Load() {
		return store.Page{}, store.ErrClosed
	}
	if err := store.CheckTimeRange(s.opts, req, s.total.Load()); err != nil {
		return store.Page{}, err
	}
	where, args, err := s.where(ctx, req, true)
	if err != nil {
		return store.Page{}, err
	}
	limit := req.EffectiveLimit()
	args = append(args, limit+1)
	q := fmt.Sprintf("SELECT id, ts, data FROM events WHERE %s ORDER BY ts DESC, id DESC LIMIT ?%d", where, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("searching events: %w", err)
	}
	defer rows.Close()
	var page store.Page
	var last store.Cursor
	for rows.Next() {
		var id string
		var ts int64
		var data []byte
		if err := rows.Scan(&id, &ts, &data); err != nil {
			return store.Page{}, fmt.Errorf("searching events: %w", err)
		}
		if len(page.Records) == limit {
			page.Next = last.Encode()
			break
		}
		rec, err := decodeRecord(id, data)
		if err != nil {
			return store.Page{}, err
		}
		page.Records = append(page.Records, rec)
		last = store.Cursor{Micros: ts, ID: id}
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("searching events: %w", err)
	}
	return page, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (store.Record, error) {
	if s.closed.Load() {
		return store.Record{}, store.ErrClosed
	}
	if !store.ValidID(id) {
		return store.Record{}, store.ErrNotFound
	}
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM events WHERE idkey = ?1 AND id = ?2
		UNION ALL
		SELECT e.data FROM events_overflow o JOIN events e ON e.idkey = o.idkey AND e.id = o.id WHERE o.id = ?2
		LIMIT 1`, newKeyer(s.salt).key(id), id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
	}
	return decodeRecord(id, data)
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

// Count implements store.Store.
func (s *Store) Count(ctx context.Context, req store.SearchRequest) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	if err := store.CheckTimeRange(s.opts, req, s.total.Load()); err != nil {
		return 0, err
	}
	where, args, err := s.where(ctx, req, false)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting events: %w", err)
	}
	return n, nil
}

// deleteChunk runs one bounded delete, so the write lock is released
// between chunks and a cancelled retention run stops promptly.
func (s *Store) deleteChunk(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	s.total.Add(-n)
	return n, err
}

// DeleteBefore implements store.Store.
func (s *Store) DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	us := cutoff.UTC().Truncate(time.Microsecond).UnixMicro()
	var total int64
	for {
		n, err := s.deleteChunk(ctx, `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ?1 LIMIT ?2)`, us, batchRows)
		total += n
		if err != nil {
			return total, fmt.Errorf("deleting events before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
		}
		if n < batchRows {
			break
		}
	}
	if total > 0 {
		if _, err := s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return total, fmt.Errorf("vacuuming: %w", err)
		}
	}
	return total, nil
}

// Size implements store.Store: the bytes of the database pages in use
// (the file minus its free list).
func (s *Store) Size(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var n int64
	err := s.w.QueryRowContext(ctx, `SELECT (p.page_count - f.freelist_count) * z.page_size
		FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("measuring store size: %w", err)
	}
	return n, nil
}

// TrimToSize implements store.Store. It deletes the oldest events in steps
// sized from the average bytes per event and returns freed pages to the
// file system (incremental vacuum) until Size is within maxBytes. Pages
// of secondary indexes are freed only when they empty, so the last step
// can delete somewhat more than the exact excess.
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
		if size <= maxBytes {
			return total, nil
		}
		var n int64
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			return total, fmt.Errorf("trimming store: %w", err)
		}
		if n == 0 {
			return total, nil
		}
		per := max(size/n, 1)
		step := min(max((size-maxBytes)/per, 1, n/100), batchRows)
		k, err := s.deleteChunk(ctx, `DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY ts, id LIMIT ?1)`, step)
		total += k
		if err != nil {
			return total, fmt.Errorf("trimming store: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return total, fmt.Errorf("vacuuming: %w", err)
		}
	}
}

// Maintain implements store.Maintainer: a passive WAL checkpoint (so the
// WAL file does not grow under constant reads) and PRAGMA optimize.
func (s *Store) Maintain(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		return fmt.Errorf("checkpointing wal: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA optimize`); err != nil {
		return fmt.Errorf("optimizing: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return store.ErrClosed
	}
	s.insert.Close()
	s.multi.Close()
	err := errors.Join(s.r.Close(), s.w.Close())
	if err != nil {
		return fmt.Errorf("closing sqlite store: %w", err)
	}
	return nil
}
