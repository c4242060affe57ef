package sqlite

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// oldInsert is how the store wrote a row before migration 0004, when the
// 32-character id was the unique key.
const oldInsert = `INSERT INTO events (id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT (id) DO NOTHING`

// v4Insert is how the store wrote a row from migration 0004 until
// segments (0007): into the main file's events table, keyed by idkey.
const v4Insert = `INSERT OR IGNORE INTO events (idkey, id, ts, kind, dataset, module, action, outcome, severity,
	src_ip, src_port, dst_ip, dst_port, host_name, user_name, rule_id, message, data)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// makeV3 writes a database at schema version 3 (before the integer key)
// holding evs, the way that version's Append wrote them.
func makeV3(t *testing.T, path string, rows []store.Row) {
	t.Helper()
	db := openVersion(t, path, 3)
	defer db.Close()
	for _, r := range rows {
		args := appendRowArgs(nil, r, 0)[1:] // the old statement has no key
		if _, err := db.ExecContext(t.Context(), oldInsert, args...); err != nil {
			t.Fatal(err)
		}
	}
	indexMessages(t, db)
}

// openVersion creates a database at path with the schema of migration
// version, as that version's store left it, on one connection.
func openVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "journal_mode(wal)", "auto_vacuum(incremental)"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	old := &Store{w: db, log: slog.New(slog.DiscardHandler)}
	if err := old.migrateTo(t.Context(), version); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db
}

// indexMessages fills the full-text index from the rows' messages, as the
// old versions' appends did.
func indexMessages(t *testing.T, db *sql.DB) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), `INSERT INTO events_fts (rowid, message) SELECT seq, message FROM events WHERE message IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
}

func rowsOf(t *testing.T, n int, seed uint64) ([]store.Row, []string) {
	evs := storetest.Events(n, seed)
	rows := make([]store.Row, len(evs))
	for i, ev := range evs {
		rows[i] = store.MakeRow(ev, nil)
	}
	return rows, storetest.Sorted(evs)
}

// A database written before 0004 migrates: every event keeps its id, can
// be fetched, found by message and by column, and is not stored twice when
// appended again.
func TestMigrateFromV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	rows, ids := rowsOf(t, 400, 11)
	makeV3(t, path, rows)

	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	var tables int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = 'events_v4'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("events_v4 left behind: %d, %v", tables, err)
	}
	if n, err := s.Count(t.Context(), store.SearchRequest{}); err != nil || n != int64(len(ids)) {
		t.Fatalf("Count after migration = %d, %v; want %d", n, err, len(ids))
	}
	for _, id := range ids {
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Fatalf("Get(%s) after migration: %v", id, err)
		}
	}
	// Full-text search still finds the old rows: seq was kept.
	fresh, err := Open(t.Context(), filepath.Join(t.TempDir(), "fresh.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Append(t.Context(), storetest.Events(400, 11)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`"failed password"`, "DENIED", "user.name:root", "source.ip:10.0.0.0/8", "NOT host.name:web-01"} {
		got := searchIDs(t, s, q)
		want := searchIDs(t, fresh, q)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%s: migrated store found %d events, a fresh one %d", q, len(got), len(want))
		}
	}
	// Appending the same events again stores nothing; new ones are stored.
	if n, err := s.Append(t.Context(), storetest.Events(400, 11)); err != nil || n != 0 {
		t.Fatalf("re-Append after migration stored %d, %v", n, err)
	}
	if n, err := s.Append(t.Context(), storetest.Events(50, 12)); err != nil || n != 50 {
		t.Fatalf("Append after migration stored %d, %v", n, err)
	}
}

func searchIDs(t *testing.T, s store.Store, q string) []string {
	t.Helper()
	pq, err := query.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	req := store.SearchRequest{Query: pq, Limit: 1000}
	p, err := s.Search(t.Context(), req)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	for _, r := range p.Records {
		ids = append(ids, r.ID)
	}
	return ids
}

// The Go half of migration 0004 copies a row the copy skipped because of
// a key collision under -seq, and 0006 then gives it its key.
func TestMigrateCollision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	rows, ids := rowsOf(t, 5, 31)
	makeV3(t, path, rows)
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Apply 0004's SQL, then drop one row from the copy, as if the copy
	// had skipped it.
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), ms[3].SQL); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := tx.QueryRowContext(t.Context(), `DELETE FROM events_v4 WHERE id = ?1 RETURNING seq`, rows[0].ID).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if err := placeMigratedCollisions(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	var key int64
	if err := tx.QueryRowContext(t.Context(), `SELECT idkey FROM events_v4 WHERE id = ?1`, rows[0].ID).Scan(&key); err != nil || key != -seq {
		t.Fatalf("skipped row got key %d (%v), want -seq = %d", key, err, -seq)
	}
	var n int
	if err := tx.QueryRowContext(t.Context(), `SELECT count(*) FROM events_v4`).Scan(&n); err != nil || n != len(ids) {
		t.Fatalf("events_v4 holds %d rows (%v), want %d", n, err, len(ids))
	}
	// The rest of the migrations give it its salted key.
	if _, err := tx.ExecContext(t.Context(), ms[4].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), ms[5].SQL); err != nil {
		t.Fatal(err)
	}
	if err := createSalt(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	salt, err := loadSalt(t.Context(), tx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRowContext(t.Context(), `SELECT idkey FROM events WHERE id = ?1`, rows[0].ID).Scan(&key); err != nil || key != newKeyer(salt).key(rows[0].ID) {
		t.Fatalf("skipped row has key %d (%v) after 0006, want its base key", key, err)
	}
}
