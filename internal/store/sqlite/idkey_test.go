package sqlite

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// keyOf returns the key of the row id, in the main table or the open
// segment, after checking that event_keys leads to that row.
func keyOf(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	var k, seq, keySeq int64
	if err := s.w.QueryRowContext(t.Context(), `SELECT idkey, seq FROM main.events WHERE id = ?1
		UNION ALL SELECT idkey, seq FROM cur.events WHERE id = ?1`, id).Scan(&k, &seq); err != nil {
		t.Fatalf("key of %s: %v", id, err)
	}
	if err := s.w.QueryRowContext(t.Context(), `SELECT seq FROM event_keys WHERE idkey = ?1`, k).Scan(&keySeq); err != nil || keySeq != seq {
		t.Fatalf("event_keys of %s: seq %d, %v; want %d", id, keySeq, err, seq)
	}
	return k
}

// deleteWhere deletes the open segment's rows matching cond, with their
// keys, as retention does.
func deleteWhere(t *testing.T, s *Store, cond string, args ...any) {
	t.Helper()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.deleteRows(t.Context(), s.cur, func(table string) string { return `SELECT seq FROM ` + table + ` WHERE ` + cond }, args...); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.Count(t.Context(), store.SearchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The salt is created once, kept across reopening, and every stored row
// sits at its base key under it.
func TestSaltPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	evs := storetest.Events(50, 3)
	if _, err := s.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	salt := bytes.Clone(s.salt)
	if len(salt) != 32 || bytes.Equal(salt, make([]byte, 32)) {
		t.Fatalf("salt = %x", salt)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	defer s.Close()
	if !bytes.Equal(s.salt, salt) {
		t.Fatal("the salt changed when the store was reopened")
	}
	var secrets int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM store_secrets`).Scan(&secrets); err != nil || secrets != 1 {
		t.Fatalf("store_secrets holds %d rows (%v), want 1", secrets, err)
	}
	k := newKeyer(salt)
	for _, id := range storetest.Sorted(evs) {
		if got := keyOf(t, s, id); got != k.key(id) {
			t.Fatalf("%s is stored at key %d, want its base key %d", id, got, k.key(id))
		}
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Fatalf("Get(%s) after reopen: %v", id, err)
		}
	}
	if n, err := s.Append(t.Context(), evs); err != nil || n != 0 {
		t.Fatalf("re-Append after reopen stored %d, %v", n, err)
	}
}

// Two stores key the same id differently: the hashed part is secret.
func TestKeysDifferBetweenStores(t *testing.T) {
	a := openAt(t, filepath.Join(t.TempDir(), "a.db"))
	defer a.Close()
	b := openAt(t, filepath.Join(t.TempDir(), "b.db"))
	defer b.Close()
	if bytes.Equal(a.salt, b.salt) {
		t.Fatal("two stores have the same salt")
	}
	evs := storetest.Events(20, 5)
	for _, s := range []*Store{a, b} {
		if _, err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range storetest.Sorted(evs) {
		if ka, kb := keyOf(t, a, id), keyOf(t, b, id); ka == kb {
			t.Fatalf("%s has key %d in both stores", id, ka)
		}
	}
}

// Ids of consecutive positions in one stream get consecutive keys, within
// a run of 4,096; keys stay in [0, 2^60).
func TestConsecutiveKeys(t *testing.T) {
	k := newKeyer(bytes.Repeat([]byte{7}, 32))
	first := k.key(store.RecordID(8192, "syslog:fw", "conn-1"))
	for pos := int64(8193); pos < 8192+4096; pos++ {
		if got := k.key(store.RecordID(pos, "syslog:fw", "conn-1")); got != first+pos-8192 {
			t.Fatalf("position %d has key %d, want %d", pos, got, first+pos-8192)
		}
	}
	other := newKeyer(bytes.Repeat([]byte{7}, 32)) // no cached run
	for _, id := range []string{store.RecordID(8192, "syslog:fw", "conn-1"), store.RecordID(1<<40, "x"), "ffffffffffffffffffffffffffffffff", "00000000000000000000000000000000"} {
		if got := other.key(id); got < 0 || got >= 1<<60 || got != k.key(id) {
			t.Fatalf("key(%s) = %d (cached run: %d), want the same value in [0, 2^60)", id, got, k.key(id))
		}
	}
}

// blockBases stores, for each row, another event at the row's base key,
// as a collision would.
func blockBases(t *testing.T, s *Store, rows []store.Row, seed uint64) {
	t.Helper()
	k := newKeyer(s.salt)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for i, r := range rows {
		other := store.MakeRow(storetest.Events(1, seed+uint64(i))[0], nil)
		seq := s.nextSeq
		if _, err := s.w.ExecContext(t.Context(), keySQL(1), k.key(r.ID), seq); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(t.Context(), insertSQL(1), append([]any{seq}, appendRowArgs(nil, other, k.key(r.ID))...)...); err != nil {
			t.Fatal(err)
		}
		s.nextSeq++
		s.curRows++
		s.cur.widen(other.Time.UnixMicro(), other.Time.UnixMicro())
	}
}

// An id whose base key another id holds is stored in the overflow, never
// refused, and found, deduplicated and counted as itself: also after the
// event at its base key is deleted, and after the store is reopened.
func TestKeyCollisionOverflow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	evs := storetest.Events(10, 21)
	var rows []store.Row
	for _, ev := range evs {
		rows = append(rows, store.MakeRow(ev, nil))
	}
	blockBases(t, s, rows, 500)
	// The colliding events, the first twice in one batch, amid new ones.
	batch := append(append(storetest.Events(100, 22), evs...), evs[0])
	if n, err := s.Append(t.Context(), batch); err != nil || n != 110 {
		t.Fatalf("Append with 10 collisions stored %d, %v; want 110", n, err)
	}
	seen := map[int64]bool{}
	for _, r := range rows {
		k := keyOf(t, s, r.ID)
		if k >= 0 || seen[k] {
			t.Fatalf("colliding event %s got key %d, want a distinct negative key", r.ID, k)
		}
		seen[k] = true
		if rec, err := s.Get(t.Context(), r.ID); err != nil || rec.ID != r.ID {
			t.Fatalf("Get(%s) = %s, %v", r.ID, rec.ID, err)
		}
	}
	redeliver := func(when string) {
		t.Helper()
		if n, err := s.Append(t.Context(), evs); err != nil || n != 0 {
			t.Fatalf("%s: re-Append stored %d, %v; want 0", when, n, err)
		}
		enc := make([]store.Encoded, len(evs))
		for i, ev := range evs {
			enc[i] = store.Encoded{Event: ev, JSON: ev.AppendJSON(nil)}
		}
		if n, err := s.AppendEncoded(t.Context(), enc); err != nil || n != 0 {
			t.Fatalf("%s: re-AppendEncoded stored %d, %v; want 0", when, n, err)
		}
	}
	redeliver("blocked")
	// Retention frees the base keys: a redelivery must still find the
	// events in the overflow.
	k := newKeyer(s.salt)
	for _, r := range rows {
		deleteWhere(t, s, `idkey = ?1`, k.key(r.ID))
	}
	redeliver("base keys freed")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	defer s.Close()
	redeliver("reopened")
	if n := count(t, s); n != 110 {
		t.Fatalf("store holds %d events, want 110", n)
	}
	// A displaced id that is not stored any more takes its free base key.
	deleteWhere(t, s, `id = ?1`, rows[0].ID)
	if n, err := s.Append(t.Context(), evs[:1]); err != nil || n != 1 {
		t.Fatalf("Append of a deleted displaced event stored %d, %v; want 1", n, err)
	}
	if got := keyOf(t, s, rows[0].ID); got != k.key(rows[0].ID) {
		t.Fatalf("re-stored event has key %d, want its base key", got)
	}
	redeliver("re-stored")
}

// A redelivered batch stores nothing twice, whole or mixed with new
// events, and an event twice in one batch is stored once.
func TestRedeliveryDedup(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "events.db"))
	defer s.Close()
	old := storetest.Events(300, 41)
	want := int64(len(storetest.Sorted(old)))
	if n, err := s.Append(t.Context(), old); err != nil || int64(n) != want {
		t.Fatalf("Append stored %d, %v; want %d", n, err, want)
	}
	fresh := storetest.Events(200, 42)
	mixed := append(slices.Clone(old[100:]), fresh...)
	mixed = append(mixed, fresh[:10]...)
	enc := make([]store.Encoded, len(mixed))
	for i, ev := range mixed {
		enc[i] = store.Encoded{Event: ev, JSON: ev.AppendJSON(nil)}
	}
	if n, err := s.AppendEncoded(t.Context(), enc); err != nil || n != len(storetest.Sorted(fresh)) {
		t.Fatalf("mixed redelivery stored %d, %v; want %d", n, err, len(storetest.Sorted(fresh)))
	}
	if n := count(t, s); n != want+int64(len(storetest.Sorted(fresh))) {
		t.Fatalf("store holds %d events after the redelivery", n)
	}
}

// makeV5 writes a database at schema version 5 (unsalted keys in 8-key
// slots) holding rows, the way that version's Append wrote them; the row
// at collide goes to the second key of its slot, as a collision did.
func makeV5(t *testing.T, path string, rows []store.Row, collide int) {
	t.Helper()
	db := openVersion(t, path, 5)
	defer db.Close()
	for i, r := range rows {
		k := idKeyV4(r.ID)
		if i == collide {
			k++
		}
		if _, err := db.ExecContext(t.Context(), v4Insert, appendRowArgs(nil, r, k)...); err != nil {
			t.Fatal(err)
		}
	}
	indexMessages(t, db)
}

// A version-5 database migrates to salted keys: every event gets its base
// key, is found by id, message and column, and is not stored again.
func TestMigrateFromV5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	evs := storetest.Events(400, 51)
	rows := make([]store.Row, len(evs))
	for i, ev := range evs {
		rows[i] = store.MakeRow(ev, nil)
	}
	makeV5(t, path, rows, 7)
	ids := storetest.Sorted(evs)

	s := openAt(t, path)
	defer s.Close()
	if len(s.salt) != 32 {
		t.Fatalf("no salt after the migration: %x", s.salt)
	}
	k := newKeyer(s.salt)
	for _, id := range ids {
		if got := keyOf(t, s, id); got != k.key(id) {
			t.Fatalf("%s has key %d after the migration, want its base key %d", id, got, k.key(id))
		}
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Fatalf("Get(%s) after migration: %v", id, err)
		}
	}
	fresh := openAt(t, filepath.Join(t.TempDir(), "fresh.db"))
	defer fresh.Close()
	if _, err := fresh.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`"failed password"`, "DENIED", "user.name:root", "source.ip:10.0.0.0/8"} {
		got, want := searchIDs(t, s, q), searchIDs(t, fresh, q)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%s: migrated store found %d events, a fresh one %d", q, len(got), len(want))
		}
	}
	if n, err := s.Append(t.Context(), evs); err != nil || n != 0 {
		t.Fatalf("re-Append after migration stored %d, %v", n, err)
	}
	if n, err := s.Append(t.Context(), storetest.Events(50, 52)); err != nil || n != 50 {
		t.Fatalf("Append after migration stored %d, %v", n, err)
	}
}

// Rows migration 0006 could not give their base key keep a negative key
// and get an overflow entry, so they are found and deduplicated.
func TestMigrateOverflow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	evs := storetest.Events(5, 61)
	db := openVersion(t, path, 6)
	salt, err := loadSalt(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyer(salt)
	for _, ev := range evs {
		r := store.MakeRow(ev, nil)
		if _, err := db.ExecContext(t.Context(), v4Insert, appendRowArgs(nil, r, k.key(r.ID))...); err != nil {
			t.Fatal(err)
		}
	}
	id := store.MakeRow(evs[2], nil).ID
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// As if UPDATE OR IGNORE had skipped the row, which kept -seq.
	if _, err := tx.ExecContext(t.Context(), `UPDATE events SET idkey = -seq WHERE id = ?1`, id); err != nil {
		t.Fatal(err)
	}
	if err := recordOverflow(t.Context(), tx, salt); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openAt(t, path)
	defer s.Close()
	if _, err := s.Get(t.Context(), id); err != nil {
		t.Fatalf("Get of the overflowed row: %v", err)
	}
	if n, err := s.Append(t.Context(), []*event.Event{evs[2]}); err != nil || n != 0 {
		t.Fatalf("re-Append of the overflowed row stored %d, %v", n, err)
	}
	if n, err := s.Append(t.Context(), evs); err != nil || n != 0 {
		t.Fatalf("re-Append of the migrated rows stored %d, %v", n, err)
	}
}

// FuzzKey: any string gets a key in [0, 2^60), the same with and without
// a cached run, and ids that differ only in their last three hex digits
// differ only in the key's low 12 bits.
func FuzzKey(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef", uint16(5))
	f.Add("", uint16(0))
	f.Add("zz", uint16(4095))
	f.Add("0123456789abcdef0123456789abcXYZ", uint16(1))
	salt := bytes.Repeat([]byte{3}, 32)
	warm := newKeyer(salt)
	f.Fuzz(func(t *testing.T, id string, low uint16) {
		k := warm.key(id)
		if k < 0 || k >= 1<<60 || k != newKeyer(salt).key(id) {
			t.Fatalf("key(%q) = %d, fresh keyer %d", id, k, newKeyer(salt).key(id))
		}
		if !store.ValidID(id) {
			return
		}
		low %= 4096
		other := id[:29] + fmt.Sprintf("%03x", low)
		if got := warm.key(other); got>>12 != k>>12 || got&4095 != int64(low) {
			t.Fatalf("key(%s) = %x, key(%s) = %x: want the same high bits and low bits %x", id, k, other, got, low)
		}
	})
}
