package sigma

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"
)

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
	// slots is an open-addressing table (linear probing, at most 5/8
	// full) with one slot per keying gram and pattern it keys: on a set
	// bit the scan probes it from the gram's home slot to the next empty
	// one. A slot holds the pattern's bytes and id, so verifying a hit
	// reads one or two cache lines, not a slot, a pattern record and the
	// pattern's string (three cache misses per hit at 3,000 rules in a
	// profile of the previous layout).
	slots     []gramSlot
	slotShift uint32     // 32 - log2(len(slots))
	short     *acMatcher // patterns under four bytes; nil when none
	sids      []int32    // short automaton's pattern i is pattern sids[i]
	// Instead of the short automaton, a few short patterns may be found
	// directly (see shortDirect): at a value's two ends (ends: an
	// anchored set, whose occurrences all start at 0 or end at the
	// value's end), or by searching their first byte (seek).
	direct []shortPat
	ends   bool
}

// shortPat is a pattern under four bytes found without the automaton.
type shortPat struct {
	pat string
	pid int32
}

// shortDirect switches finding a few short patterns without an automaton
// (a variable only so benchmarks can compare).
var shortDirect = true

// maxShortDirect is the most short patterns found directly: each costs a
// comparison at both ends, or a byte search, per value.
const maxShortDirect = 4

// gramSlot is one pattern keyed by one gram (24 bytes).
type gramSlot struct {
	gram uint32
	pid  int32
	n    uint8               // pattern length; 0: empty slot
	off  uint8               // where the keying gram starts in the pattern
	pat  [maxPatternLen]byte // lower-case, pat[:n]
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

// gramStrides switches strided scans of long-pattern sets (a variable only
// so benchmarks can compare with and without).
var gramStrides = true

// gramStrideMin is the stride from which a set gets a gram index whatever
// its automaton's size (a variable only so benchmarks can compare).
var gramStrideMin = defaultGramStrideMin

const defaultGramStrideMin = 4

// commonText is text nearly every Windows path or command line holds. A
// pattern keyed by one of its grams is verified at every occurrence of the
// gram, so grams of this text key a pattern only when all of its grams
// are such: at 3,000 SigmaHQ rules, grams like `\app`, `\sys`, "prog" and
// `:\us` keyed patterns that a mixed event's values made the scan verify
// 6.7 times per event, 3.7 of them in vain (5.4 and 2.5 with these grams
// avoided; most of the rest are patterns all of whose grams are common,
// such as `\system32\`).
var commonText = []string{
	`c:\windows\system32\`, `c:\windows\syswow64\`, `c:\program files (x86)\`, `c:\programdata\`,
	`c:\users\`, `\appdata\local\temp\`, `\appdata\roaming\microsoft\windows\`,
	`.exe" `, `.dll`, `powershell.exe`, `cmd.exe /c `, `windowspowershell\v1.0\`,
}

var commonGrams = func() map[uint32]bool {
	m := map[uint32]bool{}
	for _, t := range commonText {
		for i := 0; i+4 <= len(t); i++ {
			m[gramAt(t, i)] = true
		}
	}
	return m
}()

// gramAvoidCommon switches the preference for keying grams outside
// commonText (a variable only so benchmarks can compare).
var gramAvoidCommon = true

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
	return indexPatternsFor(pats, false)
}

// indexPatternsFor is indexPatterns for a set whose occurrences matter
// only at a value's start or end (anchored: prefix, suffix and exact
// literals) or anywhere.
func indexPatternsFor(pats []string, anchored bool) (*acMatcher, *gramIndex) {
	// With every pattern at least 3+s bytes long (s > 1), a scan need
	// only look at every s-th position: an occurrence covers s
	// consecutive gram positions, one of which the scan visits, so each
	// pattern is keyed by the s grams starting at offsets k..k+s-1.
	// Hashes (literals of 12 bytes, values of ~190 unique bytes) are
	// scanned at every 8th position.
	minLen, maxLen := maxPatternLen, 0
	for _, p := range pats {
		minLen, maxLen = min(minLen, len(p)), max(maxLen, len(p))
	}
	if maxLen > maxPatternLen {
		// Gram slots hold patterns of up to maxPatternLen bytes, all
		// buildLane makes (see indexedPattern).
		return buildAC(pats), nil
	}
	stride := min(max(minLen-3, 1), gramMaxStride)
	if !gramStrides {
		stride = 1
	}
	// A small automaton is kept unless the set can be scanned at a
	// stride of gramStrideMin or more: an automaton reads every byte
	// through a chain of dependent table loads, and out of L1 (where
	// other fields' tables and the events push it) each costs a cache
	// miss, 2 µs for Hashes' 179 bytes at 3,000 rules; a strided scan
	// probes a few independent bits.
	if stride < gramStrideMin {
		if ac := buildAC(pats); len(ac.next)*4 <= gramIndexThreshold {
			return ac, nil
		}
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
	type keyed struct {
		gram uint32
		off  uint8
		pid  int32
	}
	var entries []keyed
	freq := map[uint32]int{}
	for _, p := range pats {
		for i := 0; i+4 <= len(p); i++ {
			freq[gramAt(p, i)]++
		}
	}
	var short []string
	for pid, p := range pats {
		if len(p) < 4 {
			short = append(short, p)
			g.sids = append(g.sids, int32(pid))
			continue
		}
		// The run of stride grams shared by the fewest other patterns
		// (with stride 1, the rarest gram).
		best, bestCost := 0, -1
		for k := 0; k+stride-1+4 <= len(p); k++ {
			cost := 0
			for o := k; o < k+stride; o++ {
				cost += freq[gramAt(p, o)]
				if gramAvoidCommon && commonGrams[gramAt(p, o)] {
					cost += len(pats)
				}
			}
			if bestCost < 0 || cost < bestCost {
				best, bestCost = k, cost
			}
		}
		for o := best; o < best+stride; o++ {
			k := gramAt(p, o)
			entries = append(entries, keyed{gram: k, off: uint8(o), pid: int32(pid)})
			h := gramHash(k, g.shift)
			g.bits[h>>6] |= 1 << (h & 63)
		}
	}
	if len(short) > 0 {
		g.setShort(short, anchored)
	}
	slotsLog := 4
	for 5<<slotsLog < 8*len(entries) {
		slotsLog++
	}
	g.slots, g.slotShift = make([]gramSlot, 1<<slotsLog), uint32(32-slotsLog)
	// Deterministic layout, a gram's patterns in pattern order.
	slices.SortFunc(entries, func(a, b keyed) int {
		if a.gram != b.gram {
			return cmp.Compare(a.gram, b.gram)
		}
		return cmp.Compare(a.pid, b.pid)
	})
	mask := uint32(len(g.slots) - 1)
	for _, en := range entries {
		i := gramHash(en.gram, g.slotShift)
		for g.slots[i].n != 0 {
			i = (i + 1) & mask
		}
		sl := gramSlot{gram: en.gram, pid: en.pid, n: uint8(len(pats[en.pid])), off: en.off}
		copy(sl.pat[:], pats[en.pid])
		g.slots[i] = sl
	}
	return nil, g
}

// scanGrams reports, through hit, every occurrence of an indexed pattern
// that starts at or after from and ends at or before to (positions in v),
// with the pattern id and the end position.
func (sc *scratch) scanGrams(ln *lane, g *gramIndex, refs patRefs, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	if g.short != nil {
		cands = sc.scanRangeIDs(ln, g.short, g.sids, refs, v, from, to, cstamp, cgen, cands)
	} else if g.direct != nil {
		cands = sc.scanShort(ln, g, refs, v, from, to, cstamp, cgen, cands)
	}
	if to-from < 4 {
		return cands
	}
	if g.stride > 1 {
		// Every pattern is at least stride+3 bytes long (and there
		// are no short ones): look at every stride-th position only.
		for i := from; i+4 <= to; i += g.stride {
			w := gramAt(v, i)
			h := gramHash(w, g.shift)
			if g.bits[h>>6]&(1<<(h&63)) != 0 {
				cands = sc.gramHit(ln, g, refs, v, i, from, to, w, cands, cstamp, cgen)
			}
		}
		return cands
	}
	bits, shift := g.bits, g.shift
	w := gramAt(v, from) << 8 // primed so the loop shifts the first gram in
	for i := from; i+4 <= to; i++ {
		w = w>>8 | uint32(foldByte[v[i+3]])<<24
		h := gramHash(w, shift)
		if bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		cands = sc.gramHit(ln, g, refs, v, i, from, to, w, cands, cstamp, cgen)
	}
	return cands
}

// gramHit verifies the patterns keyed by gram w, found at position i.
func (sc *scratch) gramHit(ln *lane, g *gramIndex, refs patRefs, v string, i, from, to int, w uint32, cands []int32, cstamp []uint32, cgen uint32) []int32 {
	mask := uint32(len(g.slots) - 1)
	for k := gramHash(w, g.slotShift); ; k = (k + 1) & mask {
		sl := &g.slots[k]
		if sl.n == 0 {
			return cands
		}
		if sl.gram != w {
			continue
		}
		start := i - int(sl.off)
		end := start + int(sl.n)
		if start < from || end > to || !equalFoldLower(v[start:end], unsafe.String(&sl.pat[0], int(sl.n))) {
			continue
		}
		cands = sc.hit(ln, refs.of(sl.pid), int32(end), v, cstamp, cgen, cands)
	}
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

// setShort indexes the patterns under four bytes (pattern i is pattern
// g.sids[i] of the set). An automaton reads every byte of the window
// through dependent table loads, for what are usually one or two
// patterns: at 3,000 SigmaHQ rules the anchored sets of Image, ParentImage
// and CommandLine each hold one short veto or witness literal (`-` as an
// exact value, `~1\`), and their automata read the 40 to 60 bytes of both
// windows of every value. A few short patterns are found directly instead:
// in an anchored set only the value's first and last bytes can hold an
// occurrence that counts; elsewhere, when no pattern starts with a letter,
// a byte search (vectorized) for each first byte finds the candidates.
func (g *gramIndex) setShort(short []string, anchored bool) {
	direct := shortDirect && len(short) <= maxShortDirect
	if direct && !anchored {
		for _, p := range short {
			if c := p[0]; c >= 'a' && c <= 'z' {
				direct = false // both cases would need a search
			}
		}
	}
	if !direct {
		g.short = buildAC(short)
		return
	}
	for i, p := range short {
		g.direct = append(g.direct, shortPat{pat: p, pid: g.sids[i]})
	}
	g.ends = anchored
}

// scanShort reports the occurrences of the directly found short patterns
// in v[from:to]: all of them, or (g.ends) those that start at 0 or end at
// len(v), the only ones an anchored set's literals can have.
func (sc *scratch) scanShort(ln *lane, g *gramIndex, refs patRefs, v string, from, to int, cstamp []uint32, cgen uint32, cands []int32) []int32 {
	for _, sp := range g.direct {
		n := len(sp.pat)
		if g.ends {
			if from == 0 && n <= to && equalFoldLower(v[:n], sp.pat) {
				cands = sc.hit(ln, refs.of(sp.pid), int32(n), v, cstamp, cgen, cands)
			}
			// An occurrence at both ends (v is the pattern) is
			// reported once, above.
			if s := len(v) - n; to == len(v) && s >= from && s > 0 && equalFoldLower(v[s:], sp.pat) {
				cands = sc.hit(ln, refs.of(sp.pid), int32(len(v)), v, cstamp, cgen, cands)
			}
			continue
		}
		c := sp.pat[0]
		for i := from; i+n <= to; {
			j := strings.IndexByte(v[i:to-n+1], c)
			if j < 0 {
				break
			}
			i += j
			if equalFoldLower(v[i:i+n], sp.pat) {
				cands = sc.hit(ln, refs.of(sp.pid), int32(i+n), v, cstamp, cgen, cands)
			}
			i++
		}
	}
	return cands
}
