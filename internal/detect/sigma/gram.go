package sigma

import "slices"

// gramIndex finds literal occurrences without a big automaton. With
// thousands of rules a field's Aho-Corasick table grows to megabytes (11 MB
// for the Windows process-creation lane at 3,000 SigmaHQ rules) and every
// scanned byte becomes a cache miss. Instead, each pattern of four bytes or
// more is keyed by one of its 4-grams, the one shared by the fewest other
// patterns; a scan folds the value's 4-grams through a small bitmap
// (32 KiB, cache-resident) and only on a set bit looks the gram up and
// verifies the patterns it keys. Patterns shorter than four bytes stay in
// a (small) automaton.
type gramIndex struct {
	bits  []uint64
	shift uint32 // 32 - log2(bits in the bitmap)
	// stride is the distance between the positions a scan looks at: 1,
	// or more when all patterns are long (see indexPatterns).
	stride int
	// slots is an open-addressing table (linear probing, at most half
	// full) from a keying gram to its patterns, pats[start:end]: on a set
	// bit the scan probes it, cheaper than a map lookup.
	slots     []gramSlot
	slotShift uint32 // 32 - log2(len(slots))
	pats      []gramPat
	// ASCII patterns under four bytes are found in the same pass as the
	// grams: pairBits has a bit per folded byte pair (8 KiB) set when a
	// pattern of two or three bytes starts with the pair, or a one-byte
	// pattern equals its first byte; on a set bit the pair is looked up
	// in pairSlots (patterns of two and three bytes) and the first byte
	// in one. nil when there are no such patterns.
	pairBits      []uint64
	pairSlots     []gramSlot
	pairSlotShift uint32
	pairPats      []gramPat
	one           *[256]int32 // pattern id + 1 of the one-byte pattern, by byte
	// Patterns under four bytes with a byte >= 0x80 (UTF-8 look-alike
	// characters, such as Cyrillic letters or dingbats in command lines)
	// can only occur where the scanned text has such bytes: their
	// automaton runs only then. nil when none.
	short    *acMatcher
	sids     []int32 // short automaton's pattern i is pattern sids[i]
	shortAll bool    // short holds ASCII patterns too (gramShortPairs off): run it always
}

type gramSlot struct {
	gram       uint32
	start, end int32 // end == 0: empty slot
}

// lookup returns the patterns keyed by gram w.
func (g *gramIndex) lookup(w uint32) []gramPat {
	return probeSlots(g.slots, g.slotShift, g.pats, w)
}

// probeSlots finds key w in an open-addressing table built by fillSlots.
func probeSlots(slots []gramSlot, shift uint32, pats []gramPat, w uint32) []gramPat {
	mask := uint32(len(slots) - 1)
	for i := (w * 0x9E3779B1) >> shift; ; i = (i + 1) & mask {
		sl := &slots[i]
		if sl.end == 0 {
			return nil
		}
		if sl.gram == w {
			return pats[sl.start:sl.end]
		}
	}
}

// fillSlots lays out table (key -> patterns) as an open-addressing table at
// most half full, keys in sorted order for a deterministic layout.
func fillSlots(table map[uint32][]gramPat) (slots []gramSlot, shift uint32, pats []gramPat) {
	slotsLog := 4
	for 1<<slotsLog < 2*len(table) {
		slotsLog++
	}
	slots, shift = make([]gramSlot, 1<<slotsLog), uint32(32-slotsLog)
	keys := make([]uint32, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mask := uint32(len(slots) - 1)
	for _, k := range keys {
		i := (k * 0x9E3779B1) >> shift
		for slots[i].end != 0 {
			i = (i + 1) & mask
		}
		start := int32(len(pats))
		pats = append(pats, table[k]...)
		slots[i] = gramSlot{gram: k, start: start, end: int32(len(pats))}
	}
	return slots, shift, pats
}

type gramPat struct {
	pat string // lower-case
	off int32  // where the keying gram starts in pat
	pid int32
}

// The bitmap has about 128 bits per keyed pattern (a false-positive rate
// under 1% per scanned position), between 4 Kbit and 256 Kbit: small sets
// get a bitmap that stays in L1. 32 bits per pattern measured the same on
// Windows events and up to 10% slower on the long values of web and
// firewall events.
const (
	gramMaxStride      = 8
	gramBitsPerPattern = 128
	gramBitsMinLog     = 12
	gramBitsMaxLog     = 18
)

// gramShortPairs (ASCII short patterns in the gram pass) and gramStrides
// (strided scans of long-pattern sets) are variables only so benchmarks
// can compare with and without; without the first, the short patterns'
// automaton runs over every value.
var gramShortPairs, gramStrides = true, true

// gramIndexThreshold is the automaton size (bytes of transition table)
// above which a field's literals are indexed by grams instead (a variable
// only so benchmarks can compare with and without).
var gramIndexThreshold = defaultGramIndexThreshold

// defaultGramIndexThreshold is 64 KiB: several such tables per event (one
// per indexed field) no longer share the L2 cache, while a gram index's
// bitmap is sized to its patterns and usually stays in L1.
const defaultGramIndexThreshold = 64 << 10

var foldByte = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return
}()

func gramAt(s string, i int) uint32 {
	return uint32(foldByte[s[i]]) | uint32(foldByte[s[i+1]])<<8 | uint32(foldByte[s[i+2]])<<16 | uint32(foldByte[s[i+3]])<<24
}

func gramHash(g, shift uint32) uint32 { return (g * 0x9E3779B1) >> shift }

// indexPatterns returns an automaton for small pattern sets and a gram
// index for large ones. Patterns are lower-case, as buildAC receives them.
func indexPatterns(pats []string) (*acMatcher, *gramIndex) {
	ac := buildAC(pats)
	if len(ac.next)*4 <= gramIndexThreshold {
		return ac, nil
	}
	// With every pattern at least 3+s bytes long (s > 1), a scan need
	// only look at every s-th position: an occurrence covers s
	// consecutive gram positions, one of which the scan visits, so each
	// pattern is keyed by the s grams starting at offsets k..k+s-1.
	minLen := maxPatternLen
	for _, p := range pats {
		minLen = min(minLen, len(p))
	}
	stride := min(max(minLen-3, 1), gramMaxStride)
	if !gramStrides {
		stride = 1
	}
	// The bitmap is sized to the patterns, not to their stride keys: a
	// strided scan probes 1/stride of the positions, so a bitmap stride
	// times denser gives the same false hits per value, and one sized to
	// the keys (32 KiB for Hashes instead of 8) measured 5% slower at
	// 3,000 rules.
	bitsLog := gramBitsMinLog
	for bitsLog < gramBitsMaxLog && 1<<bitsLog < len(pats)*gramBitsPerPattern {
		bitsLog++
	}
	g := &gramIndex{bits: make([]uint64, 1<<bitsLog/64), shift: uint32(32 - bitsLog), stride: stride}
	table := map[uint32][]gramPat{}
	freq := map[uint32]int{}
	for _, p := range pats {
		for i := 0; i+4 <= len(p); i++ {
			freq[gramAt(p, i)]++
		}
	}
	var short []string
	pairTable := map[uint32][]gramPat{}
	for pid, p := range pats {
		if len(p) < 4 {
			if !isASCII(p) || !gramShortPairs {
				short = append(short, p)
				g.sids = append(g.sids, int32(pid))
				continue
			}
			if g.pairBits == nil {
				g.pairBits, g.one = make([]uint64, 1<<16/64), new([256]int32)
			}
			if len(p) == 1 {
				// Patterns are distinct, so one per byte; it marks every
				// pair it starts.
				g.one[p[0]] = int32(pid) + 1
				for b := range 256 {
					pr := uint32(p[0]) | uint32(b)<<8
					g.pairBits[pr>>6] |= 1 << (pr & 63)
				}
				continue
			}
			pr := uint32(p[0]) | uint32(p[1])<<8
			g.pairBits[pr>>6] |= 1 << (pr & 63)
			pairTable[pr] = append(pairTable[pr], gramPat{pat: p, pid: int32(pid)})
			continue
		}
		// The run of stride grams shared by the fewest other patterns.
		best, bestCost := 0, -1
		for k := 0; k+stride-1+4 <= len(p); k++ {
			cost := 0
			for o := k; o < k+stride; o++ {
				cost += freq[gramAt(p, o)]
			}
			if bestCost < 0 || cost < bestCost {
				best, bestCost = k, cost
			}
		}
		for o := best; o < best+stride; o++ {
			k := gramAt(p, o)
			table[k] = append(table[k], gramPat{pat: p, off: int32(o), pid: int32(pid)})
			h := gramHash(k, g.shift)
			g.bits[h>>6] |= 1 << (h & 63)
		}
	}
	if len(short) > 0 {
		g.short, g.shortAll = buildAC(short), !gramShortPairs
	}
	g.slots, g.slotShift, g.pats = fillSlots(table)
	if g.pairBits != nil {
		g.pairSlots, g.pairSlotShift, g.pairPats = fillSlots(pairTable)
	}
	return nil, g
}

// scanGrams reports, through hit, every occurrence of an indexed pattern
// that starts at or after from and ends at or before to (positions in v),
// with the pattern id and the end position.
func (sc *scratch) scanGrams(ln *lane, g *gramIndex, refs [][]patRef, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	cands, _ = sc.scanGramsASCII(ln, g, refs, v, from, to, cstamp, cgen, cands)
	return cands
}

// scanGramsASCII is scanGrams that also tells whether v[from:to] is ASCII,
// which the scan learns on the way: 1 when it is, -1 when it is not, 0 when
// the scan did not read every byte (a strided scan of an ASCII range).
func (sc *scratch) scanGramsASCII(ln *lane, g *gramIndex, refs [][]patRef, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) ([]int32, int8) {
	// hi is the scanned bytes ORed together: bit 7 is set when one of
	// them is >= 0x80.
	var hi uint32
	if to-from >= 4 {
		switch {
		case g.stride > 1:
			// No short patterns (their presence forces stride 1), so
			// hi is not needed.
			cands = sc.scanGramsStrided(ln, g, refs, v, from, to, cstamp, cgen, cands)
		case g.pairBits != nil:
			cands, hi = sc.scanGramsPairs(ln, g, refs, v, from, to, cstamp, cgen, cands)
		default:
			cands, hi = sc.scanGramsOnly(ln, g, refs, v, from, to, cstamp, cgen, cands)
		}
	}
	// Positions where no whole 4-gram fits (all of them in a range under
	// four bytes) are checked one by one for the short patterns.
	for i := max(from, to-3); i < to; i++ {
		b0 := uint32(foldByte[v[i]])
		hi |= b0
		if g.pairBits == nil {
			continue
		}
		pr := b0
		if i+1 < to {
			pr |= uint32(foldByte[v[i+1]]) << 8
		} else if g.one[b0] == 0 {
			continue
		}
		if i+1 >= to || g.pairBits[pr>>6]&(1<<(pr&63)) != 0 {
			cands = sc.shortAt(ln, g, refs, v, i, to, pr, cands, cstamp, cgen)
		}
	}
	if g.short != nil && (hi&0x80 != 0 || g.shortAll) {
		cands = sc.scanRangeIDs(ln, g.short, g.sids, refs, v, from, to, cstamp, cgen, cands)
	}
	if hi&0x80 != 0 {
		return cands, -1
	}
	if g.stride > 1 && to-from >= 4 {
		return cands, 0
	}
	return cands, 1
}

// scanGramsOnly is the gram pass of scanGrams for an index without short
// patterns; it also returns the scanned bytes ORed together, folded to
// one byte.
func (sc *scratch) scanGramsOnly(ln *lane, g *gramIndex, refs [][]patRef, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) ([]int32, uint32) {
	bits, shift := g.bits, g.shift
	w := gramAt(v, from) << 8 // primed so the loop shifts the first gram in
	acc := w
	for i := from; i+4 <= to; i++ {
		w = w>>8 | uint32(foldByte[v[i+3]])<<24
		acc |= w
		h := gramHash(w, shift)
		if bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		cands = sc.gramHit(ln, g, refs, v, i, from, to, w, cands, cstamp, cgen)
	}
	return cands, (acc | acc>>8 | acc>>16 | acc>>24) & 0xff
}

// scanGramsStrided is the gram pass of an index whose patterns are all at
// least stride+3 bytes long: it looks at every stride-th position only.
func (sc *scratch) scanGramsStrided(ln *lane, g *gramIndex, refs [][]patRef, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	bits, shift, stride := g.bits, g.shift, g.stride
	for i := from; i+4 <= to; i += stride {
		w := gramAt(v, i)
		h := gramHash(w, shift)
		if bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		cands = sc.gramHit(ln, g, refs, v, i, from, to, w, cands, cstamp, cgen)
	}
	return cands
}

// scanGramsPairs is scanGramsOnly that also checks each position's byte
// pair for the short patterns.
func (sc *scratch) scanGramsPairs(ln *lane, g *gramIndex, refs [][]patRef, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) ([]int32, uint32) {
	bits, shift, pairs := g.bits, g.shift, g.pairBits
	w := gramAt(v, from) << 8
	acc := w
	for i := from; i+4 <= to; i++ {
		w = w>>8 | uint32(foldByte[v[i+3]])<<24
		acc |= w
		if pr := w & 0xffff; pairs[pr>>6]&(1<<(pr&63)) != 0 {
			cands = sc.shortAt(ln, g, refs, v, i, to, pr, cands, cstamp, cgen)
		}
		h := gramHash(w, shift)
		if bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		cands = sc.gramHit(ln, g, refs, v, i, from, to, w, cands, cstamp, cgen)
	}
	return cands, (acc | acc>>8 | acc>>16 | acc>>24) & 0xff
}

// gramHit verifies the patterns keyed by gram w, found at position i.
func (sc *scratch) gramHit(ln *lane, g *gramIndex, refs [][]patRef, v string, i, from, to int, w uint32, cands []int32, cstamp []uint32, cgen uint32) []int32 {
	for _, gp := range g.lookup(w) {
		start := i - int(gp.off)
		end := start + len(gp.pat)
		if start < from || end > to || !equalFoldLower(v[start:end], gp.pat) {
			continue
		}
		cands = sc.hit(ln, refs[gp.pid], int32(end), len(v), cstamp, cgen, cands)
	}
	return cands
}

// shortAt reports the ASCII patterns under four bytes that occur at
// position i (ending at or before to), given the folded byte pair there
// (just the byte when i is the last position).
func (sc *scratch) shortAt(ln *lane, g *gramIndex, refs [][]patRef, v string, i, to int, pr uint32, cands []int32, cstamp []uint32, cgen uint32) []int32 {
	if id := g.one[pr&0xff]; id != 0 {
		cands = sc.hit(ln, refs[id-1], int32(i+1), len(v), cstamp, cgen, cands)
	}
	if i+2 > to {
		return cands
	}
	for _, sp := range probeSlots(g.pairSlots, g.pairSlotShift, g.pairPats, pr) {
		end := i + len(sp.pat)
		if end > to || (len(sp.pat) == 3 && foldByte[v[i+2]] != sp.pat[2]) {
			continue
		}
		cands = sc.hit(ln, refs[sp.pid], int32(end), len(v), cstamp, cgen, cands)
	}
	return cands
}

// equalFoldLower compares s with a lower-case pattern, folding ASCII case.
func equalFoldLower(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		if foldByte[s[i]] != lower[i] {
			return false
		}
	}
	return true
}
