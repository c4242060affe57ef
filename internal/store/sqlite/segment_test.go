package sqlite

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openRows(t *testing.T, path string, rows int64) *Store {
	t.Helper()
	s, err := openStore(t.Context(), path, nil, rows)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// appendIn appends evs in batches of n.
func appendIn(t *testing.T, s *Store, evs []*event.Event, n int) int {
	t.Helper()
	stored := 0
	for i := 0; i < len(evs); i += n {
		k, err := s.Append(t.Context(), evs[i:min(i+n, len(evs))])
		if err != nil {
			t.Fatal(err)
		}
		stored += k
	}
	return stored
}

// catalog returns the catalog's states, oldest segment first.
func catalog(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), `SELECT state FROM event_segments ORDER BY lo`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

// indexCount returns how many of segmentIndexes the segment file has.
func indexCount(t *testing.T, file string) int {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'events\_%' ESCAPE '\'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Segments roll at their size and are sealed with every index; an event
// in any segment is found by id and never stored twice, also after the
// store is reopened.
func TestSegmentsRollAndDedup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openRows(t, path, 100)
	evs := storetest.Events(1050, 71)
	ids := storetest.Sorted(evs)
	if n := appendIn(t, s, evs, 64); n != len(ids) {
		t.Fatalf("stored %d, want %d", n, len(ids))
	}
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for range len(ids) / 100 {
		want = append(want, stateSealed)
	}
	want = append(want, stateOpen)
	if got := catalog(t, s); !slices.Equal(got, want) {
		t.Fatalf("catalog states %v, want %v", got, want)
	}
	for _, g := range s.segments()[1:] {
		want := len(segmentIndexes)
		if g == s.cur {
			want = 0
		}
		if n := indexCount(t, g.file); n != want {
			t.Fatalf("segment %s has %d indexes, want %d", filepath.Base(g.file), n, want)
		}
	}
	check := func(when string) {
		t.Helper()
		if n := appendIn(t, s, evs, 500); n != 0 {
			t.Fatalf("%s: re-Append stored %d", when, n)
		}
		if n := count(t, s); n != int64(len(ids)) {
			t.Fatalf("%s: Count = %d, want %d", when, n, len(ids))
		}
		for _, id := range ids {
			if rec, err := s.Get(t.Context(), id); err != nil || rec.ID != id {
				t.Fatalf("%s: Get(%s) = %s, %v", when, id, rec.ID, err)
			}
		}
	}
	check("open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openRows(t, path, 100)
	defer s.Close()
	check("reopened")
}

// A seal that a crash interrupted (catalog "sealing", indexes missing) is
// run again when the store opens, and searches answer the same before
// and after.
func TestSealResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openRows(t, path, 100)
	evs := storetest.Events(250, 72)
	appendIn(t, s, evs, 50)
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := s.segments()[1]
	before := searchIDs(t, s, "source.ip:10.0.0.0/8")
	if len(before) == 0 {
		t.Fatal("the query finds nothing; pick another")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// As if the process died while sealing the first segment.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `UPDATE event_segments SET state = 'sealing', rows = NULL, min_ts = NULL, max_ts = NULL WHERE lo = ?1`, first.lo); err != nil {
		t.Fatal(err)
	}
	db.Close()
	seg, err := sql.Open("sqlite", first.file)
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range []string{"events_src_ip_ts", "events_dst_port_ts", "events_rule_id_ts"} {
		if _, err := seg.ExecContext(t.Context(), `DROP INDEX `+ix); err != nil {
			t.Fatal(err)
		}
	}
	seg.Close()

	s = openRows(t, path, 100)
	defer s.Close()
	if got := searchIDs(t, s, "source.ip:10.0.0.0/8"); !slices.Equal(got, before) {
		t.Fatalf("while sealing again: %d results, want %d", len(got), len(before))
	}
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := indexCount(t, first.file); n != len(segmentIndexes) {
		t.Fatalf("resealed segment has %d indexes, want %d", n, len(segmentIndexes))
	}
	if got := catalog(t, s)[0]; got != stateSealed {
		t.Fatalf("resealed segment is %q in the catalog", got)
	}
	if got := searchIDs(t, s, "source.ip:10.0.0.0/8"); !slices.Equal(got, before) {
		t.Fatalf("after sealing again: %d results, want %d", len(got), len(before))
	}
}

// Open reconciles keys with the open segment's rows after a crash between
// the two files' commits, in both directions.
func TestReconcile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	evs := storetest.Events(40, 73)
	stored := appendIn(t, s, evs[:30], 30)
	salt, lo, next := s.salt, s.cur.lo, s.nextSeq
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw := func(q string, args ...any) {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(s *Store) int64 {
		t.Helper()
		var n int64
		if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM event_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The main file committed keys of ten events whose rows did not.
	k := newKeyer(salt)
	for i, ev := range evs[30:] {
		raw(`INSERT INTO event_keys (idkey, seq) VALUES (?1, ?2)`, k.key(store.MakeRow(ev, nil).ID), next+int64(i))
	}
	raw(`UPDATE event_segments SET hi = ?1 WHERE lo = ?2`, next+9, lo)
	s = openAt(t, path)
	if n := keys(s); n != int64(stored) {
		t.Fatalf("after reopening: %d keys, want %d", n, stored)
	}
	if n := appendIn(t, s, evs, 40); n != 10 {
		t.Fatalf("Append after reconciling stored %d, want the 10 unstored", n)
	}
	hi := s.cur.hi.Load()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The segment committed rows whose keys the main file did not.
	raw(`DELETE FROM event_keys WHERE seq > ?1`, hi-5)
	raw(`UPDATE event_segments SET hi = ?1 WHERE lo = ?2`, hi-5, lo)
	s = openAt(t, path)
	defer s.Close()
	if n := keys(s); n != int64(stored+10) {
		t.Fatalf("after reopening: %d keys, want %d", n, stored+10)
	}
	if n := appendIn(t, s, evs, 40); n != 0 {
		t.Fatalf("re-Append after reconciling stored %d", n)
	}
}

// Files in the segment directory that the catalog does not list (a roll
// or a drop cut short) are removed when the store opens; a listed file
// that is missing is an error, not silently lost data.
func TestSegmentFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openRows(t, path, 100)
	appendIn(t, s, storetest.Events(150, 74), 150)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dir := segmentDir(path)
	stray := filepath.Join(dir, segmentName(99999))
	if err := os.WriteFile(stray, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stray+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openRows(t, path, 100)
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray segment file still there: %v", err)
	}
	if _, err := os.Stat(stray + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("stray segment WAL still there: %v", err)
	}
	first := s.segments()[1].file
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if _, err := openStore(t.Context(), path, nil, 100); err == nil {
		t.Fatal("Open with a segment file missing succeeded")
	}
}

// Age retention deletes whole segments as files when all their events
// are old, and only the old rows of a segment that straddles the cutoff.
func TestRetentionDropsFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openRows(t, path, 100)
	defer s.Close()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	evs := storetest.Events(450, 75)
	for i, ev := range evs {
		ev.Timestamp = base.Add(time.Duration(i) * time.Minute)
	}
	appendIn(t, s, evs, 50)
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	files := s.SegmentStats().Files
	cutoff := base.Add(250 * time.Minute)
	n, err := s.DeleteBefore(t.Context(), cutoff)
	if err != nil || n != 250 {
		t.Fatalf("DeleteBefore = %d, %v; want 250", n, err)
	}
	if got := s.SegmentStats().Files; got != files-2 {
		t.Fatalf("%d segment files after retention, want %d", got, files-2)
	}
	ents, err := os.ReadDir(segmentDir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) > 3*(files-2) {
		t.Fatalf("%d files left in the segment directory for %d segments", len(ents), files-2)
	}
	if c := count(t, s); c != 200 {
		t.Fatalf("Count after retention = %d, want 200", c)
	}
	var keys int64
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM event_keys`).Scan(&keys); err != nil || keys != 200 {
		t.Fatalf("%d keys after retention, %v; want 200", keys, err)
	}
	// A deleted event can be stored again; a kept one cannot.
	if k := appendIn(t, s, evs, 450); k != 250 {
		t.Fatalf("re-Append after retention stored %d, want 250", k)
	}
}

// A seal that fails (a full disk, say) leaves the segment searchable but
// unsealed, and is tried again when the next segment is closed.
func TestSealRetried(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	sealFault = func(*segment) error {
		if fail.Load() {
			return errors.New("injected seal failure")
		}
		return nil
	}
	defer func() { sealFault = nil }()
	s := openRows(t, filepath.Join(t.TempDir(), "events.db"), 100)
	defer s.Close()
	evs := storetest.Events(350, 76)
	appendIn(t, s, evs[:150], 50)
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := catalog(t, s); !slices.Equal(got, []string{stateSealing, stateOpen}) {
		t.Fatalf("after a failed seal the catalog says %v", got)
	}
	if n := count(t, s); n != 150 {
		t.Fatalf("Count with an unsealed segment = %d, want 150", n)
	}
	if st := s.SegmentStats(); st.Files != 2 || st.Unsealed != 1 || st.SealFailures != 1 {
		t.Fatalf("SegmentStats after a failed seal = %+v", st)
	}
	fail.Store(false)
	appendIn(t, s, evs[150:], 50)
	if err := s.waitSeal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := catalog(t, s); !slices.Equal(got, []string{stateSealed, stateSealed, stateSealed, stateOpen}) {
		t.Fatalf("after the next roll the catalog says %v", got)
	}
	if st := s.SegmentStats(); st.Files != 4 || st.Unsealed != 0 || st.SealFailures != 1 || st.LastSeal <= 0 {
		t.Fatalf("SegmentStats after resealing = %+v", st)
	}
}
