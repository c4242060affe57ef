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

// makeV3 writes a database at schema version 3 (before the integer key)
// holding evs, the way that version's Append wrote them.
func makeV3(t *testing.T, path string, rows []store.Row) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "journal_mode(wal)", "auto_vacuum(incremental)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	old := &Store{w: db, log: slog.New(slog.DiscardHandler)}
	if err := old.migrateTo(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		args := appendRowArgs(nil, r, 0)[1:] // the old statement has no key
		if _, err := db.ExecContext(t.Context(), oldInsert, args...); err != nil {
			t.Fatal(err)
		}
	}
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

// Ids whose keys collide are both stored, in different keys of the slot,
// and each is found, deduplicated and deleted as itself.
func TestKeyCollision(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, _ := rowsOf(t, 3, 21)
	victim := rows[0]
	// Occupy the victim's first key, and its third, with other events.
	for i, slot := range []int64{0, 2} {
		other := rows[i+1]
		args := appendRowArgs(nil, other, idKey(victim.ID)+slot)
		if _, err := s.w.ExecContext(t.Context(), insertSQL(1), args...); err != nil {
			t.Fatal(err)
		}
	}
	evs := storetest.Events(3, 21)
	if n, err := s.Append(t.Context(), evs[:1]); err != nil || n != 1 {
		t.Fatalf("Append of the colliding event stored %d, %v", n, err)
	}
	var key int64
	if err := s.r.QueryRowContext(t.Context(), `SELECT idkey FROM events WHERE id = ?1`, victim.ID).Scan(&key); err != nil || key != idKey(victim.ID)+1 {
		t.Fatalf("colliding event got key %d (%v), want the slot's second key", key-idKey(victim.ID), err)
	}
	rec, err := s.Get(t.Context(), victim.ID)
	if err != nil || rec.ID != victim.ID {
		t.Fatalf("Get(%s) = %s, %v", victim.ID, rec.ID, err)
	}
	if n, err := s.Append(t.Context(), evs[:1]); err != nil || n != 0 {
		t.Fatalf("re-Append stored %d, %v; want 0", n, err)
	}
	// A full slot is an error, not a silent drop: fill the rest of the
	// victim's slot, move the whole slot onto another event's key and
	// append that event.
	for slot := int64(3); slot < idKeySlots; slot++ {
		r := rowsOf2(t, slot)
		if _, err := s.w.ExecContext(t.Context(), insertSQL(1), appendRowArgs(nil, r, idKey(victim.ID)+slot)...); err != nil {
			t.Fatal(err)
		}
	}
	extra := storetest.Events(1, 99)
	extraKey := idKey(store.MakeRow(extra[0], nil).ID)
	if _, err := s.w.ExecContext(t.Context(), `UPDATE events SET idkey = idkey - ?1 + ?2 WHERE idkey BETWEEN ?1 AND ?1 + 7`, idKey(victim.ID), extraKey); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Append(t.Context(), extra); err == nil {
		t.Fatalf("Append into a full slot stored %d without an error", n)
	}
}

// rowsOf2 returns a distinct row for filling slot k.
func rowsOf2(t *testing.T, k int64) store.Row {
	rows, _ := rowsOf(t, 1, uint64(1000+k))
	return rows[0]
}

// The Go half of migration 0004 places rows the copy skipped because of a
// key collision.
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
	// Apply 0004's SQL, then make one copied row take the key of another
	// row and drop that row from the copy, as if the copy had skipped it.
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
	if _, err := tx.ExecContext(t.Context(), `DELETE FROM events_v4 WHERE id = ?1`, rows[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), `UPDATE events_v4 SET idkey = ?1 WHERE id = ?2`, idKey(rows[0].ID), rows[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := placeMigratedCollisions(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	var key int64
	if err := tx.QueryRowContext(t.Context(), `SELECT idkey FROM events_v4 WHERE id = ?1`, rows[0].ID).Scan(&key); err != nil || key != idKey(rows[0].ID)+1 {
		t.Fatalf("skipped row got key offset %d (%v), want 1", key-idKey(rows[0].ID), err)
	}
	var n int
	if err := tx.QueryRowContext(t.Context(), `SELECT count(*) FROM events_v4`).Scan(&n); err != nil || n != len(ids) {
		t.Fatalf("events_v4 holds %d rows (%v), want %d", n, err, len(ids))
	}
}
