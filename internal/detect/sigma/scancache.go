package sigma

import "hash/maphash"

// scanCache remembers, per lane field and value, which witness slots a scan
// of that value marked. Short values repeat heavily in real logs (Image,
// ParentImage, Company, Product, Description, CurrentDirectory, User,
// OriginalFileName draw from a few hundred values per site), and their
// scan result depends on nothing but the lane field and the value's text,
// so a repeat replays the recorded marks instead of scanning again.
//
// Each scratch (one per concurrently running Match, pooled) owns its cache,
// so there is no sharing and no locking; an engine's scratches, and with
// them the caches, are dropped when the rules are reloaded (a new Engine).
// The cache is direct-mapped; a slot holds a copy of the value and is a hit
// only when the lane field and the whole value are equal — the hash only
// picks the slot.
//
// Fields whose short values rarely repeat (logon ids, addresses, ports,
// temporary file names) would only evict useful entries and pay for the
// hash and the copy: a field whose last 64 lookups hit fewer than 16 times
// bypasses the cache for its next 1,024 values, then is tried again.
type scanCache struct {
	seed    maphash.Seed
	mask    uint64
	entries []cacheEntry
	fields  []fieldAdmission // by laneField.cid
	// ring holds the marks of values that mark more than cacheInline
	// slots (the most frequent images mark a hundred at 3,000 rules);
	// written round-robin, so an entry's marks are valid while fewer
	// than len(ring) marks were written after them.
	ring    []uint32
	ringPos uint32 // marks written so far
}

type fieldAdmission struct {
	looks, hits uint16 // lookups and hits in the current window
	bypass      uint16 // values left to scan without the cache
}

const (
	admitWindow  = 64
	admitMinHits = 16
	admitBypass  = 1024
)

const (
	// cacheValMax is the longest value cached. Longer values (command
	// lines, hashes, script blocks) rarely repeat and are always scanned.
	cacheValMax = 64
	// cacheInline is the number of marks held in the entry itself.
	cacheInline = 4
	// cacheHitMax is the most witness slots one cached value may mark; a
	// value marking more is recorded as uncacheable and scanned each time.
	cacheHitMax = 254
	// cacheOverflow in cacheEntry.nhits marks such a value.
	cacheOverflow = 0xff
)

// cacheEntries is the number of slots per cache (a power of two; a
// variable only so tests can force collisions and evictions). 2,048 slots
// of 96 bytes and the 32 KiB ring are 224 KiB per scratch.
var cacheEntries = 2048

// cacheRing is the size of the ring of marks (a variable only so tests can
// force overwrites; at least cacheHitMax).
var cacheRing = 8192

type cacheEntry struct {
	field uint32 // laneField.cid; 0: empty slot
	n     uint8  // value length
	nhits uint8
	start uint32              // nhits > cacheInline: marks at ring[start%len(ring):]
	hits  [cacheInline]uint32 // rule<<3 | slot (a veto id for slotVeto)
	val   [cacheValMax]byte
}

func newScanCache() *scanCache {
	return &scanCache{seed: maphash.MakeSeed(), mask: uint64(cacheEntries - 1), entries: make([]cacheEntry, cacheEntries),
		ring: make([]uint32, cacheRing)}
}

// scanCacheStats, when set (benchmarks only, single goroutine), counts
// cache lookups, values too long or empty to cache (skipped) and values of
// fields that bypass the cache.
var scanCacheStats *struct{ hits, misses, skipped, bypassed uint64 }

// scanCached scans one value of a lane field through the cache: values
// longer than cacheValMax (or empty) are scanned directly.
func (sc *scratch) scanCached(ln *lane, lf *laneField, fv *fval, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	s := fv.str
	if len(s) == 0 || len(s) > cacheValMax {
		if scanCacheStats != nil {
			scanCacheStats.skipped++
		}
		return sc.scanValue(ln, lf, fv, cstamp, cgen, cands)
	}
	c := sc.cache
	if c == nil {
		c = newScanCache()
		sc.cache = c
	}
	if int(lf.cid) >= len(c.fields) {
		c.fields = append(c.fields, make([]fieldAdmission, int(lf.cid)+1-len(c.fields))...)
	}
	fa := &c.fields[lf.cid]
	if fa.bypass > 0 {
		fa.bypass--
		if scanCacheStats != nil {
			scanCacheStats.bypassed++
		}
		return sc.scanValue(ln, lf, fv, cstamp, cgen, cands)
	}
	if fa.looks++; fa.looks == admitWindow {
		if fa.hits < admitMinHits {
			fa.bypass = admitBypass
		}
		fa.looks, fa.hits = 0, 0
	}
	// The scan result depends only on the field and the value's text (its
	// lower-casing is a function of the text), so the key is the text as
	// the event has it.
	e := &c.entries[(maphash.String(c.seed, s)^uint64(lf.cid)*0x9E3779B97F4A7C15)&c.mask]
	if e.field == lf.cid && int(e.n) == len(s) && string(e.val[:len(s)]) == s {
		if scanCacheStats != nil {
			scanCacheStats.hits++
		}
		fa.hits++
		hits := e.hits[:min(e.nhits, cacheInline)]
		if e.nhits > cacheInline {
			// Overflowed, or marks in the ring, valid unless overwritten.
			if e.nhits == cacheOverflow || c.ringPos-e.start > uint32(len(c.ring)-int(e.nhits)) {
				return sc.scanValue(ln, lf, fv, cstamp, cgen, cands)
			}
			i := int(e.start % uint32(len(c.ring)))
			hits = c.ring[i : i+int(e.nhits)]
		}
		cmask, need := sc.cmask, ln.need
		for _, h := range hits {
			rule, slot := h>>3, uint8(h&7)
			if slot == slotVeto {
				sc.vstamp[rule] = cgen
				continue
			}
			if cstamp[rule] != cgen {
				cstamp[rule] = cgen
				cmask[rule] = 0
			}
			if m := cmask[rule]; m&slot == 0 {
				m |= slot
				cmask[rule] = m
				if m == need[rule] {
					cands = append(cands, int32(rule))
				}
			}
		}
		return cands
	}
	if scanCacheStats != nil {
		scanCacheStats.misses++
	}
	sc.rec, sc.recHits = true, sc.recHits[:0]
	cands = sc.scanValue(ln, lf, fv, cstamp, cgen, cands)
	sc.rec = false
	e.field = lf.cid
	e.n = uint8(len(s))
	copy(e.val[:], s)
	switch n := len(sc.recHits); {
	case n > cacheHitMax:
		e.nhits = cacheOverflow
	case n <= cacheInline:
		e.nhits = uint8(n)
		copy(e.hits[:], sc.recHits)
	default:
		// Contiguous in the ring: skip its tail when the marks would wrap.
		if i := int(c.ringPos % uint32(len(c.ring))); i+n > len(c.ring) {
			c.ringPos += uint32(len(c.ring) - i)
		}
		e.start, e.nhits = c.ringPos, uint8(n)
		i := int(c.ringPos % uint32(len(c.ring)))
		copy(c.ring[i:], sc.recHits)
		c.ringPos += uint32(n)
	}
	return cands
}

// record notes, while a value's scan is recorded, that it marks rule's
// witness slot (once per rule and slot).
func (sc *scratch) record(rule int32, slot uint8) {
	h := uint32(rule)<<3 | uint32(slot)
	if len(sc.recHits) > cacheHitMax {
		return // uncacheable already
	}
	for _, x := range sc.recHits {
		if x == h {
			return
		}
	}
	sc.recHits = append(sc.recHits, h)
}
