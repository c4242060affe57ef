// Package postgres is the scale-out event store on PostgreSQL through pgx:
// a table partitioned by day on @timestamp (or a TimescaleDB hypertable when
// the extension can be created at first start), pg_trgm for substring
// search on message when the extension exists, batched idempotent inserts,
// and retention by dropping whole partitions. It implements store.Store.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// Store is the PostgreSQL event store. Create it with Open.
type Store struct {
	pool        *pgxpool.Pool
	opts        *store.Options
	log         *slog.Logger
	partitioned bool // native partitions (false: TimescaleDB hypertable)

	partMu sync.Mutex
	parts  map[int64]bool // day (Unix seconds of UTC midnight) -> partition exists

	estMu    sync.Mutex
	estAt    time.Time
	estBase  int64
	estDelta atomic.Int64
	closed   atomic.Bool
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
)

// Tuning constants.
const (
	// batchRows bounds one INSERT: one round trip carries this many rows
	// as arrays.
	batchRows = 5000
	// daysAhead is how many future daily partitions Open and Maintain
	// create, so ingest at midnight never waits on DDL.
	daysAhead = 3
	// estimateTTL is how long the row-count estimate behind the time-range
	// guard is trusted before it is read again from the catalog.
	estimateTTL = time.Minute
	// migrationLock is the advisory lock key that serializes schema
	// changes across instances starting at once.
	migrationLock = 0x6d6370736f63 // "mcpsoc"
)

// Open connects to PostgreSQL (a pgx connection string or URL), brings the
// schema up to date and creates the partitions around today. opts may be
// nil.
func Open(ctx context.Context, dsn string, opts *store.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres connection string: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := &Store{
		pool:  pool,
		opts:  opts,
		log:   store.Logger(opts).With("component", "store", "store", "postgres"),
		parts: map[int64]bool{},
	}
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connecting to postgres: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	var kind string
	if err := s.pool.QueryRow(ctx, `SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass('events')`).Scan(&kind); err != nil {
		return fmt.Errorf("inspecting events table: %w", err)
	}
	s.partitioned = kind == "p"
	if err := s.ensureTrigram(ctx); err != nil {
		return err
	}
	if err := s.Maintain(ctx); err != nil {
		return err
	}
	return nil
}

// migrate applies the embedded migrations under an advisory lock. Version 1
// has two forms: the hypertable one is chosen when TimescaleDB can be
// created on a database that has no schema yet.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("taking migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var applied []int
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	applied, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(applied, m.Version) {
			continue
		}
		if m.Version == 1 && s.timescaleUsable(ctx, conn) {
			b, err := fs.ReadFile(migrationFS, "migrations/timescale/0001_events.sql")
			if err != nil {
				return err
			}
			m.SQL, m.Name = string(b), "events_hypertable"
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("applying migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("recording migration %d: %w", m.Version, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("committing migration %d: %w", m.Version, err)
		}
		s.log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	return nil
}

// timescaleUsable reports whether the TimescaleDB extension is installed on
// the server and can be created in this database (it must also be in
// shared_preload_libraries, so availability alone is not enough).
func (s *Store) timescaleUsable(ctx context.Context, conn *pgxpool.Conn) bool {
	var avail bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&avail); err != nil || !avail {
		s.log.Info("timescaledb not available; using native daily partitions")
		return false
	}
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb`); err != nil {
		s.log.Warn("timescaledb is installed but cannot be created; using native daily partitions", "error", err)
		return false
	}
	return true
}

// ensureTrigram creates the pg_trgm index on message when the extension
// exists. It is not a numbered migration because it depends on the server:
// installing pg_trgm later and restarting adds the index.
func (s *Store) ensureTrigram(ctx context.Context) error {
	var avail bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&avail); err != nil {
		return fmt.Errorf("looking for pg_trgm: %w", err)
	}
	if !avail {
		s.log.Warn("pg_trgm not available; free-text search scans message without an index")
		return nil
	}
	if _, err := s.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
		s.log.Warn("cannot create pg_trgm; free-text search scans message without an index", "error", err)
		return nil
	}
	if _, err := s.pool.Exec(ctx, `CREATE INDEX IF NOT EXISTS events_message_trgm ON events USING gin (message gin_trgm_ops)`); err != nil {
		return fmt.Errorf("creating trigram index: %w", err)
	}
	return nil
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func partitionName(day time.Time) string { return "events_p" + day.Format("20060102") }

// ensurePartitions creates the daily partitions for days that do not have
// one yet. DDL takes no bind parameters: the name and bounds are formatted
// from time.Time values, never from input text.
func (s *Store) ensurePartitions(ctx context.Context, days []time.Time) error {
	if !s.partitioned {
		return nil
	}
	s.partMu.Lock()
	defer s.partMu.Unlock()
	for _, d := range days {
		if s.parts[d.Unix()] {
			continue
		}
		name := pgx.Identifier{partitionName(d)}.Sanitize()
		ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
			name, d.Format(time.RFC3339), d.AddDate(0, 0, 1).Format(time.RFC3339))
		// Another instance may create the same partition concurrently:
		// serialize on an advisory lock for that day.
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(migrationLock&0x7fffffff), int32(d.Unix()/86400)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, ddl)
			return err
		})
		if err != nil {
			return fmt.Errorf("creating partition %s: %w", partitionName(d), err)
		}
		s.parts[d.Unix()] = true
	}
	return nil
}

// strPtr returns a text column value: nil for absent, and text
// PostgreSQL accepts (no NUL, valid UTF-8; both become U+FFFD).
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	s = pgText(s)
	return &s
}

func pgText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// pgJSON rewrites the JSON escape \u0000, which jsonb refuses, as \ufffd.
// Parsers keep NUL bytes of the input in event.original; on PostgreSQL
// they are stored as U+FFFD.
func pgJSON(b []byte) string {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
				out = append(out, `\ufffd`...)
				i += 5
				continue
			}
			out = append(out, b[i], b[i+1])
			i++
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func ipPtr(a netip.Addr) *string {
	if !a.IsValid() {
		return nil
	}
	s := a.String()
	return &s
}

func intPtr(n int) *int32 {
	if n == 0 {
		return nil
	}
	v := int32(n)
	return &v
}

const insertSQL = `INSERT INTO events (id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
SELECT u.id, u.ts, u.kind, u.dataset, u.module, u.action, u.outcome, u.severity,
	u.src_ip::inet, u.src_port, u.dst_ip::inet, u.dst_port, u.host_name, u.user_name, u.rule_id, u.message, u.data::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
	$9::text[], $10::integer[], $11::text[], $12::integer[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])
	AS u(id, ts, kind, dataset, module, action, outcome, severity, src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
ON CONFLICT DO NOTHING`

// Append implements store.Store: one INSERT ... SELECT FROM unnest(arrays)
// per batch of batchRows events, so a batch costs one round trip.
func (s *Store) Append(ctx context.Context, events []*event.Event) (int, error) {
	return s.appendBatches(ctx, len(events), func(i int) store.Row { return store.MakeRow(events[i], nil) })
}

// AppendEncoded implements store.Store.
func (s *Store) AppendEncoded(ctx context.Context, events []store.Encoded) (int, error) {
	return s.appendBatches(ctx, len(events), func(i int) store.Row { return store.MakeRowEncoded(events[i]) })
}

// appendBatches writes the rows row(0..count-1), batchRows per statement.
func (s *Store) appendBatches(ctx context.Context, count int, row func(i int) store.Row) (int, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	total := 0
	for start := 0; start < count; start += batchRows {
		n := min(start+batchRows, count) - start
		var (
			ids, data                                                     = make([]string, n), make([]string, n)
			ts                                                            = make([]time.Time, n)
			kind, dataset, module, action, outcome, host, user, rule, msg = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
			srcIP, dstIP                                                  = make([]*string, n), make([]*string, n)
			srcPort, dstPort                                              = make([]*int32, n), make([]*int32, n)
			sev                                                           = make([]*int64, n)
			days                                                          []time.Time
		)
		for i := range n {
			r := row(start + i)
			ids[i], ts[i], data[i] = r.ID, r.Time, pgJSON(r.Data)
			kind[i], dataset[i], module[i] = strPtr(r.Kind), strPtr(r.Dataset), strPtr(r.Module)
			action[i], outcome[i] = strPtr(r.Action), strPtr(r.Outcome)
			host[i], user[i], rule[i], msg[i] = strPtr(r.HostName), strPtr(r.UserName), strPtr(r.RuleID), strPtr(r.Message)
			srcIP[i], dstIP[i] = ipPtr(r.SrcIP), ipPtr(r.DstIP)
			srcPort[i], dstPort[i] = intPtr(r.SrcPort), intPtr(r.DstPort)
			if r.Severity != 0 {
				v := r.Severity
				sev[i] = &v
			}
			if d := dayOf(r.Time); !slices.ContainsFunc(days, d.Equal) {
				days = append(days, d)
			}
		}
		if err := s.ensurePartitions(ctx, days); err != nil {
			return total, fmt.Errorf("appending events: %w", err)
		}
		tag, err := s.pool.Exec(ctx, insertSQL, ids, ts, kind, dataset, module, action, outcome, sev,
			srcIP, srcPort, dstIP, dstPort, host, user, rule, msg, data)
		if isNoPartition(err) {
			// Another instance's retention dropped a partition this one
			// had cached: forget the cache, recreate, retry once.
			s.partMu.Lock()
			clear(s.parts)
			s.partMu.Unlock()
			if err = s.ensurePartitions(ctx, days); err == nil {
				tag, err = s.pool.Exec(ctx, insertSQL, ids, ts, kind, dataset, module, action, outcome, sev,
					srcIP, srcPort, dstIP, dstPort, host, user, rule, msg, data)
			}
		}
		if err != nil {
			return total, fmt.Errorf("appending events: %w", err)
		}
		k := int(tag.RowsAffected())
		total += k
		s.estDelta.Add(int64(k))
	}
	return total, nil
}

// isNoPartition reports PostgreSQL's "no partition of relation found for
// row" (SQLSTATE 23514 raised by tuple routing).
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

// estimate returns the approximate number of stored events for the
// time-range guard: the planner's row count (refreshed every estimateTTL)
// plus what this instance appended and deleted since.
func (s *Store) estimate(ctx context.Context) (int64, error) {
	s.estMu.Lock()
	defer s.estMu.Unlock()
	if time.Since(s.estAt) < estimateTTL {
		return s.estBase + s.estDelta.Load(), nil
	}
	q := `SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c
		JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'events'::regclass`
	if !s.partitioned {
		q = `SELECT approximate_row_count('events')::bigint`
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("estimating event count: %w", err)
	}
	// A table never analyzed reports 0: keep counting on our own then.
	if n > 0 {
		s.estBase = n
		s.estDelta.Store(0)
	}
	s.estAt = time.Now()
	return s.estBase + s.estDelta.Load(), nil
}

func (s *Store) where(req store.SearchRequest, withCursor bool) (string, []any, error) {
	c, err := query.Compile(req.Query, query.Postgres, nil)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	b.WriteString(c.Where)
	args := c.Args
	add := func(cond string, v any) {
		args = append(args, v)
		b.WriteString(" AND ")
		b.WriteString(strings.ReplaceAll(cond, "$", "$"+strconv.Itoa(len(args))))
	}
	if !req.From.IsZero() {
		add("ts >= $", req.From.UTC().Truncate(time.Microsecond))
	}
	if !req.To.IsZero() {
		add("ts < $", req.To.UTC().Truncate(time.Microsecond))
	}
	if withCursor && req.Cursor != "" {
		cur, err := store.DecodeCursor(req.Cursor)
		if err != nil {
			return "", nil, err
		}
		args = append(args, time.UnixMicro(cur.Micros).UTC(), cur.ID)
		fmt.Fprintf(&b, " AND (ts, id) < ($%d, $%d)", len(args)-1, len(args))
	}
	return b.String(), args, nil
}

func (s *Store) guard(ctx context.Context, req store.SearchRequest) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if o := s.opts; o != nil && o.TimeRangeRequiredAbove < 0 {
		return nil
	}
	n, err := s.estimate(ctx)
	if err != nil {
		return err
	}
	return store.CheckTimeRange(s.opts, req, n)
}

// Search implements store.Store.
func (s *Store) Search(ctx context.Context, req store.SearchRequest) (store.Page, error) {
	if err := s.guard(ctx, req); err != nil {
		return store.Page{}, err
	}
	where, args, err := s.where(req, true)
	if err != nil {
		return store.Page{}, err
	}
	limit := req.EffectiveLimit()
	args = append(args, limit+1)
	q := fmt.Sprintf("SELECT id, ts, data::text FROM events WHERE %s ORDER BY ts DESC, id DESC LIMIT $%d", where, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("searching events: %w", err)
	}
	defer rows.Close()
	var page store.Page
	var last store.Cursor
	for rows.Next() {
		var id, data string
		var ts time.Time
		if err := rows.Scan(&id, &ts, &data); err != nil {
			return store.Page{}, fmt.Errorf("searching events: %w", err)
		}
		if len(page.Records) == limit {
			page.Next = last.Encode()
			break
		}
		rec, err := store.DecodeRecord(id, []byte(data))
		if err != nil {
			return store.Page{}, err
		}
		page.Records = append(page.Records, rec)
		last = store.Cursor{Micros: ts.UnixMicro(), ID: id}
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
	var data string
	err := s.pool.QueryRow(ctx, `SELECT data::text FROM events WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, fmt.Errorf("getting event %s: %w", id, err)
	}
	return store.DecodeRecord(id, []byte(data))
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context, req store.SearchRequest) (int64, error) {
	if err := s.guard(ctx, req); err != nil {
		return 0, err
	}
	where, args, err := s.where(req, false)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting events: %w", err)
	}
	return n, nil
}

type partition struct {
	name string
	day  time.Time
	size int64
}

// partitions lists the daily partitions, oldest first, with their sizes.
func (s *Store) partitions(ctx context.Context) ([]partition, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	var out []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.name, &p.size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing partitions: %w", err)
		}
		d, err := time.Parse("20060102", strings.TrimPrefix(p.name, "events_p"))
		if err != nil || !strings.HasPrefix(p.name, "events_p") {
			continue // not one of ours: left alone, rows still deleted by DELETE
		}
		p.day = d
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	slices.SortFunc(out, func(a, b partition) int { return a.day.Compare(b.day) })
	return out, nil
}

// dropPartition drops one daily partition and returns how many events it
// held.
func (s *Store) dropPartition(ctx context.Context, p partition) (int64, error) {
	var n int64
	name := pgx.Identifier{p.name}.Sanitize()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DROP TABLE "+name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dropping partition %s: %w", p.name, err)
	}
	s.partMu.Lock()
	delete(s.parts, p.day.Unix())
	s.partMu.Unlock()
	s.estDelta.Add(-n)
	return n, nil
}

// DeleteBefore implements store.Store: partitions that end at or before
// cutoff are dropped whole; the rest is a DELETE that partition pruning
// confines to the partition holding cutoff.
func (s *Store) DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	cutoff = cutoff.UTC().Truncate(time.Microsecond)
	var total int64
	if s.partitioned {
		parts, err := s.partitions(ctx)
		if err != nil {
			return 0, err
		}
		for _, p := range parts {
			if p.day.AddDate(0, 0, 1).After(cutoff) {
				break
			}
			n, err := s.dropPartition(ctx, p)
			total += n
			if err != nil {
				return total, err
			}
		}
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE ts < $1`, cutoff)
	if err != nil {
		return total, fmt.Errorf("deleting events before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	s.estDelta.Add(-tag.RowsAffected())
	return total + tag.RowsAffected(), nil
}

// Size implements store.Store: the total size of the partitions (or
// hypertable chunks), indexes and TOAST included.
func (s *Store) Size(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	q := `SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits WHERE inhparent = 'events'::regclass`
	if !s.partitioned {
		q = `SELECT hypertable_size('events')::bigint`
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("measuring store size: %w", err)
	}
	return n, nil
}

// TrimToSize implements store.Store. Space comes back by dropping whole
// daily partitions, oldest first, never the one holding the newest event.
// When that is not enough, it deletes the estimated excess of the oldest
// events once: PostgreSQL reuses the space of deleted rows after
// autovacuum but does not shrink the files, so Size can stay above the
// budget until then.
func (s *Store) TrimToSize(ctx context.Context, maxBytes int64) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	size, err := s.Size(ctx)
	if err != nil || size <= maxBytes {
		return 0, err
	}
	var total int64
	if s.partitioned {
		var newest *time.Time
		if err := s.pool.QueryRow(ctx, `SELECT max(ts) FROM events`).Scan(&newest); err != nil {
			return 0, fmt.Errorf("trimming store: %w", err)
		}
		parts, err := s.partitions(ctx)
		if err != nil {
			return 0, err
		}
		for _, p := range parts {
			if size <= maxBytes || newest == nil || p.day.AddDate(0, 0, 1).After(*newest) {
				break
			}
			n, err := s.dropPartition(ctx, p)
			total += n
			if err != nil {
				return total, err
			}
			size -= p.size
		}
		if size <= maxBytes {
			return total, nil
		}
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n == 0 {
		return total, err
	}
	excess := (size - maxBytes) / max(size/n, 1)
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE (ts, id) IN (SELECT ts, id FROM events ORDER BY ts, id LIMIT $1)`, max(excess, 1))
	if err != nil {
		return total, fmt.Errorf("trimming store: %w", err)
	}
	s.estDelta.Add(-tag.RowsAffected())
	return total + tag.RowsAffected(), nil
}

// Maintain implements store.Maintainer: it creates the partitions from
// yesterday to daysAhead days ahead.
func (s *Store) Maintain(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	today := dayOf(time.Now())
	var days []time.Time
	for i := -1; i <= daysAhead; i++ {
		days = append(days, today.AddDate(0, 0, i))
	}
	return s.ensurePartitions(ctx, days)
}

// Close implements store.Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return store.ErrClosed
	}
	s.pool.Close()
	return nil
}
