package mcpsec

// ahoCorasick finds which of a fixed set of literals occur in a text in one
// pass. The analyzer uses it to learn, per text, which regexp branches can
// possibly match (see matcher.go) without one substring search per literal.
type ahoCorasick struct {
	class  [256]uint8 // byte → alphabet class; 0 is "no literal uses this byte"
	nclass int
	next   []int32 // state*nclass + class → state
	out    [][]int32
	n      int // number of literals
}

func newAhoCorasick(lits []string) *ahoCorasick {
	ac := &ahoCorasick{n: len(lits)}
	nc := 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			if ac.class[l[i]] == 0 {
				ac.class[l[i]] = uint8(nc)
				nc++
			}
		}
	}
	if nc > 255 {
		panic("mcpsec: anchor alphabet too large")
	}
	ac.nclass = nc
	// Trie.
	goto_ := [][]int32{make([]int32, nc)}
	out := [][]int32{nil}
	for id, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := ac.class[l[i]]
			if goto_[s][c] == 0 {
				goto_ = append(goto_, make([]int32, nc))
				out = append(out, nil)
				goto_[s][c] = int32(len(goto_) - 1)
			}
			s = goto_[s][c]
		}
		out[s] = append(out[s], int32(id))
	}
	// Failure links, breadth first, folded into a full transition table.
	fail := make([]int32, len(goto_))
	queue := make([]int32, 0, len(goto_))
	for c := 1; c < nc; c++ {
		if s := goto_[0][c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for c := 1; c < nc; c++ {
			s := goto_[r][c]
			if s == 0 {
				goto_[r][c] = goto_[fail[r]][c]
				continue
			}
			queue = append(queue, s)
			fail[s] = goto_[fail[r]][c]
			out[s] = append(out[s], out[fail[s]]...)
		}
	}
	ac.next = make([]int32, len(goto_)*nc)
	for s, row := range goto_ {
		copy(ac.next[s*nc:], row)
	}
	ac.out = out
	return ac
}

// present marks in a bitset every literal that occurs in text and also
// returns their ids, each once.
func (ac *ahoCorasick) present(text string) (bitset, []int32) {
	b := make(bitset, (ac.n+63)/64)
	var ids []int32
	s := int32(0)
	nc := int32(ac.nclass)
	for i := 0; i < len(text); i++ {
		c := ac.class[text[i]]
		if c == 0 {
			s = 0
			continue
		}
		s = ac.next[s*nc+int32(c)]
		for _, id := range ac.out[s] {
			if b[id>>6]&(1<<(id&63)) == 0 {
				b[id>>6] |= 1 << (id & 63)
				ids = append(ids, id)
			}
		}
	}
	return b, ids
}

func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

func (b bitset) set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

type bitset []uint64

func (b bitset) any(ids []int32) bool {
	for _, id := range ids {
		if b[id>>6]&(1<<(id&63)) != 0 {
			return true
		}
	}
	return false
}
