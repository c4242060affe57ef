package correlate

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// The slice form and the map form of valueSet answer as a plain map would,
// across the switch from one to the other.
func TestValueSetMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s valueSet
	ref := map[string]time.Time{}
	for i := range 20_000 {
		// Few values at first (the slice), then up to 40 (the map).
		n := 4 + i/500
		v := "v" + strconv.Itoa(rng.IntN(n))
		at := t0.Add(time.Duration(i) * time.Second)
		switch rng.IntN(3) {
		case 0, 1:
			s.set(v, at)
			ref[v] = at
		case 2:
			s.del(v)
			delete(ref, v)
		}
		if s.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", i, s.len(), len(ref))
		}
		got, ok := s.get(v)
		want, wok := ref[v]
		if ok != wok || !got.Equal(want) {
			t.Fatalf("step %d: get(%s) = %v %v, want %v %v", i, v, got, ok, want, wok)
		}
	}
	if s.m == nil {
		t.Fatal("40 values are still held in the slice")
	}
	seen := 0
	for v, at := range s.all() {
		if !ref[v].Equal(at) {
			t.Errorf("all: %s at %v, want %v", v, at, ref[v])
		}
		seen++
	}
	if seen != len(ref) {
		t.Errorf("all yielded %d values, want %d", seen, len(ref))
	}
}

// A full correlation evicts the key least recently hit, not the oldest
// created, and its list and map agree through a flood of new keys.
func TestEvictsLeastRecentlyActive(t *testing.T) {
	e := mustEngine(t, eventCountRule, []string{"fw_block"}, &Options{MaxKeys: 2})
	e.Observe(hit("fw_block", 0, "source.ip", "a"))
	e.Observe(hit("fw_block", 1, "source.ip", "b"))
	e.Observe(hit("fw_block", 2, "source.ip", "a"))
	e.Observe(hit("fw_block", 3, "source.ip", "c")) // evicts b
	c := e.corrs[0]
	if _, ok := c.keys[maphash.String(e.seed, "b\x1f")]; ok || len(c.keys) != 2 {
		t.Fatalf("keys %v: b should have gone", c.keys)
	}
	if c.recent.Front().key != "c\x1f" || c.recent.Back().key != "a\x1f" {
		t.Errorf("order %q..%q, want c first and a last", c.recent.Front().key, c.recent.Back().key)
	}
	e = mustEngine(t, eventCountRule, []string{"fw_block"}, &Options{MaxKeys: 100})
	c = e.corrs[0]
	for i := range 1000 {
		e.Observe(hit("fw_block", i, "source.ip", strconv.Itoa(i%150)))
		n := 0
		for st := c.recent.Front(); st != nil; st = c.recent.Next(st) {
			if c.keys[st.hash] != st || st.hash != maphash.String(e.seed, st.key) {
				t.Fatalf("step %d: listed key %q is not in the map", i, st.key)
			}
			n++
		}
		if n != len(c.keys) || n > 100 {
			t.Fatalf("step %d: %d listed, %d in the map", i, n, len(c.keys))
		}
	}
	if s := e.Stats(); s.Evicted == 0 {
		t.Error("150 keys over a limit of 100 evicted nothing")
	}
}

// Two groups under one key hash (a collision, forced here) never share a
// window: the group hit pushes the other out, counted as evicted.
func TestKeyHashCollision(t *testing.T) {
	e := mustEngine(t, eventCountRule, []string{"fw_block"}, nil)
	e.Observe(hit("fw_block", 0, "source.ip", "a"))
	e.Observe(hit("fw_block", 1, "source.ip", "a"))
	c := e.corrs[0]
	st := c.keys[maphash.String(e.seed, "a\x1f")]
	c.remove(st)
	st.hash = maphash.String(e.seed, "b\x1f")
	c.keys[st.hash] = st
	c.recent.PushFront(st)
	// b's first hit must not count a's two.
	if got := fired(e, hit("fw_block", 2, "source.ip", "b")); got != nil {
		t.Fatalf("b fired on a's window: %v", got)
	}
	if s := e.Stats(); s.Evicted != 1 || s.Keys != 1 {
		t.Errorf("stats %+v, want a pushed out and counted", s)
	}
}
