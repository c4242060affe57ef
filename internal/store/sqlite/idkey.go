package sqlite

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/mcpsoc/mcpsoc/internal/store"
)

// The events table is uniquely keyed by idkey, a 64-bit integer derived
// from the 32-hex-digit id, rather than by the id itself: an index over
// short integers costs far less to update than one over 32-character
// strings.
//
// An id's base key is 60 bits: the first 48 bits of HMAC-SHA-256, keyed
// with the store's secret salt, over the id without its last three hex
// digits, then those three digits (12 bits) as they are. Ingest ids end in
// the record's position in its stream (store.RecordID), so a stream's rows
// take consecutive keys in runs of 4,096 and an append adds to a few pages
// of the key index instead of one random page per row. The salt is why
// colliding ids cannot be made on purpose: whoever chooses ids (an
// idempotency key, say) cannot compute the hashed part.
//
// A key is never a reason to refuse a row. When another id holds a row's
// base key, the row goes to the overflow: the next free negative key, with
// an events_overflow entry (id → key) so lookups find it. The store keeps
// the base keys of overflowed rows in memory (displaced): a row whose base
// key is among them is always checked against the overflow before it is
// inserted, so a redelivered row is found there even after retention
// freed its base key.

// saltName is the store_secrets row holding the idkey salt.
const saltName = "idkey_salt"

// keyer computes base keys under one salt. It is not safe for concurrent
// use; each append and lookup makes its own.
type keyer struct {
	mac    hash.Hash
	sum    []byte
	cached bool
	stream string // the hashed part of the last id, and its hash
	high   int64
}

func newKeyer(salt []byte) *keyer {
	return &keyer{mac: hmac.New(sha256.New, salt), sum: make([]byte, 0, sha256.Size)}
}

// key returns id's base key, in [0, 2^60). Consecutive ids of one stream
// share the hashed part, which is computed once for the run.
func (k *keyer) key(id string) int64 {
	stream, low := id, int64(0)
	if n := len(id); n >= 3 {
		if v, ok := hex3(id[n-3:]); ok {
			stream, low = id[:n-3], v
		}
	}
	if !k.cached || stream != k.stream {
		k.mac.Reset()
		k.mac.Write([]byte(stream))
		k.sum = k.mac.Sum(k.sum[:0])
		k.stream, k.cached = stream, true
		k.high = int64(binary.BigEndian.Uint64(k.sum) >> 16)
	}
	return k.high<<12 | low
}

// hex3 parses three lowercase hex digits.
func hex3(s string) (int64, bool) {
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// loadSalt reads the store's idkey salt.
func loadSalt(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) ([]byte, error) {
	var salt []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM store_secrets WHERE name = ?1`, saltName).Scan(&salt); err != nil {
		return nil, fmt.Errorf("loading the idkey salt: %w", err)
	}
	if len(salt) < 16 {
		return nil, fmt.Errorf("loading the idkey salt: it has %d bytes", len(salt))
	}
	return salt, nil
}

// displacedSet is the set of base keys whose id was stored in the
// overflow. It only grows while the store is open; entries whose rows
// retention deleted only cost a lookup.
type displacedSet struct {
	mu   sync.Mutex
	keys map[int64]struct{}
}

func (d *displacedSet) add(base int64) {
	d.mu.Lock()
	if d.keys == nil {
		d.keys = make(map[int64]struct{})
	}
	d.keys[base] = struct{}{}
	d.mu.Unlock()
}

// filter returns, when the set is not empty, which of keys are displaced.
func (d *displacedSet) filter(keys []int64) (hit []bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.keys) == 0 {
		return nil
	}
	hit = make([]bool, len(keys))
	for i, k := range keys {
		_, hit[i] = d.keys[k]
	}
	return hit
}

// loadDisplaced reads the overflow's base keys.
func (s *Store) loadDisplaced(ctx context.Context) error {
	rs, err := s.w.QueryContext(ctx, `SELECT base FROM events_overflow`)
	if err != nil {
		return fmt.Errorf("loading the key overflow: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var k int64
		if err := rs.Scan(&k); err != nil {
			return fmt.Errorf("loading the key overflow: %w", err)
		}
		s.displaced.add(k)
	}
	return rs.Err()
}

// placeSlow stores the rows that the fast path did not store: rows
// whose base key was taken (by the same id when the batch is a
// redelivery, or by another id) and rows whose base key is displaced. A
// row whose id is stored already is skipped. Row i gets seq first+i; put
// stores it under the key it is given, after its key entry is made.
func (s *Store) placeSlow(ctx context.Context, tx *sql.Tx, rows []store.Row, keys []int64, first int64, which []int, put func(i int, key int64) error) error {
	for _, i := range which {
		r, base, seq := rows[i], keys[i], first+int64(i)
		have, err := s.keyHolder(ctx, tx, base)
		if err != nil {
			return fmt.Errorf("appending events: %w", err)
		}
		if have == r.ID {
			continue
		}
		var oseq int64
		err = tx.QueryRowContext(ctx, `SELECT k.seq FROM events_overflow o JOIN event_keys k ON k.idkey = o.idkey WHERE o.id = ?1`, r.ID).Scan(&oseq)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("appending events: %w", err)
		default:
			id, err := s.idAt(ctx, tx, oseq)
			if err != nil {
				return fmt.Errorf("appending events: %w", err)
			}
			if id == r.ID {
				continue
			}
		}
		key := base
		if have != "" {
			// Negative keys are the overflow's; base keys are never
			// negative. The smallest key minus one is always free.
			if err := tx.QueryRowContext(ctx, `SELECT min(coalesce(min(idkey), 0), 0) - 1 FROM event_keys`).Scan(&key); err != nil {
				return fmt.Errorf("appending events: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO events_overflow (id, base, idkey) VALUES (?1, ?2, ?3)`, r.ID, base, key); err != nil {
				return fmt.Errorf("appending events: %w", err)
			}
			// Before the commit: a displaced key that is not in the
			// set could let a redelivery in twice, while one too many
			// (the transaction fails) only costs a lookup.
			s.displaced.add(base)
			// Keys are not logged: they are outputs of the salted hash.
			s.log.Debug("event id key collision, event stored in the overflow")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_keys (idkey, seq) VALUES (?1, ?2)`, key, seq); err != nil {
			return fmt.Errorf("appending events: %w", err)
		}
		if err := put(i, key); err != nil {
			return err
		}
	}
	return nil
}

// keyHolder returns the id of the row holding key, or "" when the key is
// free. A key whose row is gone (retention deleted the row but a crash
// kept its key) is freed.
func (s *Store) keyHolder(ctx context.Context, tx *sql.Tx, key int64) (string, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM event_keys WHERE idkey = ?1`, key).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, err := s.idAt(ctx, tx, seq)
	if err != nil || id != "" {
		return id, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM event_keys WHERE idkey = ?1`, key)
	return "", err
}

// createSalt is the Go half of migration 0006: it creates the store's
// salt and rekeys every event with it. Keys first become -seq (unique, and
// clear of every base key), then their base key; a row whose base key is
// already taken keeps -seq and gets an overflow entry.
func createSalt(ctx context.Context, tx *sql.Tx) error {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO store_secrets (name, value) VALUES (?1, ?2)`, saltName, salt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE events SET idkey = -seq`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE OR IGNORE events SET idkey = mcpsoc_salted_id_key(?1, id)`, salt); err != nil {
		return err
	}
	return recordOverflow(ctx, tx, salt)
}

// recordOverflow gives every row with a negative key an overflow entry:
// the rows migration 0006 could not give their base key.
func recordOverflow(ctx context.Context, tx *sql.Tx, salt []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO events_overflow (id, base, idkey)
		SELECT id, mcpsoc_salted_id_key(?1, id), idkey FROM events WHERE idkey < 0`, salt)
	return err
}
